"""Jones-calculus helpers of the simulated world against their closed forms."""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from qnetlab.sim_backends.world.polarization import BB84_STATES, PAULI, analyzer_probabilities, su2_from_vector


def test_su2_from_vector_is_the_exponential_of_the_pauli_generator():
    rng = np.random.default_rng(4)
    for vector in [np.zeros(3), np.array([np.pi, 0, 0]), *rng.normal(0, 2, size=(20, 3))]:
        expected = expm(-0.5j * np.tensordot(vector, PAULI, axes=1))
        assert np.allclose(su2_from_vector(vector), expected, atol=1e-12)


def test_analyzer_probabilities_stack_matches_single_states():
    rng = np.random.default_rng(5)
    states = rng.normal(size=(6, 2)) + 1j * rng.normal(size=(6, 2))
    stacked = analyzer_probabilities(states, 0.03)
    for i, state in enumerate(states):
        single = analyzer_probabilities(state, 0.03)
        for role in "HVDA":
            assert np.isclose(stacked[role][i], single[role])
    h = analyzer_probabilities(BB84_STATES[(0, 0)], 0.03)
    assert np.isclose(h["H"], 0.97) and np.isclose(h["V"], 0.03) and np.isclose(h["D"], 0.5)

"""Tomography of drawn Werner counts: figures of merit within their Monte Carlo errors of the closed forms."""

import numpy as np
import pytest

from qnetlab.analysis.entanglement import (
    PAULI_9,
    STANDARD_16,
    draw_counts,
    monte_carlo,
    tomography_data,
    werner_state,
)


@pytest.mark.parametrize(("v", "sets", "ports"), [(0.9, PAULI_9, 4), (0.7, STANDARD_16, 1)])
def test_werner_fidelity_and_concurrence_within_error(v, sets, ports):
    rng = np.random.default_rng(int(v * 1000) + ports)
    shape = (len(sets), 4) if ports == 4 else (len(sets),)
    eff = [[0.95, 0.8], [0.9, 1.05]]
    layout = tomography_data(sets, np.zeros(shape), detector_efficiency=eff, accidentals=np.full(shape, 3.0))
    data = draw_counts(werner_state(v), layout, 3000, rng)
    mc = monte_carlo(data, n_resamples=200, rng=rng)
    f, f_std = mc["fidelity"]
    c, c_std = mc["concurrence"]
    assert 0 < f_std < 0.05 and 0 < c_std < 0.1
    assert f == pytest.approx((1 + 3 * v) / 4, abs=3 * f_std)
    assert c == pytest.approx((3 * v - 1) / 2, abs=3 * c_std)
    assert mc["tangle"][0] == pytest.approx(c * c, abs=1e-9)
    assert mc["purity"][0] == pytest.approx((1 + 3 * v * v) / 4, abs=3 * mc["purity"][1] + 0.01)


def test_efficiency_correction_matters():
    """Ignoring unequal detector efficiencies biases the state; modelling them does not."""
    rng = np.random.default_rng(4)
    shape = (9, 4)
    eff = [[1.0, 0.6], [1.0, 0.6]]
    truth = tomography_data(PAULI_9, np.zeros(shape), detector_efficiency=eff)
    counts = draw_counts(werner_state(0.9), truth, 5000, rng).counts
    corrected = monte_carlo(truth.with_counts(counts), n_resamples=50, rng=rng)
    naive = monte_carlo(tomography_data(PAULI_9, counts.reshape(shape)), n_resamples=50, rng=rng)
    target = (1 + 3 * 0.9) / 4
    assert corrected["fidelity"][0] == pytest.approx(target, abs=3 * corrected["fidelity"][1])
    assert abs(naive["fidelity"][0] - target) > 5 * naive["fidelity"][1]


@pytest.mark.parametrize("v", [0.1, 0.25, 0.3])
def test_separable_werner_states_show_no_concurrence_beyond_error(v):
    rng = np.random.default_rng(int(v * 100))
    layout = tomography_data(PAULI_9, np.zeros((9, 4)))
    for _ in range(3):
        mc = monte_carlo(draw_counts(werner_state(v), layout, 1000, rng), n_resamples=100, rng=rng)
        c, c_std = mc["concurrence"]
        assert c <= 3 * c_std + 1e-12


def test_monte_carlo_rejects_too_few_resamples():
    layout = tomography_data(PAULI_9, np.full((9, 4), 10.0))
    with pytest.raises(ValueError, match="n_resamples = 1"):
        monte_carlo(layout, n_resamples=1)


def test_monte_carlo_error_matches_the_scatter_of_repeated_experiments():
    rng = np.random.default_rng(8)
    layout = tomography_data(STANDARD_16, np.zeros(16))
    estimates, errors = [], []
    for _ in range(20):
        mc = monte_carlo(draw_counts(werner_state(0.7), layout, 3000, rng), n_resamples=50, rng=rng)
        estimates.append(mc["fidelity"][0])
        errors.append(mc["fidelity"][1])
    # 20 experiments: the sample std is known to about ±16 %
    assert 0.6 < np.std(estimates, ddof=1) / np.mean(errors) < 1.6
    assert np.mean(estimates) == pytest.approx(0.775, abs=3 * np.mean(errors) / np.sqrt(20))

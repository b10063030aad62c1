"""Maximum-likelihood tomography: exact recovery, physicality, agreement with independent implementations."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnetlab.analysis.entanglement import (
    OVERCOMPLETE_36,
    PAULI_9,
    STANDARD_16,
    draw_counts,
    expected_counts,
    ket,
    linear_inversion,
    maximum_likelihood,
    tomography_data,
    trace_distance,
    werner_state,
)

LAYOUTS = {
    "standard 16": (STANDARD_16, 1),
    "overcomplete 36": (OVERCOMPLETE_36, 1),
    "9 bases x 4 outputs": (PAULI_9, 4),
}


def random_state(rng, rank=4):
    """A random two-qubit density matrix of the given rank (Ginibre)."""
    g = rng.normal(size=(4, rank)) + 1j * rng.normal(size=(4, rank))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def layout(name, **kwargs):
    sets, ports = LAYOUTS[name]
    shape = (len(sets), 4) if ports == 4 else (len(sets),)
    return tomography_data(sets, np.zeros(shape), **kwargs)


def with_exact_counts(rho, data, pairs):
    return data.with_counts(expected_counts(rho, data, pairs))


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("state", ["werner 1.0", "werner 0.9", "werner 0.2", "random rank 1", "random rank 3"])
def test_exact_expected_counts_return_the_true_state(name, state):
    rng = np.random.default_rng(abs(hash((name, state))) % 2**32)
    kind, arg = state.rsplit(" ", 1)
    rho = werner_state(float(arg)) if kind == "werner" else random_state(rng, int(arg))
    # unequal detector efficiencies, exposures and accidentals: the model must correct all three
    sets, ports = LAYOUTS[name]
    shape = (len(sets), 4) if ports == 4 else (len(sets),)
    data = layout(
        name,
        detector_efficiency=[[0.9, 0.7], [1.1, 0.8]],
        exposure=rng.uniform(0.5, 1.5, len(sets)),
        accidentals=rng.uniform(0, 20, shape),
    )
    result = maximum_likelihood(with_exact_counts(rho, data, 1e4))
    assert trace_distance(result.rho, rho) < 1e-6
    assert result.pairs == pytest.approx(1e4, rel=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rank=st.integers(1, 4),
    pairs=st.sampled_from([20, 300, 5000]),
    name=st.sampled_from(list(LAYOUTS)),
)
def test_the_estimate_is_always_a_density_matrix(seed, rank, pairs, name):
    rng = np.random.default_rng(seed)
    data = draw_counts(random_state(rng, rank), layout(name), pairs, rng)
    rho = maximum_likelihood(data).rho
    assert np.allclose(rho, rho.conj().T, atol=1e-14)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.eigvalsh(rho).min() > -1e-12


def test_mle_likelihood_is_not_worse_than_linear_inversion_and_errors_are_named():
    rng = np.random.default_rng(7)
    data = draw_counts(werner_state(0.95), layout("standard 16"), 500, rng)
    assert maximum_likelihood(data).neg_log_likelihood <= linear_inversion(data).neg_log_likelihood + 1e-9
    with pytest.raises(ValueError, match="not informationally complete"):
        linear_inversion(tomography_data(["HH", "HV", "VH", "VV"], np.ones(4)))
    with pytest.raises(ValueError, match="no pairs"):
        linear_inversion(tomography_data(STANDARD_16, np.zeros(16)))


def _r_rho_r(data, iterations=20000):
    """Plain RρR (Hradil 1997) for outcomes whose projectors sum to a multiple of I, equal efficiencies.

    Written independently of qnetlab's Newton code: the fixed point of ρ ← RρR/Tr, R = Σ (f_i/p_i) Π_i.
    """
    projectors = data.projectors
    total = projectors.sum(axis=0)
    scale = np.trace(total).real / 4
    assert np.allclose(total, scale * np.eye(4))
    freq = data.counts / data.counts.sum()
    rho = np.eye(4, dtype=complex) / 4
    for _ in range(iterations):
        p = np.einsum("mij,ji->m", projectors, rho).real / scale
        r = np.einsum("m,mij->ij", freq / np.maximum(p, 1e-300), projectors) / scale
        rho = r @ rho @ r
        rho /= np.trace(rho).real
    return rho


@pytest.mark.parametrize("v", [0.97, 0.6])
def test_agrees_with_an_independent_r_rho_r_on_identical_counts(v):
    rng = np.random.default_rng(11)
    data = draw_counts(werner_state(v), layout("9 bases x 4 outputs"), 3000, rng)
    ours = maximum_likelihood(data).rho
    assert trace_distance(ours, _r_rho_r(data)) < 1e-5
    assert trace_distance(ours, werner_state(v)) > 1e-3  # not the trivial answer: counts are noisy


def _reference_mle(data, sets):
    """The quantum-tomography package's MLE (James et al. 2001: Gaussian likelihood, leastsq)."""
    qt = pytest.importorskip("QuantumTomography")
    from QuantumTomography.TomoFunctions import make_positive

    tomo = qt.Tomography(2)
    meas = np.array([np.concatenate([ket(s[0]), ket(s[1])]) for s in sets])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tomo_input = tomo.buildTomoInput(meas, data.counts, -1, 0, -1, -1, 0, 0)
        tomo.intensities = np.ones(len(sets))
        tomo.last_input = tomo_input
        coinc, dens, pures, acc, norms = tomo.filter_data(tomo_input)
        start, _ = tomo.tomography_LINEAR(coinc, pures, norms)
        start = make_positive(start.T)  # as the package's own StateTomography_Matrix does
        # (its StateTomography passes accidentals of shape (n, 1), which numpy >= 2 rejects)
        rho, _, _ = tomo.tomography_MLE(start / np.trace(start), coinc, dens, acc.ravel(), norms)
    return rho


@pytest.mark.parametrize("name", ["standard 16", "overcomplete 36"])
def test_agrees_with_the_reference_package_on_identical_counts(name):
    rng = np.random.default_rng(3)
    rho_true = random_state(rng, 4)
    sets, _ = LAYOUTS[name]
    data = draw_counts(rho_true, layout(name), 1e4, rng)
    ours = maximum_likelihood(data).rho
    ref = _reference_mle(data, sets)
    if name == "standard 16":
        # 16 outcomes, 16 parameters: both fit the counts exactly (an interior state)
        assert trace_distance(ours, ref) < 1e-7
    else:
        # overdetermined: Poisson and Gaussian likelihoods differ by O(1/N) in the estimate
        assert trace_distance(ours, ref) < 2e-3
    assert trace_distance(ours, rho_true) < 0.05


def test_settings_given_as_waveplate_kets_match_the_labelled_settings():
    from qnetlab.analysis.entanglement import analyzer_ket, analyzer_settings

    kets = np.array([[analyzer_ket(*analyzer_settings(s[0])), analyzer_ket(*analyzer_settings(s[1]))] for s in PAULI_9])
    by_kets = tomography_data(kets, np.zeros((9, 4)))
    by_labels = layout("9 bases x 4 outputs")
    assert np.allclose(by_kets.projectors, by_labels.projectors, atol=1e-12)
    assert by_kets.labels[1] == "#0:01" and by_labels.labels[1] == "HV"
    rng = np.random.default_rng(1)
    counts = draw_counts(werner_state(0.8), by_labels, 2000, rng).counts
    a = maximum_likelihood(by_kets.with_counts(counts)).rho
    b = maximum_likelihood(by_labels.with_counts(counts)).rho
    assert trace_distance(a, b) < 1e-9

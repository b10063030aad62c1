"""CHSH and fringe visibility against the closed forms of Werner states, with their error bars."""

import numpy as np
import pytest

from qnetlab.analysis.entanglement import CHSH_ANGLES_DEG, chsh, fit_fringe, werner_state

PAIRS = [("a", "b"), ("a", "b'"), ("a'", "b"), ("a'", "b'")]


def linear_ket(angle_deg):
    a = np.radians(angle_deg)
    return np.array([np.cos(a), np.sin(a)], dtype=complex)


def chsh_probabilities(rho):
    """(4, 4) outcome probabilities at the CHSH angles: rows (ab, ab', a'b, a'b'), columns ++, +−, −+, −−."""
    out = np.empty((4, 4))
    for i, (x, y) in enumerate(PAIRS):
        alpha, beta = CHSH_ANGLES_DEG[x], CHSH_ANGLES_DEG[y]
        for j, (da, db) in enumerate(((0, 0), (0, 90), (90, 0), (90, 90))):
            psi = np.kron(linear_ket(alpha + da), linear_ket(beta + db))
            out[i, j] = (psi.conj() @ rho @ psi).real
    return out


def test_exact_werner_counts_give_two_root_two_v():
    for v in (1.0, 0.8, 0.3):
        r = chsh(1e6 * chsh_probabilities(werner_state(v)))
        assert r.s == pytest.approx(2 * np.sqrt(2) * v, abs=1e-9)
        # raw-count variance of each E is (1 − E²)/N
        assert r.correlation_std == pytest.approx(np.sqrt((1 - r.correlations**2) / 1e6), rel=1e-9)


@pytest.mark.parametrize("v", [0.95, 0.75])
def test_drawn_counts_scatter_about_two_root_two_v_as_their_error_says(v):
    rng = np.random.default_rng(int(v * 100))
    mean_counts = 2000 * chsh_probabilities(werner_state(v))
    pulls = []
    for _ in range(200):
        r = chsh(rng.poisson(mean_counts))
        pulls.append((r.s - 2 * np.sqrt(2) * v) / r.s_std)
    pulls = np.array(pulls)
    # a wrong σ (e.g. without the (1 − E²) factor) would make this spread far from 1
    assert abs(pulls.mean()) < 0.25
    assert 0.8 < pulls.std() < 1.2
    assert np.mean(np.abs(pulls) < 3) > 0.98


def test_accidentals_lower_raw_s_and_their_subtraction_recovers_it():
    rng = np.random.default_rng(5)
    v, acc = 0.9, 150.0
    mean_counts = 2000 * chsh_probabilities(werner_state(v)) + acc
    s_raw, s_sub, pull = [], [], []
    for _ in range(100):
        n = rng.poisson(mean_counts)
        raw = chsh(n)
        sub = chsh(n, accidentals=np.full((4, 4), acc))
        s_raw.append(raw.s)
        s_sub.append(sub.s)
        pull.append((sub.s - 2 * np.sqrt(2) * v) / sub.s_std)
        assert sub.s_std > raw.s_std  # subtraction amplifies the raw counts' noise
    # raw: each E is scaled by 2000 / (2000 + 4 · 150)
    assert np.mean(s_raw) == pytest.approx(2 * np.sqrt(2) * v * 2000 / 2600, abs=0.01)
    assert abs(np.mean(pull)) < 0.4 and 0.75 < np.std(pull) < 1.25


@pytest.mark.parametrize("v", [0.0, 0.2, 1 / 3 - 0.01])
def test_a_separable_werner_state_never_exceeds_two_beyond_its_error(v):
    rng = np.random.default_rng(99)
    mean_counts = 500 * chsh_probabilities(werner_state(v))
    for _ in range(50):
        r = chsh(rng.poisson(mean_counts))
        assert r.s - 3 * r.s_std < 2
        assert r.sigmas_above_2 < 0


def test_chsh_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"expected shape \(4, 4\)"):
        chsh(np.ones((3, 4)))
    with pytest.raises(ValueError, match="setting pair 2 has no coincidences"):
        chsh(np.where(np.arange(16).reshape(4, 4) // 4 == 2, 1.0, 10.0), accidentals=np.full((4, 4), 1.0))


def fringe_counts(rng, v, mean, acc, phase_deg=12.0, step_deg=10.0):
    theta = np.arange(0, 360, step_deg)
    mu = mean * (1 + v * np.cos(np.radians(2 * (theta - phase_deg)))) + acc
    return theta, rng.poisson(mu)


def test_fringe_fit_recovers_visibility_and_its_error_is_honest():
    rng = np.random.default_rng(21)
    v, mean, acc = 0.93, 400.0, 30.0
    pulls_sub, raw_v = [], []
    for _ in range(80):
        theta, n = fringe_counts(rng, v, mean, acc)
        sub = fit_fringe(theta, n, accidentals=acc)
        raw = fit_fringe(theta, n)
        pulls_sub.append((sub.visibility - v) / sub.visibility_std)
        raw_v.append(raw.visibility)
        assert sub.phase_deg == pytest.approx(12.0, abs=5 * sub.phase_std_deg)
    assert abs(np.mean(pulls_sub)) < 0.35 and 0.75 < np.std(pulls_sub) < 1.25
    assert np.mean(raw_v) == pytest.approx(v * mean / (mean + acc), abs=0.005)


def test_fringe_of_a_half_wave_plate_sweep_and_low_counts():
    rng = np.random.default_rng(2)
    theta = np.arange(0, 180, 7.5)
    mu = 8 * (1 + 0.9 * np.cos(np.radians(4 * (theta - 5))))  # HWP: period 90°, zero-count minima
    fit = fit_fringe(theta, rng.poisson(mu), period_deg=90.0)
    assert fit.visibility == pytest.approx(0.9, abs=3 * fit.visibility_std)
    assert fit.visibility_std < 0.1
    with pytest.raises(ValueError, match=">= 4 distinct angles"):
        fit_fringe([0, 180, 360], [1, 2, 3])

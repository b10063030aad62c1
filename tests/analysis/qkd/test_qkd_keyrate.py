import math

import numpy as np
import pytest

from qnetlab.analysis.qkd.decoy import (
    Intensities,
    e1_upper_ma2005,
    single_photon_events_lower,
    vacuum_events_lower,
    y1_lower_ma2005,
)
from qnetlab.analysis.qkd.keyrate import (
    GYS,
    LIM2014,
    asymptotic_rate,
    finite_key_length,
    lim2014_optimized_rate,
    ma2005_gain_error,
    max_distance_km,
    optimal_mu,
    repeaterless_bound,
)


def test_ma2005_gys_optimal_mu_and_maximal_distance():
    """Ma et al. 2005 with the GYS parameters: mu_opt about 0.48, L_max about 140 km."""
    assert optimal_mu(GYS, 50.0) == pytest.approx(0.48, abs=0.01)
    assert optimal_mu(GYS, 120.0) == pytest.approx(0.47, abs=0.02)
    assert 138.0 < max_distance_km(GYS) < 144.0
    # a practical weak decoy nu = 0.05 with vacuum comes within a few km
    assert max_distance_km(GYS) - 5.0 < max_distance_km(GYS, nu=0.05) < max_distance_km(GYS)


def test_rate_below_repeaterless_bound_at_every_distance():
    for d in np.arange(0.0, 145.0, 5.0):
        eta = GYS.eta_bob * 10 ** (-GYS.alpha_db_km * d / 10)
        r = asymptotic_rate(GYS, d, optimal_mu(GYS, d))
        assert r < repeaterless_bound(eta)
        assert asymptotic_rate(GYS, d, 0.48, nu=0.1) <= r + 1e-15


def test_ma2005_bounds_hold_on_the_model():
    mu, nu, d = 0.48, 0.1, 60.0
    eta = GYS.eta_bob * 10 ** (-GYS.alpha_db_km * d / 10)
    q_mu, _ = ma2005_gain_error(GYS, d, mu)
    q_nu, e_nu = ma2005_gain_error(GYS, d, nu)
    y1 = GYS.y0 + eta - GYS.y0 * eta
    e1 = (0.5 * GYS.y0 + GYS.e_detector * eta) / y1
    y1_l = y1_lower_ma2005(mu, nu, float(q_mu), float(q_nu), GYS.y0)
    assert 0.9 * y1 < y1_l <= y1
    assert e1 <= e1_upper_ma2005(nu, float(q_nu), float(e_nu), GYS.y0, y1_l) < 1.2 * e1


def test_lim2014_bounds_hold_for_expected_counts():
    it = Intensities((0.5, 0.1, 2e-4), (0.6, 0.3, 0.1))
    y0, eta = 1e-6, 1e-2
    n_pulses = 1e10
    mu = np.array(it.mu)
    p = np.array(it.p)
    counts = n_pulses * p * (1 - (1 - y0) * np.exp(-eta * mu))
    true_s0 = n_pulses * sum(p * np.exp(-mu)) * y0
    true_s1 = n_pulses * sum(p * mu * np.exp(-mu)) * (y0 + eta)
    s0 = vacuum_events_lower(counts, it, 1e-10)
    s1 = single_photon_events_lower(counts, it, 1e-10)
    assert 0 <= s0 <= true_s0 and 0.8 * true_s1 < s1 <= true_s1


def test_finite_key_grows_toward_asymptotic_and_vanishes_for_small_blocks():
    rates = {nx: lim2014_optimized_rate(LIM2014, nx, 50.0)[0] for nx in (1e3, 1e4, 1e5, 1e7, 1e9, math.inf)}
    # Lim et al. Fig. 1 starts at n_X = 1e4 (keys up to 135 km there); below it, none
    assert rates[1e3] == 0.0
    assert 0 < rates[1e4] < rates[1e5] < rates[1e7] < rates[1e9] < rates[math.inf]
    assert rates[1e9] > 0.5 * rates[math.inf]
    assert lim2014_optimized_rate(LIM2014, 1e4, 110.0)[0] > 0  # a 1e4 block still gives a key past 100 km
    assert lim2014_optimized_rate(LIM2014, 1e4, 160.0)[0] == 0  # but not at the 1e9 block's reach


def test_finite_key_length_reports_reason():
    it = Intensities((0.5, 0.1, 2e-4), (0.6, 0.3, 0.1))
    fk = finite_key_length([600, 200, 10], [300, 100, 5], [3, 1, 1], it, lambda_ec=100)
    assert fk.length == 0 and fk.reason


# ---- Ma, Qi, Zhao and Lo, PRA 72, 012326 (2005): an independent implementation from the paper's equations


def _h2(x):
    x = np.clip(x, 1e-300, 1 - 1e-16)
    return -x * np.log2(x) - (1 - x) * np.log2(1 - x)


def _ma2005_rate_on_grid(d_km, mu, nu=None, alpha=0.21, eta_bob=0.045, e_det=0.033, y0=1.7e-6, f=1.22):
    """Eq. (1) with Eqs. (10), (11) (fibre model) and, for a weak decoy, Eqs. (34), (37); unfloored."""
    eta = eta_bob * 10 ** (-alpha * d_km / 10)
    q_mu = y0 + 1 - np.exp(-eta * mu)  # Eq. (10)
    e_mu = (0.5 * y0 + e_det * (1 - np.exp(-eta * mu))) / q_mu  # Eq. (11)
    if nu is None:  # infinitely many decoys: Y1 and e1 exact, Eqs. (5) and (7)
        y1 = y0 + eta - y0 * eta
        e1 = (0.5 * y0 + e_det * eta) / y1
    else:
        q_nu = y0 + 1 - np.exp(-eta * nu)
        e_nu = (0.5 * y0 + e_det * (1 - np.exp(-eta * nu))) / q_nu
        y1 = np.maximum(
            mu
            / (mu * nu - nu**2)
            * (q_nu * np.exp(nu) - q_mu * np.exp(mu) * nu**2 / mu**2 - (mu**2 - nu**2) / mu**2 * y0),
            0,
        )  # Eq. (34)
        e1 = np.where(
            y1 > 0, np.clip((e_nu * q_nu * np.exp(nu) - 0.5 * y0) / (np.maximum(y1, 1e-300) * nu), 0, 0.5), 0.5
        )
    q1 = y1 * mu * np.exp(-mu)
    return 0.5 * (-q_mu * f * _h2(e_mu) + q1 * (1 - _h2(e1)))


_MU_GRID = np.geomspace(1e-3, 1.5, 40_001)


@pytest.mark.parametrize("nu", [None, 0.05])
def test_optimal_mu_finds_the_positive_optimum_at_many_distances(nu):
    """At 40 distances up to and past the cutoff the library's rate matches a 40001-point mu grid."""
    grid = _MU_GRID[_MU_GRID > 1.01 * (nu or 0) + 1e-3]
    for d in np.concatenate([np.linspace(0, 130, 27), np.linspace(136, 143, 13)]):
        best = float(_ma2005_rate_on_grid(d, grid, nu).max())
        got = asymptotic_rate(GYS, d, optimal_mu(GYS, d, nu), nu)
        if best > 0:
            assert got >= best * (1 - 1e-6), (d, got, best)
            assert got <= best * (1 + 1e-3) + 1e-300, (d, got, best)  # the grid misses at most a sliver
        else:
            assert got == 0.0


@pytest.mark.parametrize("nu", [None, 0.05])
def test_max_distance_matches_the_closed_form(nu):
    """Bisection on the grid maximum of the independent implementation, to 0.005 km."""
    grid = _MU_GRID[_MU_GRID > 1.01 * (nu or 0) + 1e-3][::4]
    lo, hi = 100.0, 200.0
    while hi - lo > 0.005:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _ma2005_rate_on_grid(mid, grid, nu).max() > 0 else (lo, mid)
    assert max_distance_km(GYS, nu) == pytest.approx(lo, abs=0.02)

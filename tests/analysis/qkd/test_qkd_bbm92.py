"""BBM92 key rates (Ma, Fung and Lo 2007; Tomamichel et al. 2012) against independent implementations."""

import dataclasses
import math

import numpy as np
import pytest

from qnetlab.analysis.qkd.bbm92 import (
    SystemBBM92,
    bbm92_asymptotic_rate,
    bbm92_expected_finite_rate,
    bbm92_finite_key,
    bbm92_finite_key_length,
    bbm92_gain_error,
    bbm92_optimal_lambda,
    mfl_rate,
)

SYS = SystemBBM92()
DISTANCES = np.linspace(0.0, 300.0, 31)


def _h(x):
    return 0.0 if x <= 0 or x >= 1 else -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def _reference_gain_error(d, lam, s=SYS):
    """Written from the paper's model: photon-number sum for Q, closed form for E Q."""
    la = s.source_fraction * d
    ea = s.eta_det_a * 10 ** (-s.alpha_db_km * la / 10)
    eb = s.eta_det_b * 10 ** (-s.alpha_db_km * (d - la) / 10)
    n = np.arange(0, 4000)
    log_p = np.log(n + 1) + n * math.log(lam) - (n + 2) * math.log1p(lam)
    y_n = (1 - (1 - s.y0_a) * (1 - ea) ** n) * (1 - (1 - s.y0_b) * (1 - eb) ** n)
    q = float(np.sum(np.exp(log_p) * y_n))
    c = 1 + ea * lam + eb * lam - ea * eb * lam
    eq = 0.5 * q - 2 * (0.5 - s.e_detector) * ea * eb * lam * (1 + lam) / ((1 + ea * lam) * (1 + eb * lam) * c)
    return q, eq / q


def _reference_rate(d, lam, s=SYS, q_basis=0.5):
    q, e = _reference_gain_error(d, lam, s)
    return max(0.0, q_basis * q * (1 - s.f_ec * _h(e) - _h(e)))


@pytest.mark.parametrize("lam", [1e-3, 0.02, 0.3])
def test_gain_and_qber_match_photon_number_sum_at_many_distances(lam):
    for d in DISTANCES:
        q, e = bbm92_gain_error(SYS, d, lam)
        q_ref, e_ref = _reference_gain_error(d, lam)
        assert q == pytest.approx(q_ref, rel=1e-10)
        assert e == pytest.approx(e_ref, rel=1e-10)
        assert 0 < e <= 0.5


def test_asymptotic_rate_matches_reference_at_many_distances():
    for d in DISTANCES:
        lam = bbm92_optimal_lambda(SYS, d)
        assert bbm92_asymptotic_rate(SYS, d, lam) == pytest.approx(_reference_rate(d, lam), rel=1e-6, abs=1e-300)
        # and the optimum beats a fine grid of the reference
        grid_best = max(_reference_rate(d, float(x)) for x in np.geomspace(1e-5, 1, 400))
        assert bbm92_asymptotic_rate(SYS, d, lam) >= grid_best * (1 - 1e-6)


def test_limits_of_the_model():
    ideal = dataclasses.replace(SYS, y0_a=0.0, y0_b=0.0)
    _, e = bbm92_gain_error(ideal, 50.0, 1e-9)
    assert e == pytest.approx(SYS.e_detector, rel=1e-5)  # one pair, no background: the intrinsic error
    _, e_bright = bbm92_gain_error(ideal, 50.0, 0.5)
    assert e_bright > 0.05  # multi-pair emission raises the QBER
    q, e_dark = bbm92_gain_error(SYS, 1000.0, 0.01)
    assert e_dark == pytest.approx(0.5, abs=1e-3) and q == pytest.approx(SYS.y0_a * SYS.y0_b, rel=0.05)
    with pytest.raises(ValueError, match="lam=0"):
        bbm92_gain_error(SYS, 10.0, 0.0)


def _reach(s):
    lo, hi = 0.0, 600.0
    while hi - lo > 0.5:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if bbm92_asymptotic_rate(s, mid, bbm92_optimal_lambda(s, mid)) > 0 else (lo, mid)
    return lo


def test_source_in_the_middle_reaches_further_than_source_at_alice():
    """Ma, Fung and Lo's conclusion: splitting the loss between the arms tolerates more total loss."""
    middle, at_alice = _reach(SYS), _reach(dataclasses.replace(SYS, source_fraction=0.0))
    assert middle > at_alice + 20.0


def _reference_tlgr(n, k, e, leak, eps_sec, eps_cor):
    mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / eps_sec))
    return n * (1 - (1.0 if e + mu >= 0.5 else _h(e + mu))) - leak - math.log2(2 / (eps_sec**2 * eps_cor))


def test_finite_key_length_matches_reference():
    for n, k, e in [(1e4, 1e4, 0.02), (1e6, 2e5, 0.04), (1e9, 1e8, 0.011), (5e3, 100, 0.3)]:
        leak = 1.1 * n * _h(e)
        assert bbm92_finite_key_length(n, k, e, leak) == pytest.approx(
            _reference_tlgr(n, k, e, leak, 1e-10, 1e-15), rel=1e-12
        )


@pytest.mark.parametrize("n_key", [1e5, 1e7, 1e9])
def test_finite_key_never_above_asymptotic_and_approaches_it(n_key):
    for d in DISTANCES:
        lam = bbm92_optimal_lambda(SYS, d)
        for q_x in (0.5, 0.9):
            fin = bbm92_expected_finite_rate(SYS, d, lam, n_key, q_x)
            assert fin <= bbm92_asymptotic_rate(SYS, d, lam, q_basis=q_x**2)
    d, lam = 50.0, bbm92_optimal_lambda(SYS, 50.0)
    asym = bbm92_asymptotic_rate(SYS, d, lam, q_basis=0.81)
    assert bbm92_expected_finite_rate(SYS, d, lam, 1e5, 0.9) < bbm92_expected_finite_rate(SYS, d, lam, 1e9, 0.9)
    assert bbm92_expected_finite_rate(SYS, d, lam, 1e12, 0.9) > 0.9 * asym


def _click_model(d, lam, s):
    """Independent of the printed E formula: two two-mode squeezed vacua (H_A H_B and V_A V_B), each with
    a thermal photon number, photons lost independently, threshold detectors, double clicks a random bit,
    Bob's bit flipped with probability e_d; no background (Y0 = 0)."""
    la = s.source_fraction * d
    ea = s.eta_det_a * 10 ** (-s.alpha_db_km * la / 10)
    eb = s.eta_det_b * 10 ** (-s.alpha_db_km * (d - la) / 10)
    n = np.arange(0, 3000)
    p_n = np.exp(n * math.log(lam) - (n + 1) * math.log1p(lam))  # one mode pair: lam^n / (1 + lam)^(n + 1)
    none_a, none_b = (1 - ea) ** n, (1 - eb) ** n
    pair = {  # (A's mode clicks, B's mode clicks) -> probability, for one mode pair
        (False, False): np.sum(p_n * none_a * none_b),
        (True, False): np.sum(p_n * (1 - none_a) * none_b),
        (False, True): np.sum(p_n * none_a * (1 - none_b)),
        (True, True): np.sum(p_n * (1 - none_a) * (1 - none_b)),
    }
    q = correct = 0.0
    for (ha, hb), p_h in pair.items():
        for (va, vb), p_v in pair.items():
            if not (ha or va) or not (hb or vb):
                continue
            p = p_h * p_v
            q += p
            bit_a = 0.5 if ha and va else float(va)  # P(Alice's bit = 1)
            bit_b = 0.5 if hb and vb else float(vb)
            agree = bit_a * bit_b + (1 - bit_a) * (1 - bit_b)
            correct += p * (agree * (1 - s.e_detector) + (1 - agree) * s.e_detector)
    return q, 1 - correct / q


@pytest.mark.parametrize("e_d", [0.0, 0.015, 0.05])
def test_qber_closed_form_matches_an_independent_click_model(e_d):
    s = dataclasses.replace(SYS, y0_a=0.0, y0_b=0.0, e_detector=e_d)
    for d in np.linspace(0.0, 200.0, 9):
        for lam in (1e-3, 0.05, 0.4):
            q, e = bbm92_gain_error(s, float(d), lam)
            q_ref, e_ref = _click_model(float(d), lam, s)
            assert q == pytest.approx(q_ref, rel=1e-9)
            assert e == pytest.approx(e_ref, rel=1e-9, abs=1e-12)


def test_mfl_rate_is_the_papers_formula_and_the_asymptotic_rate_uses_it():
    for q, e, qb, f in [(1e-3, 0.02, 0.5, 1.16), (4000.0, 0.027, 0.25, 1.05), (1e-6, 0.09, 0.81, 1.2)]:
        assert mfl_rate(q, e, qb, f) == pytest.approx(qb * q * (1 - f * _h(e) - _h(e)), rel=1e-12)
        assert mfl_rate(q, e, qb, f, phase_error=0.04) == pytest.approx(qb * q * (1 - f * _h(e) - _h(0.04)), rel=1e-12)
    q, e = bbm92_gain_error(SYS, 50.0, 0.05)
    assert bbm92_asymptotic_rate(SYS, 50.0, 0.05) == pytest.approx(max(0.0, mfl_rate(q, e, 0.5, SYS.f_ec)), rel=1e-12)


def test_finite_key_parts_floor_and_reason():
    fk = bbm92_finite_key(20_000, 10_000, 0.027, 3000.0)
    assert fk.length == math.floor(_reference_tlgr(20_000, 10_000, 0.027, 3000.0, 1e-10, 1e-15))
    assert fk.mu == pytest.approx(math.sqrt(3e4 / 2e8 * 10_001 / 10_000 * math.log(2e10)), rel=1e-12)
    assert fk.reason == "" and fk.length > 0
    none = bbm92_finite_key(2000, 300, 0.05, 600.0)
    assert none.length == 0 and none.bits < 0 and "Eq. (2)" in none.reason
    assert bbm92_finite_key(2000, 0, 0.0, 0.0).length == 0

"""The bench side of BBM92: the CW pair source's closed form, and one block distilled at both ends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnetlab.analysis.qkd import privacy
from qnetlab.analysis.qkd.keystore import KeyStore
from qnetlab.analysis.qkd.pair_distill import PairParams, distill_pairs
from qnetlab.analysis.qkd.pair_source import _registered, cw_pair_rates, fibre_transmittance


def _h(x):
    return -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def _simulated_click_rate(rate_hz, dead_s, p_ap, ap_delay_s, seed, clicks=40_000):
    """A free-running detector click by click: Poisson light, non-paralyzable dead time, afterpulses."""
    rng = np.random.default_rng(seed)
    t = registered = 0.0
    arrivals = np.cumsum(rng.exponential(1 / rate_hz, int(clicks * (1 + rate_hz * dead_s) * 1.2) + 1000))
    i, afterpulse = 0, math.inf
    while registered < clicks:
        while arrivals[i] < t + dead_s:  # dead: photons lost
            i += 1
        nxt = min(arrivals[i], afterpulse)
        if nxt == arrivals[i]:
            i += 1
        t, registered = nxt, registered + 1
        afterpulse = t + dead_s + rng.exponential(ap_delay_s) if rng.random() < p_ap else math.inf
    return registered / t


@pytest.mark.parametrize(("rate", "p_ap"), [(5e4, 0.0), (5e4, 0.02), (3e5, 0.1)])
def test_registered_rate_matches_a_click_by_click_simulation(rate, p_ap):
    measured = _simulated_click_rate(rate, 2e-6, p_ap, 2e-6, seed=int(rate) + int(100 * p_ap))
    # 40 000 renewal intervals: relative error of the mean interval below ~0.5 %
    assert measured == pytest.approx(_registered(rate, 2e-6, p_ap, 2e-6), rel=0.015)
    assert _registered(rate, 0.0, 0.0, 1.0) == pytest.approx(rate)


def test_closed_form_limits():
    # no dead time, no dark counts, tiny window: true pairs R eta_A eta_B, errors (1 - V) / 2
    low = cw_pair_rates(1e5, 0.1, 0.2, 0.9, 1.0)
    assert low.true_hz == pytest.approx(1e5 * 0.1 * 0.2, rel=1e-12)
    assert low.accidental_hz == pytest.approx(4 * (1e5 * 0.1 / 2) * (1e5 * 0.2 / 2) * 2e-12, rel=1e-12)
    assert low.qber == pytest.approx(0.05, abs=1e-6)
    # bases 45 deg apart: no correlation
    assert cw_pair_rates(1e5, 0.1, 0.2, 0.9, 1000.0, matched=False).qber == pytest.approx(0.5)
    # fibre on one arm: coincidences scale with its transmittance (3 dB at 15 km, 0.2 dB/km)
    t = fibre_transmittance(15.0)
    assert t == pytest.approx(10**-0.3)
    far = cw_pair_rates(1e5, 0.1, 0.2 * t, 0.9, 1.0)
    assert far.true_hz / low.true_hz == pytest.approx(t, rel=1e-12)
    # a jitter of sigma with the window at 1 sigma keeps erf(1/sqrt 2) = 68.3 % of the pairs
    jittered = cw_pair_rates(1e5, 0.1, 0.2, 0.9, 100.0, jitter_ps=100.0)
    assert jittered.true_hz / low.true_hz == pytest.approx(0.6827, abs=1e-4)
    # accidentals are wrong half the time: QBER rises toward 1/2 with the window
    wide = cw_pair_rates(1e5, 0.1, 0.2, 0.9, 1e6)
    assert wide.qber == pytest.approx((0.05 * wide.true_hz + wide.accidental_hz / 2) / wide.coincidence_hz)
    assert wide.qber > 0.1
    # dead time: both detectors live a fraction L each (plus the common-pair term)
    dead = cw_pair_rates(2e6, 0.05, 0.05, 0.95, 1000.0, dead_time_s=2e-6)
    live = dead.live[0]
    assert live == pytest.approx(1 - dead.singles_hz[0] * 2e-6)
    assert live**2 < dead.true_hz / (2e6 * 0.05**2) < live**2 * 1.01


def test_closed_form_refuses_bad_input():
    with pytest.raises(ValueError, match="eta_b=1.5"):
        cw_pair_rates(1e5, 0.1, 1.5, 0.9, 1000.0)
    with pytest.raises(ValueError, match="window_ps=0"):
        cw_pair_rates(1e5, 0.1, 0.1, 0.9, 0.0)


def _noisy(rng, n, qber):
    a = rng.integers(0, 2, n, dtype=np.uint8)
    return a, a ^ (rng.random(n) < qber).astype(np.uint8)


def _tlgr(n, k, e, leak, eps_sec=1e-10, eps_cor=1e-15):
    mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / eps_sec))
    return n * (1 - _h(e + mu)) - leak - math.log2(2 / (eps_sec**2 * eps_cor))


def test_block_gives_equal_keys_at_both_ends_of_the_tlgr_length(tmp_path):
    rng = np.random.default_rng(1)
    key_a, key_b = _noisy(rng, 20_000, 0.03)
    test_a, test_b = _noisy(rng, 10_000, 0.03)
    store = KeyStore(tmp_path / "keys")
    result, fk = distill_pairs(key_a, key_b, test_a, test_b, PairParams(), store, rng, key_id="blk")
    assert result.accepted and fk is not None, result.reason
    e_test = np.count_nonzero(test_a != test_b) / test_a.size
    assert result.qber_test is not None and result.qber_test.value == pytest.approx(e_test)
    assert result.qber_key is not None and result.qber_key.errors == np.count_nonzero(key_a != key_b)
    assert result.length == math.floor(_tlgr(20_000, 10_000, e_test, result.leaked_ec_bits)) == fk.length
    # the stored key is Alice's raw key hashed with the block's seed; Bob's end reached the same bits
    # (hashing his raw, uncorrected bits would not)
    assert result.pa_seed is not None
    stored = store.take("blk")
    assert np.array_equal(stored, privacy.multiply_add_shift_hash(key_a, result.length, result.pa_seed))
    assert not np.array_equal(stored, privacy.multiply_add_shift_hash(key_b, result.length, result.pa_seed))
    assert stored.tobytes()[:16].hex() not in str(result.catalog())


def test_block_says_why_it_gives_no_key(tmp_path):
    rng = np.random.default_rng(2)
    store = KeyStore(tmp_path / "keys")
    key_a, key_b = _noisy(rng, 5000, 0.02)
    test_a, test_b = _noisy(rng, 100, 0.02)
    result, _ = distill_pairs(key_a, key_b, test_a, test_b, PairParams(), store, rng)
    assert not result.accepted and "100 test bits (need 200)" in result.reason
    test_a, test_b = _noisy(rng, 5000, 0.2)
    result, _ = distill_pairs(key_a, key_b, test_a, test_b, PairParams(), store, rng)
    assert not result.accepted and "test-basis QBER 0.2" in result.reason
    key_a, key_b = _noisy(rng, 1500, 0.06)
    test_a, test_b = _noisy(rng, 400, 0.06)
    result, fk = distill_pairs(key_a, key_b, test_a, test_b, PairParams(), store, rng)
    assert not result.accepted and "no secret key" in result.reason and fk is not None and fk.bits < 0
    assert store.ids() == []
    with pytest.raises(ValueError, match="key 10 vs 9"):
        distill_pairs(key_a[:10], key_b[:9], test_a, test_b, PairParams(), store, rng)

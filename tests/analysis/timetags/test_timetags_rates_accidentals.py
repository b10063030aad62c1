import math

import numpy as np
import pytest

from qnetlab.analysis.timetags import (
    RateCounter,
    coincidence_to_accidental_ratio,
    count_coincidences,
    count_rates,
    count_tags,
    expected_accidentals,
    offset_accidentals,
)
from qnetlab.analysis.timetags._synthetic import lab_stream


def test_counts_and_rates():
    t = np.array([0, 10, 10, 500_000, 1_000_000], np.int64)
    c = np.array([-1, 2, 2, 5, 2], np.int32)
    assert count_tags(c) == {-1: 1, 2: 3, 5: 1}
    assert count_tags(c, which=[2, 7]) == {2: 3, 7: 0}
    assert count_rates(t, c, which=[2]) == {2: pytest.approx(3e6)}
    assert count_rates(t, c, duration_ps=2_000_000)[-1] == pytest.approx(0.5e6)
    counter = RateCounter()
    for i in range(len(t)):
        counter.process(t[i : i + 1], c[i : i + 1])
    counter.process(t[:0], c[:0])
    assert counter.counts() == count_tags(c)
    assert counter.rates() == count_rates(t, c)
    assert RateCounter(which=[3]).process(t, c).counts() == {3: 0}
    assert count_tags(np.empty(0, np.int32)) == {}
    assert count_tags(np.array([-5, 10**9, -5])) == {-5: 2, 10**9: 1}
    with pytest.raises(ValueError, match="duration_ps"):
        count_rates(t[:1], c[:1])


def test_expected_accidentals_lattice_formula(ref):
    # every integer offset on a small lattice: count tuples exactly
    t1 = np.array([100])
    t2 = np.arange(0, 200)
    t3 = np.arange(0, 200)
    t = np.concatenate([t1, t2, t3])
    c = np.repeat([1, 2, 3], [1, 200, 200])
    order = np.argsort(t, kind="stable")
    t, c = t[order], c[order]
    # spread <= W around one tag with neighbours on every ps: (W+1)^K - W^K tuples
    for w in (0, 3, 10):
        assert count_coincidences(t, c, (1, 2), w) == 2 * w + 1
        assert count_coincidences(t, c, (1, 2, 3), w) == (w + 1) ** 3 - w**3
    assert expected_accidentals([1000, 2000], 10, 10**9) == pytest.approx(1000 * 2000 * 21 / 1e9)
    assert expected_accidentals([10, 20, 30], 5, 100) == pytest.approx(6000 * 91 / 100**2)


def test_accidentals_of_uncorrelated_streams_match_expectation():
    rng = np.random.default_rng(8)
    duration = 10**11
    t = np.sort(rng.integers(0, duration, 400_000))
    c = rng.integers(1, 4, len(t)).astype(np.int32)
    n = [(c == q).sum() for q in (1, 2, 3)]
    for chans, w in [((1, 2), 2000), ((1, 2, 3), 20000)]:
        expected = expected_accidentals([n[q - 1] for q in chans], w, duration)
        measured = count_coincidences(t, c, chans, w)
        assert abs(measured - expected) < 6 * math.sqrt(expected)  # ~ 1e3 expected
        off = offset_accidentals(t, c, chans, w, [10**6, 2 * 10**6, 3 * 10**6])
        assert abs(off - expected) < 6 * math.sqrt(expected)


def test_car_of_a_correlated_stream():
    t, c = lab_stream(200_000, rate_hz=4e6, pair_channels=((1, 2),), jitter_ps=30)
    delays = {1: 1000}
    coinc = count_coincidences(t, c, (1, 2), 200, delays)
    acc = offset_accidentals(t, c, (1, 2), 200, [50_000, 100_000, 150_000], delays)
    car = coincidence_to_accidental_ratio(coinc, acc)
    assert coinc > 20_000 and car > 100
    assert coincidence_to_accidental_ratio(5, 0) == math.inf
    assert math.isnan(coincidence_to_accidental_ratio(0, 0))

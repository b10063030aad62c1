import numpy as np
import pytest

from qnetlab.analysis.timetags import CorrelationCounter, bin_edges_ps, correlation_histogram, g2_normalize
from qnetlab.analysis.timetags._synthetic import lab_stream

T = np.array([0, 0, 5, 10, 10, 10, 15, 20, 30, 30, 31, 50, 60, 60, 100], np.int64)
C = np.array([1, 2, 3, 1, 2, 3, 2, 1, 1, 2, 3, 3, 1, 2, 1], np.int32)


def chunked(counter, t, c, cuts):
    for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=False):
        counter.process(t[lo:hi], c[lo:hi])
    return counter.result()


@pytest.mark.parametrize("a, b", [(1, 2), (2, 1), (1, 3), (1, 1), (1, 9), (9, 1)])
@pytest.mark.parametrize("width, n_bins, start", [(1, 20, None), (5, 7, None), (4, 10, 3), (10, 3, -40), (3, 1, None)])
@pytest.mark.parametrize("delays", [None, {1: 12}, {2: -25, 3: 9}])
def test_equals_reference_whole_and_every_cut(ref, a, b, width, n_bins, start, delays):
    expected = ref.correlation(T, C, a, b, width, n_bins, delays, start)
    got = correlation_histogram(T, C, a, b, width, n_bins, delays, start)
    np.testing.assert_array_equal(got, expected)
    for cut in range(len(T) + 1):
        counter = CorrelationCounter(a, b, width, n_bins, delays, start)
        np.testing.assert_array_equal(chunked(counter, T, C, [cut]), expected)


def test_lab_stream_against_reference_and_chunks(ref):
    t, c = lab_stream(2000, rate_hz=20e6, n_channels=4, jitter_ps=40, seed=4)
    expected = ref.correlation(t, c, 1, 2, 50, 100, {1: 1000})
    assert expected.sum() > 0 and expected.argmax() in (49, 50)
    np.testing.assert_array_equal(correlation_histogram(t, c, 1, 2, 50, 100, {1: 1000}), expected)
    cuts = np.sort(np.random.default_rng(1).integers(0, len(t), 30)).tolist()
    counter = CorrelationCounter(1, 2, 50, 100, {1: 1000})
    np.testing.assert_array_equal(chunked(counter, t, c, cuts), expected)


def test_bin_edges_and_g2():
    np.testing.assert_array_equal(bin_edges_ps(10, 4), [-20, -10, 0, 10, 20])
    np.testing.assert_array_equal(bin_edges_ps(10, 3), [-15, -5, 5, 15])
    np.testing.assert_array_equal(CorrelationCounter(1, 2, 10, 2, start_ps=7).bin_edges_ps(), [7, 17, 27])
    # 1000 * 2000 tags, 10 ps bins, 1e6 ps: 20 expected per bin
    np.testing.assert_allclose(g2_normalize([20, 40], 1000, 2000, 10, 10**6), [1.0, 2.0])


def test_uncorrelated_g2_is_flat():
    rng = np.random.default_rng(2)
    duration = 10**10
    t = np.sort(rng.integers(0, duration, 200_000))
    c = rng.integers(1, 3, len(t)).astype(np.int32)
    hist = correlation_histogram(t, c, 1, 2, 1000, 100)
    g2 = g2_normalize(hist, (c == 1).sum(), (c == 2).sum(), 1000, duration)
    # ~400 per bin: each bin within 6 sigma of 1, the mean within 6 sigma / 10
    assert np.all(np.abs(g2 - 1) < 6 / np.sqrt(400))
    assert abs(g2.mean() - 1) < 0.6 / np.sqrt(400)


def test_rejects_bad_bins():
    with pytest.raises(ValueError, match="bin_width_ps"):
        CorrelationCounter(1, 2, 0, 10)
    with pytest.raises(ValueError, match="n_bins"):
        correlation_histogram([1], [1], 1, 2, 10, 0)

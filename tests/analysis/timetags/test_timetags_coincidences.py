import numpy as np
import pytest

from qnetlab.analysis.timetags import CoincidenceCounter, count_coincidences
from qnetlab.analysis.timetags._synthetic import lab_stream


def chunked(counter, t, c, cuts):
    for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=False):
        counter.process(t[lo:hi], c[lo:hi])
    return counter.result()


# Equal timestamps (within and across channels), a channel never present (9),
# tags exactly at +-window.
T = np.array([0, 0, 5, 10, 10, 10, 15, 20, 30, 30, 31, 50, 60, 60, 100], np.int64)
C = np.array([1, 2, 3, 1, 2, 3, 2, 1, 1, 2, 3, 3, 1, 2, 1], np.int32)


@pytest.mark.parametrize("channel_set", [(1, 2), (2, 1), (1, 3), (1, 2, 3), (3, 2, 1), (1, 9), (1, 2, 9)])
@pytest.mark.parametrize("window", [0, 5, 10, 20])
@pytest.mark.parametrize("delays", [None, {1: 5}, {2: -10, 3: 7}])
def test_equals_reference_whole_and_every_cut(ref, channel_set, window, delays):
    expected = ref.coincidences(T, C, channel_set, window, delays)
    assert count_coincidences(T, C, channel_set, window, delays) == expected
    for cut in range(len(T) + 1):
        counter = CoincidenceCounter(channel_set, window, delays)
        assert chunked(counter, T, C, [cut]) == expected


def test_one_tag_per_chunk_and_empty_chunks(ref):
    for channel_set in [(1, 2), (1, 2, 3)]:
        counter = CoincidenceCounter(channel_set, 10, {3: -4})
        counter.process(T[:0], C[:0])
        for i in range(len(T)):
            counter.process(T[i : i + 1], C[i : i + 1])
            counter.process(T[:0], C[:0])
        assert counter.result() == ref.coincidences(T, C, channel_set, 10, {3: -4})
        assert counter.n_tags == len(T)


def test_empty_stream():
    empty = np.empty(0, np.int64)
    assert count_coincidences(empty, empty, (1, 2), 10) == 0
    assert CoincidenceCounter((1, 2, 3), 10).result() == 0


@pytest.mark.parametrize(
    "n_tags, channel_set, window, delays",
    [
        (2000, (1, 2), 1000, {1: 1000}),
        (2000, (1, 2), 5000, None),
        (300, (1, 2, 3), 40000, {3: 500}),
        (300, (4, 2, 1), 60000, {1: 2000, 4: -300}),
    ],
)
def test_lab_stream_against_reference_and_chunks(ref, n_tags, channel_set, window, delays):
    t, c = lab_stream(n_tags, rate_hz=20e6, n_channels=4, jitter_ps=50, seed=3)
    expected = ref.coincidences(t, c, channel_set, window, delays)
    assert expected > 0
    assert count_coincidences(t, c, channel_set, window, delays) == expected
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(t), 40)).tolist()
    assert chunked(CoincidenceCounter(channel_set, window, delays), t, c, cuts) == expected


@pytest.mark.parametrize("window, delays", [(1000, {1: 300}), (0, None), (10**6, {2: 10**9}), (50_000, {1: -(10**8)})])
def test_large_stream_over_many_kernel_blocks(ref, window, delays):
    t, c = lab_stream(400_000, rate_hz=20e6, n_channels=3, seed=5)
    t = t // 64 * 64  # many equal timestamps
    expected = ref.pair_coincidences_searchsorted(t, c, 1, 2, window, delays)
    assert expected > 0
    assert count_coincidences(t, c, (1, 2), window, delays) == expected
    counter = CoincidenceCounter((1, 2), window, delays)
    assert chunked(counter, t, c, [1, 65_536, 65_537, 200_000, 333_333]) == expected
    from qnetlab.analysis.timetags import _kernels  # the independent n-fold kernel agrees

    acc = np.zeros(1, np.int64)
    d = delays or {}
    _kernels.nfold_coincidences(
        t, c, 0, len(t), np.array([1, 2], np.int32), np.array([d.get(1, 0), d.get(2, 0)], np.int64), window, acc
    )
    assert acc[0] == expected


@pytest.mark.parametrize(
    "channel_set, window, delays, quantum",
    [((1, 2, 3), 2000, {3: 300}, 64), ((3, 1, 2), 0, None, 20_000), ((2, 3, 1), 10**6, {1: 10**9}, 64)],
)
def test_large_stream_nfold_over_many_kernel_blocks(ref, channel_set, window, delays, quantum):
    t, c = lab_stream(400_000, rate_hz=20e6, n_channels=3, pair_channels=((1, 2), (2, 3)), seed=6)
    t = t // quantum * quantum  # many equal timestamps
    expected = ref.nfold_coincidences_searchsorted(t, c, channel_set, window, delays)
    assert expected > 0
    assert count_coincidences(t, c, channel_set, window, delays) == expected
    counter = CoincidenceCounter(channel_set, window, delays)
    assert chunked(counter, t, c, [1, 65_536, 65_537, 200_000, 333_333]) == expected


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="distinct"):
        CoincidenceCounter((1, 1), 10)
    with pytest.raises(ValueError, match="window_ps"):
        CoincidenceCounter((1, 2), -1)
    counter = CoincidenceCounter((1, 2), 10).process([100, 200], [1, 2])
    with pytest.raises(ValueError, match="time order"):
        counter.process([150], [1])

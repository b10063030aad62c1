"""Property: any chunking of any stream gives exactly the reference result."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qnetlab.analysis.timetags import (
    CoincidenceCounter,
    CorrelationCounter,
    RateCounter,
    correlation_histogram,
    count_coincidences,
    count_tags,
)


@st.composite
def streams(draw):
    n = draw(st.integers(0, 40))
    gaps = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))  # 0: equal times
    t = np.cumsum(np.asarray(gaps, np.int64)) + draw(st.integers(-50, 50))
    c = np.asarray(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), np.int32)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    return t, c, cuts


delays = st.dictionaries(st.integers(1, 4), st.integers(-40, 40), max_size=4)


def feed(counter, t, c, cuts):
    for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=False):
        counter.process(t[lo:hi], c[lo:hi])
    return counter.result()


@settings(max_examples=300, deadline=None)
@given(streams(), st.sampled_from([(1, 2), (2, 1), (3, 4), (1, 2, 3), (4, 1, 2)]), st.integers(0, 40), delays)
def test_coincidences_any_chunking(ref, stream, channel_set, window, delays_ps):
    t, c, cuts = stream
    expected = ref.coincidences(t, c, channel_set, window, delays_ps)
    assert count_coincidences(t, c, channel_set, window, delays_ps) == expected
    assert feed(CoincidenceCounter(channel_set, window, delays_ps), t, c, cuts) == expected


@settings(max_examples=300, deadline=None)
@given(
    streams(),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 15),
    st.integers(1, 12),
    st.one_of(st.none(), st.integers(-60, 60)),
    delays,
)
def test_correlation_any_chunking(ref, stream, a, b, width, n_bins, start, delays_ps):
    t, c, cuts = stream
    expected = ref.correlation(t, c, a, b, width, n_bins, delays_ps, start)
    np.testing.assert_array_equal(correlation_histogram(t, c, a, b, width, n_bins, delays_ps, start), expected)
    counter = CorrelationCounter(a, b, width, n_bins, delays_ps, start)
    np.testing.assert_array_equal(feed(counter, t, c, cuts), expected)


@settings(max_examples=50, deadline=None)
@given(streams())
def test_counts_any_chunking(stream):
    t, c, cuts = stream
    counter = RateCounter()
    for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=False):
        counter.process(t[lo:hi], c[lo:hi])
    assert counter.counts() == count_tags(c)

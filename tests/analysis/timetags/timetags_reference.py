"""Plain O(n·m) reference implementations of the documented definitions."""

import itertools

import numpy as np


def delayed(t, c, ch, delays):
    return [int(x) + int((delays or {}).get(ch, 0)) for x in np.asarray(t)[np.asarray(c) == ch]]


def coincidences(t, c, channel_set, window_ps, delays=None):
    """Number of tuples, one tag per channel, with max - min <= window_ps."""
    lists = [delayed(t, c, ch, delays) for ch in channel_set]
    return sum(1 for combo in itertools.product(*lists) if max(combo) - min(combo) <= window_ps)


def correlation(t, c, a, b, bin_width_ps, n_bins, delays=None, start_ps=None):
    """Histogram of (t_b + d_b) - (t_a + d_a) over all pairs, half-open bins."""
    if start_ps is None:
        start_ps = -(n_bins * bin_width_ps) // 2
    hist = np.zeros(n_bins, np.int64)
    for ta in delayed(t, c, a, delays):
        for tb in delayed(t, c, b, delays):
            i = (tb - ta - start_ps) // bin_width_ps
            if 0 <= i < n_bins:
                hist[i] += 1
    return hist


def pair_coincidences_searchsorted(t, c, a, b, window_ps, delays=None):
    """Pairs with |(t_b + d_b) - (t_a + d_a)| <= window_ps, by binary search (large inputs)."""
    ta = np.asarray(delayed(t, c, a, delays), np.int64)
    tb = np.asarray(delayed(t, c, b, delays), np.int64)
    hi = np.searchsorted(tb, ta + window_ps, side="right")
    lo = np.searchsorted(tb, ta - window_ps, side="left")
    return int((hi - lo).sum())


def nfold_coincidences_searchsorted(t, c, channel_set, window_ps, delays=None):
    """K-fold count by binary search (large inputs): each tuple counted at its first tag
    (earliest delayed time; ties go to the channel listed first)."""
    times = [np.asarray(delayed(t, c, q, delays), np.int64) for q in channel_set]
    total = 0
    for p, keys in enumerate(times):
        prod = np.ones(len(keys), np.int64)
        for q, other in enumerate(times):
            if q != p:
                side = "right" if q < p else "left"
                prod *= np.searchsorted(other, keys + window_ps, "right") - np.searchsorted(other, keys, side)
        total += int(prod.sum())
    return total

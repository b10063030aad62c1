"""Time-ordered (time int64 ps, source/channel int32) streams: merging and restoring order."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def merge_streams(times_a, chans_a, times_b, chans_b):
    """Merge two time-sorted tag streams into one (stable: a before b on ties)."""
    n_a, n_b = times_a.size, times_b.size
    times = np.empty(n_a + n_b, dtype=np.int64)
    chans = np.empty(n_a + n_b, dtype=np.int32)
    i = j = 0
    for k in range(n_a + n_b):
        if j >= n_b or (i < n_a and times_a[i] <= times_b[j]):
            times[k] = times_a[i]
            chans[k] = chans_a[i]
            i += 1
        else:
            times[k] = times_b[j]
            chans[k] = chans_b[j]
            j += 1
    return times, chans


@numba.njit(cache=True, nogil=True)
def restore_order_pairs(times, chans):
    """Insertion sort of (time, channel) that touches only out-of-order neighbours."""
    for k in range(1, times.size):
        value = times[k]
        if value < times[k - 1]:
            chan = chans[k]
            m = k - 1
            while m >= 0 and times[m] > value:
                times[m + 1] = times[m]
                chans[m + 1] = chans[m]
                m -= 1
            times[m + 1] = value
            chans[m + 1] = chan

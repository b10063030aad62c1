"""Numba kernels over one merged, time-sorted tag stream.

Every kernel visits the *anchor* tags with index in ``[a0, a1)`` of the arrays
``(t, c)`` and adds what each anchor contributes to the accumulator ``acc`` (in place).
Only tags on the anchor channel(s) contribute. A kernel assumes that every tag an
anchor in ``[a0, a1)`` may pair with is present in ``(t, c)``; ``stream.py`` arranges
that when the stream arrives in chunks. Pointers into the stream only move forward,
so each call is O(len(t)) for a fixed channel set.

Arrays: ``t`` int64 ps (sorted, non-decreasing), ``c`` int32 channel numbers.
"""

import numba
import numpy as np

BLOCK = 1 << 16  # stream indices per block of the pair kernel (L2-sized buffers)


@numba.njit(cache=True, nogil=True)
def pair_coincidences(t, c, a0, a1, ch_a, ch_b, shift_ps, window_ps, acc):
    """Add to ``acc[0]`` the number of (a, b) pairs, a in ``[a0, a1)``, with
    ``|t_b - (t_a + shift_ps)| <= window_ps`` (``shift_ps = delay_a - delay_b``).

    Block by block, one branch-free pass copies the anchors' keys and the b times
    into two small buffers, then a two-pointer merge counts the pairs; b tags outside
    the needed range only widen the buffer, they never enter a window."""
    if a0 >= a1:
        return
    keys = np.empty(BLOCK, np.int64)
    b_ps = np.empty(BLOCK + 4096, np.int64)
    total = 0
    for s0 in range(a0, a1, BLOCK):
        s1 = min(s0 + BLOCK, a1)
        lo_i = min(np.searchsorted(t, t[s0] + shift_ps - window_ps), s0)
        hi_i = max(np.searchsorted(t, t[s1 - 1] + shift_ps + window_ps, side="right"), s1)
        if hi_i - lo_i > len(b_ps):
            b_ps = np.empty(hi_i - lo_i, np.int64)
        nb = 0
        for i in range(lo_i, s0):
            b_ps[nb] = t[i]
            nb += c[i] == ch_b
        na = 0
        for i in range(s0, s1):
            ti = t[i]
            ci = c[i]
            keys[na] = ti + shift_ps
            na += ci == ch_a
            b_ps[nb] = ti
            nb += ci == ch_b
        for i in range(s1, hi_i):
            b_ps[nb] = t[i]
            nb += c[i] == ch_b
        lo = 0
        hi = 0
        for k in range(na):
            key = keys[k]
            while hi < nb and b_ps[hi] <= key + window_ps:
                hi += 1
            while lo < hi and b_ps[lo] < key - window_ps:
                lo += 1
            total += hi - lo
    acc[0] += total


@numba.njit(cache=True, nogil=True)
def nfold_coincidences(t, c, a0, a1, chans, delays_ps, window_ps, acc):
    """Add to ``acc[0]`` the number of tuples (one tag per channel of `chans`) whose
    delayed times span at most `window_ps`, counted once at the tuple's first tag
    (earliest delayed time; on a tie, the channel listed first in `chans`).

    Block by block, the delayed times of each channel (anchors plus the tags they can
    reach) are copied into one small sorted buffer per channel; for every anchor on
    channel p, two pointers per other channel q bound the partners in
    ``[key, key + window_ps]`` (q after p in `chans`) or ``(key, key + window_ps]``
    (q before p), and the anchor adds the product of the partner counts."""
    k = len(chans)
    if a0 >= a1:
        return
    cmin = chans.min()
    lut = np.full(chans.max() - cmin + 1, -1, np.int64)
    for j in range(k):
        lut[chans[j] - cmin] = j
    back = max(0, delays_ps.max() - delays_ps.min())  # reach, raw time
    ahead = back + window_ps
    size = BLOCK + 4096
    buf = np.empty((k, size), np.int64)
    n_in = np.zeros(k, np.int64)  # tags per channel in the buffer
    a_lo = np.zeros(k, np.int64)  # anchors: buf[p, a_lo[p]:a_hi[p]]
    a_hi = np.zeros(k, np.int64)
    lo = np.zeros(k, np.int64)
    hi = np.zeros(k, np.int64)
    total = 0
    for s0 in range(a0, a1, BLOCK):
        s1 = min(s0 + BLOCK, a1)
        lo_i = min(np.searchsorted(t, t[s0] - back), s0)
        hi_i = max(np.searchsorted(t, t[s1 - 1] + ahead, side="right"), s1)
        if hi_i - lo_i > size:
            size = hi_i - lo_i
            buf = np.empty((k, size), np.int64)
        n_in[:] = 0
        for i in range(lo_i, hi_i):
            if i == s0:
                a_lo[:] = n_in
            if i == s1:
                a_hi[:] = n_in
            x = c[i] - cmin
            if x < 0 or x >= len(lut):
                continue
            p = lut[x]
            if p >= 0:
                buf[p, n_in[p]] = t[i] + delays_ps[p]
                n_in[p] += 1
        if hi_i == s1:
            a_hi[:] = n_in
        for p in range(k):
            lo[:] = 0
            hi[:] = 0
            for a in range(a_lo[p], a_hi[p]):
                key = buf[p, a]
                prod = 1
                for q in range(k):
                    if q == p:
                        continue
                    h = hi[q]
                    while h < n_in[q] and buf[q, h] <= key + window_ps:
                        h += 1
                    low = lo[q]
                    if q < p:
                        while low < h and buf[q, low] <= key:
                            low += 1
                    else:
                        while low < h and buf[q, low] < key:
                            low += 1
                    lo[q] = low
                    hi[q] = h
                    prod *= h - low
                total += prod
    acc[0] += total


@numba.njit(cache=True, nogil=True)
def correlation(t, c, a0, a1, ch_a, ch_b, shift_ps, start_ps, bin_width_ps, acc):
    """Add to ``acc[i]`` the number of (a, b) pairs, a in ``[a0, a1)``, with
    ``floor((t_b - (t_a + shift_ps) - start_ps) / bin_width_ps) == i``."""
    n = len(t)
    n_bins = len(acc)
    span = n_bins * bin_width_ps
    if a0 >= a1:
        return
    lo = np.searchsorted(t, t[a0] + shift_ps + start_ps)
    for i in range(a0, a1):
        if c[i] != ch_a:
            continue
        first = t[i] + shift_ps + start_ps
        while lo < n and t[lo] < first:
            lo += 1
        j = lo
        end = first + span
        while j < n and t[j] < end:
            if c[j] == ch_b:
                acc[(t[j] - first) // bin_width_ps] += 1
            j += 1


@numba.njit(cache=True, nogil=True)
def memory_read(t, c):
    """Touch every byte of both arrays once (for the memory-bandwidth figure)."""
    s = np.int64(0)
    for i in range(len(t)):
        s ^= t[i] ^ c[i]
    return s

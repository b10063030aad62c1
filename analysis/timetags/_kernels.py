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


BLOCK = 1 << 16      # stream indices per block of the pair kernel (L2-sized buffers)


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
    (earliest delayed time; on a tie, the channel listed first in `chans`)."""
    n = len(t)
    k = len(chans)
    if a0 >= a1:
        return
    dmin = delays_ps.min()
    dmax = delays_ps.max()
    start = np.searchsorted(t, t[a0] + dmin - dmax)
    lo = np.full((k, k), start, dtype=np.int64)
    hi = np.full((k, k), start, dtype=np.int64)
    cnt = np.zeros((k, k), dtype=np.int64)
    total = 0
    for i in range(a0, a1):
        ci = c[i]
        p = -1
        for j in range(k):
            if chans[j] == ci:
                p = j
                break
        if p < 0:
            continue
        key = t[i] + delays_ps[p]
        prod = 1
        for q in range(k):
            if q == p:
                continue
            cq = chans[q]
            base = key - delays_ps[q]       # anchor time in channel q's raw frame
            upper = base + window_ps
            h = hi[p, q]
            m = cnt[p, q]
            while h < n and t[h] <= upper:
                m += c[h] == cq
                h += 1
            l = lo[p, q]
            if q < p:                       # earlier-listed channel: strictly later
                while l < h and t[l] <= base:
                    m -= c[l] == cq
                    l += 1
            else:
                while l < h and t[l] < base:
                    m -= c[l] == cq
                    l += 1
            lo[p, q] = l
            hi[p, q] = h
            cnt[p, q] = m
            prod *= m
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

"""The last pass of a slice: detector dead time and afterpulses, then the tagger inputs, in time order."""

from __future__ import annotations

import numba
import numpy as np

from qnetlab.sim_backends.world.kernels.splitmix import _GOLDEN, _exp, _mix, _unit


@numba.njit(inline="always")
def _earliest(pending, never):
    """The earliest scheduled afterpulse time in ``pending`` (−1: none), else ``never``."""
    first = never
    for r in range(pending.size):
        if pending[r] >= 0 and pending[r] < first:
            first = pending[r]
    return first


@numba.njit(inline="always")
def _maybe_afterpulse(x, s, t, ap_p, ap_tau, dead, pending):
    """After a click of source s at t: with probability ``ap_p[s]`` schedule an afterpulse
    at t + dead time + Exp(``ap_tau[s]``) into ``pending[s]``. Returns (generator state, scheduled)."""
    x += _GOLDEN
    if _unit(_mix(x)) >= ap_p[s]:
        return x, False
    x += _GOLDEN
    pending[s] = t + dead[s] + np.int64(_exp(_mix(x)) * ap_tau[s])
    return x, True


@numba.njit(cache=True, nogil=True)
def detect_chunk(
    times,
    srcs,
    times2,
    srcs2,
    enabled,
    dead,
    last,
    ap_p,
    ap_tau,
    stop_ps,
    ch_ptr,
    ch_number,
    ch_delay,
    ch_dead,
    ch_last,
    held_t,
    held_c,
    state,
    pending,
    cursor,
    out_t,
    out_c,
):
    """The ordered pass of :func:`detect_and_tag` into the buffers ``out_t``/``out_c``.

    ``cursor`` = [next event of input 1, of input 2, next held tag, tags written] on entry
    and on return;
    ``pending`` holds each source's scheduled afterpulse (−1: none); one due at or after
    ``stop_ps`` and after the last input event stays there for the next slice. Stops early when the
    buffers cannot take the next click's tags; returns True when all input is consumed.
    """
    n_src = dead.size
    fan = 1
    for s in range(n_src):
        fan = max(fan, ch_ptr[s + 1] - ch_ptr[s])
    never = np.int64(2**62)
    next_pending = _earliest(pending, never)
    x = state[0]
    k = cursor[0]
    k2 = cursor[1]
    h = cursor[2]
    n = cursor[3]
    cap = out_t.size
    n_in = times.size
    n_in2 = times2.size
    n_held = held_t.size
    big = np.int64(2**62)
    next1 = times[k] if k < n_in else big
    next2 = times2[k2] if k2 < n_in2 else big
    finished = False
    while True:
        if n + fan + (n_held - h) > cap:
            break
        if h == n_held and fan == 1:
            # The common case, in a tighter loop: input 1's events up to input 2's next event
            # or the next afterpulse, each feeding at most one tagger input.
            limit = min(next2 + 1, next_pending)
            k_end = min(n_in, k + (cap - n) - 1)
            while k < k_end:
                t = times[k]
                if t >= limit:
                    break
                s = srcs[k]
                k += 1
                if t - last[s] < dead[s] or not enabled[s]:
                    continue
                last[s] = t
                if ap_p[s] > 0.0:
                    x, scheduled = _maybe_afterpulse(x, s, t, ap_p, ap_tau, dead, pending)
                    if scheduled:
                        next_pending = _earliest(pending, never)
                        limit = min(next2 + 1, next_pending)
                c = ch_ptr[s]
                if c < ch_ptr[s + 1]:
                    tag = t + ch_delay[c]
                    if tag - ch_last[c] >= ch_dead[c]:
                        ch_last[c] = tag
                        out_t[n] = tag
                        out_c[n] = ch_number[c]
                        n += 1
            next1 = times[k] if k < n_in else big
            if n + fan + (n_held - h) > cap:
                break
        if next_pending < min(next1, next2) and (next_pending < stop_ps or k < n_in or k2 < n_in2):
            t = next_pending
            s = 0
            for r in range(n_src):
                if pending[r] == t:
                    s = r
                    break
            pending[s] = -1
            next_pending = _earliest(pending, never)
        elif next1 <= next2 and k < n_in:
            t = next1
            s = srcs[k]
            k += 1
            next1 = times[k] if k < n_in else big
        elif k2 < n_in2:
            t = next2
            s = srcs2[k2]
            k2 += 1
            next2 = times2[k2] if k2 < n_in2 else big
        else:
            finished = True
            break
        if t - last[s] < dead[s] or not enabled[s]:
            continue
        last[s] = t
        if ap_p[s] > 0.0:
            x, scheduled = _maybe_afterpulse(x, s, t, ap_p, ap_tau, dead, pending)
            if scheduled:
                next_pending = _earliest(pending, never)
        for c in range(ch_ptr[s], ch_ptr[s + 1]):
            tag = t + ch_delay[c]
            if tag - ch_last[c] < ch_dead[c]:
                continue
            ch_last[c] = tag
            while h < n_held and held_t[h] <= tag:
                out_t[n] = held_t[h]
                out_c[n] = held_c[h]
                n += 1
                h += 1
            out_t[n] = tag
            out_c[n] = ch_number[c]
            n += 1
    if finished:
        while h < n_held:
            out_t[n] = held_t[h]
            out_c[n] = held_c[h]
            n += 1
            h += 1
    state[0] = x
    cursor[0] = k
    cursor[1] = k2
    cursor[2] = h
    cursor[3] = n
    return finished


def detect_and_tag(
    times,
    srcs,
    dead,
    last,
    ap_p,
    ap_tau,
    stop_ps,
    ch_ptr,
    ch_number,
    ch_delay,
    ch_dead,
    ch_last,
    held_t,
    held_c,
    state,
    span_ps=0,
    times2=None,
    srcs2=None,
    enabled=None,
    pending=None,
):
    """Detector dead time and afterpulsing, then the tagger inputs, in one ordered pass.

    ``times``/``srcs`` and ``times2``/``srcs2``: two time-sorted event streams (jitter
    included) of sources s, merged as they are read; events of sources not ``enabled``
    are dropped. Source s registers a click when it comes ``dead[s]`` after its last
    registered one (``last`` is updated in place, carried across slices); after a
    registered click an afterpulse follows with probability ``ap_p[s]`` at ``dead[s]`` +
    Exp(``ap_tau[s]``) (a later afterpulse replaces a pending one). ``pending`` (int64 per
    source, −1: none; updated in place) holds afterpulses due from an earlier slice on
    entry, and on return those due at or after ``stop_ps`` and after the last input
    event: the caller hands them to the next slice (none is lost at a slice end).
    Each click of s goes to the tagger inputs
    ``ch_ptr[s]:ch_ptr[s+1]`` (tag = time + ``ch_delay``, kept when ``ch_dead`` after the
    input's last tag, ``ch_last`` updated in place). The tags ``held_t``/``held_c`` held
    back from the previous slice are merged in. Returns ``(timestamps, channels)``, sorted
    when all inputs share one delay.
    """
    if times2 is None:
        times2, srcs2 = np.empty(0, np.int64), np.empty(0, np.int32)
    if enabled is None:
        enabled = np.ones(dead.size, np.bool_)
    fan = max(1, int(np.diff(ch_ptr).max())) if dead.size else 1
    n_events = times.size + times2.size
    afterpulses = sum(
        min(span_ps // max(int(d), 1) + 1, n_events + 1) for d, p in zip(dead, ap_p, strict=False) if p > 0
    )
    cap = (n_events + afterpulses) * fan + held_t.size + 64 + fan
    if pending is None:
        pending = np.full(dead.size, -1, np.int64)
    cursor = np.zeros(4, np.int64)
    out_t = np.empty(cap, np.int64)
    out_c = np.empty(cap, np.int32)
    while not detect_chunk(
        times,
        srcs,
        times2,
        srcs2,
        enabled,
        dead,
        last,
        ap_p,
        ap_tau,
        stop_ps,
        ch_ptr,
        ch_number,
        ch_delay,
        ch_dead,
        ch_last,
        held_t,
        held_c,
        state,
        pending,
        cursor,
        out_t,
        out_c,
    ):
        n = int(cursor[3])
        bigger_t = np.empty(2 * out_t.size, np.int64)
        bigger_c = np.empty(2 * out_t.size, np.int32)
        bigger_t[:n], bigger_c[:n] = out_t[:n], out_c[:n]
        out_t, out_c = bigger_t, bigger_c
    n = int(cursor[3])
    return out_t[:n], out_c[:n]

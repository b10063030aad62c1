"""Numba loops of the simulated world (imported only when clicks are generated).

The world seeds numba's generator from its own numpy Generator before each call
(:func:`seed`), so a world seed replays the same clicks.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def seed(value: int) -> None:
    """Seed numba's per-thread random generator."""
    np.random.seed(value)


@numba.njit(cache=True, nogil=True)
def apply_dead_time(times_ps: np.ndarray, dead_time_ps: int, last_click_ps: int) -> np.ndarray:
    """Boolean mask of the clicks a non-paralyzable detector registers.

    A click is kept when it comes at least ``dead_time_ps`` after the last kept click;
    ``last_click_ps`` is the last kept click of the previous slice (carried over so that
    slicing time does not change the result). ``times_ps`` must be sorted.
    """
    keep = np.empty(times_ps.size, dtype=np.bool_)
    last = last_click_ps
    for i in range(times_ps.size):
        t = times_ps[i]
        if t - last >= dead_time_ps:
            keep[i] = True
            last = t
        else:
            keep[i] = False
    return keep


@numba.njit(cache=True, nogil=True)
def pulsed_clicks(first_slot, n_slots, p_by_code, p_max, pattern, period_ps, offset_ps, exp_draws, uniforms):
    """Times (int64 ps) of the slots that fire; slot s fires with p_by_code[pattern[s % L]].

    Candidates come with geometric skips at ``p_max`` (the largest probability among the
    codes in the pattern), floor(E/λ) + 1 slots apart with E a standard exponential draw
    and λ = −ln(1 − p_max); each is kept with probability p/p_max using a uniform draw.
    The cost is proportional to the clicks, not the slots. The draws are supplied by the
    caller; returns ``(times, slots_done)`` and the caller continues from
    ``first_slot + slots_done`` with fresh draws when ``slots_done < n_slots``.
    """
    size = pattern.size
    out = np.empty(exp_draws.size, dtype=np.int64)
    if p_max <= 0.0 or n_slots <= 0:
        return out[:0], n_slots
    rate = -math.log1p(-p_max) if p_max < 1.0 else np.inf
    n = 0
    k = -1
    for i in range(exp_draws.size):
        gap = exp_draws[i] / rate  # float: a tiny p_max makes it far larger than any int64
        if k + 1 + gap >= n_slots:
            return out[:n], n_slots
        k += 1 + int(gap)
        slot = first_slot + k
        p = p_by_code[pattern[slot % size]]
        if p < p_max and uniforms[i] * p_max >= p:
            continue
        out[n] = np.int64(round(slot * period_ps)) + offset_ps
        n += 1
    return out[:n], k + 1


@numba.njit(cache=True, nogil=True)
def _merge_sorted(a, b):
    out = np.empty(a.size + b.size, dtype=np.int64)
    i = j = 0
    for k in range(out.size):
        if j >= b.size or (i < a.size and a[i] <= b[j]):
            out[k] = a[i]
            i += 1
        else:
            out[k] = b[j]
            j += 1
    return out


@numba.njit(cache=True, nogil=True)
def _restore_order(times):
    """Insertion sort that touches only out-of-order neighbours (jitter swaps few)."""
    for k in range(1, times.size):
        value = times[k]
        if value < times[k - 1]:
            m = k - 1
            while m >= 0 and times[m] > value:
                times[m + 1] = times[m]
                m -= 1
            times[m + 1] = value


@numba.njit(cache=True, nogil=True)
def _dead_time_compact(times, dead_time_ps, last):
    out = np.empty(times.size, dtype=np.int64)
    n = 0
    for i in range(times.size):
        t = times[i]
        if t - last >= dead_time_ps:
            out[n] = t
            n += 1
            last = t
    return out[:n], last


@numba.njit(cache=True, nogil=True)
def _dead_time_with_afterpulses(times, dead_time_ps, last, afterpulse_p, afterpulse_tau_ps, stop_ps):
    out = np.empty(times.size + 16, dtype=np.int64)
    n = 0
    pending = np.int64(-1)  # time of a scheduled afterpulse, -1 when none
    k = 0
    while k < times.size or pending >= 0:
        if pending >= 0 and (k >= times.size or pending < times[k]):
            t = pending
            pending = -1
            if t >= stop_ps:
                continue
        else:
            t = times[k]
            k += 1
        if t - last < dead_time_ps:
            continue
        if n == out.size:
            bigger = np.empty(out.size * 2, dtype=np.int64)
            bigger[:n] = out[:n]
            out = bigger
        out[n] = t
        n += 1
        last = t
        if np.random.random() < afterpulse_p:
            pending = t + dead_time_ps + np.int64(np.random.exponential(afterpulse_tau_ps))
    return out[:n], last


@numba.njit(cache=True, nogil=True)
def detector_pipeline(arrivals, dark, jitter, dead_time_ps, last_click_ps, afterpulse_p, afterpulse_tau_ps, stop_ps):
    """Registered clicks of one detector from sorted photon arrivals and dark counts.

    Merges the two sorted inputs, adds the timing jitter (``jitter``: one int64 ps offset
    per input event, or an empty array for none), restores time order, then applies the
    non-paralyzable dead time; after each registered click an afterpulse follows with
    probability ``afterpulse_p`` at dead time + Exp(``afterpulse_tau_ps``).
    Returns ``(times, last_click_ps)``.
    """
    merged = _merge_sorted(arrivals, dark)
    if jitter.size:
        for k in range(merged.size):
            merged[k] += jitter[k]
        _restore_order(merged)
    if afterpulse_p > 0.0:
        return _dead_time_with_afterpulses(merged, dead_time_ps, last_click_ps, afterpulse_p, afterpulse_tau_ps, stop_ps)
    return _dead_time_compact(merged, dead_time_ps, last_click_ps)


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

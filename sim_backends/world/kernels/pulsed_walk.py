"""The pulsed links' walk: geometric skips over the slots and alias-table draws of which modes fire.

Cost proportional to the clicks, not the slots (see :func:`pulsed_link_chunk`). With two
threads the second half of a slice's slots is walked on the world's worker thread
(:func:`worker`), which :mod:`qnetlab.sim_backends.world.prefetch` also uses.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from qnetlab.sim_backends.world.kernels.splitmix import _GOLDEN, _TWO_M53, _exp, _jitter, _mix
from qnetlab.sim_backends.world.kernels.streams import restore_order_pairs

_LOWEST_BIT = np.array([(m & -m).bit_length() - 1 for m in range(256)], np.int64)
GEOMETRIC_TABLE_BITS = 10  # 1024-entry alias table for the slot skips
GEOMETRIC_TABLE_MIN_P = 0.01  # below this, skips are drawn as floor(E/λ) with a logarithm
GEOMETRIC_TABLE_PAD_BITS = 2  # skip outcomes = table cells / 4; the other cells carry weight 0 (see link_tables)
MASK_TABLE_MIN_BITS = 8  # cells per code of the firing-pattern table (at least 4 per mask)


@numba.njit(cache=True, nogil=True)
def alias_table(weights, prob, alias):
    """Vose's alias table of ``weights`` (normalised here) into ``prob``/``alias``.

    Drawing i uniformly and then i (with probability ``prob[i]``) or ``alias[i]`` gives
    outcome j with probability weights[j]/Σweights, exactly up to float rounding.
    """
    size = weights.size
    total = weights.sum()
    scaled = weights * (size / total)
    small = np.empty(size, np.int64)
    large = np.empty(size, np.int64)
    n_small = n_large = 0
    for i in range(size):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small and n_large:
        n_small -= 1
        lo = small[n_small]
        hi = large[n_large - 1]
        prob[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] = (scaled[hi] + scaled[lo]) - 1.0
        if scaled[hi] < 1.0:
            n_large -= 1
            small[n_small] = hi
            n_small += 1
    for i in range(n_large):
        prob[large[i]] = 1.0
        alias[large[i]] = large[i]
    for i in range(n_small):  # rounding leftovers
        prob[small[i]] = 1.0
        alias[small[i]] = small[i]


@numba.njit(cache=True, nogil=True)
def link_tables(p_modes, p_any, p_max, geo_prob, geo_alias, mask_prob, mask_alias):
    """Alias tables of the fused pulsed-link walk.

    Skips: outcome g < K − 1 (K = ``geo_prob.size`` >> GEOMETRIC_TABLE_PAD_BITS) is a
    skip of g slots with the geometric law P(g) = (1 − p)^g·p, p = ``p_max``; outcome
    K − 1 means "at least K − 1" (the walk adds K − 1 and draws again, exact because the
    law is memoryless); the cells beyond K carry weight 0 (see the firing patterns).
    Firing patterns: for code c, outcome mask ≠ 0 (bit m = mode m fires) has probability
    Π_m (p_m or 1 − p_m) / p_max, and mask 0 (no mode fires: the candidate is dropped)
    1 − p_any[c]/p_max. The masks fill ``mask_prob[c]``/``mask_alias[c]``, whose row may
    be longer than the 2^modes masks: the extra cells carry weight 0, so a draw landing
    there always takes its alias and only the few cells holding two masks branch
    unpredictably (a sixteenth of the draws or fewer instead of about half).
    """
    k = geo_prob.size >> GEOMETRIC_TABLE_PAD_BITS
    if p_max >= GEOMETRIC_TABLE_MIN_P:
        weights = np.zeros(geo_prob.size)
        q = 1.0 - p_max
        for g in range(k - 1):
            weights[g] = p_max * q**g
        weights[k - 1] = q ** (k - 1)
        alias_table(weights, geo_prob, geo_alias)
    n_modes = p_modes.shape[1]
    n_masks = 1 << n_modes
    weights = np.zeros(mask_prob.shape[1])
    for c in range(16):
        if p_any[c] <= 0.0:  # every draw goes to the alias, mask 0: nothing fires
            mask_prob[c, :] = 0.0
            mask_alias[c, :] = 0
            continue
        for mask in range(n_masks):
            w = 1.0
            for m in range(n_modes):
                w *= p_modes[c, m] if (mask >> m) & 1 else 1.0 - p_modes[c, m]
            weights[mask] = w / p_max
        weights[0] = max(0.0, 1.0 - p_any[c] / p_max)
        alias_table(weights, mask_prob[c], mask_alias[c])


@numba.njit(cache=True, nogil=True)
def pulsed_link_chunk(
    first_slot,
    n_slots,
    pattern,
    period_whole_ps,
    period_remainder,
    period_denominator,
    phase,
    base_ps,
    offsets,
    mode_src,
    p_max,
    geo_prob,
    geo_alias,
    mask_prob,
    mask_alias,
    counts,
    state,
    times,
    srcs,
    sigma,
    normal_table,
):
    """Detected photons of all modes of one pulsed link, in slot order.

    Slot ``first_slot + k`` is at ``base_ps`` + round-half-up(k·q + (phase + k·r)/d) ps, in
    integers (period q + r/d ps: ``period_whole_ps``, ``period_remainder``,
    ``period_denominator``; ``phase`` = first_slot·r mod d; ``base_ps`` holds the first
    slot's whole ps, the link delay and minus the tagger's clock origin, see
    :class:`qnetlab.sim_backends.world.clock.SlotClock`): exact at any slot index.
    Mode m (time offset ``offsets[m]``, sorted ascending, feeding source ``mode_src[m]``)
    fires on a slot of pattern code c with probability p_m(c), independently of the other
    modes (a split coherent state). Candidate slots come with geometric skips at
    ``p_max`` (at least the largest p_any(c) = 1 − Π(1 − p_m(c)) among the codes in use);
    on each, one draw from the code's table (:func:`link_tables`) gives the set of modes
    that fire, or none with probability 1 − p_any(c)/p_max. This is the exact joint law of
    independent modes at a cost proportional to the clicks. Writes ``times``/``srcs``
    (sorted when the largest offset is below the period; ``counts[source]`` grows per
    photon) and returns ``(n_written, slots_done)``: when the buffers fill up it stops and
    the caller continues from ``first_slot + slots_done`` (exact: the skips are memoryless).
    A click of source s gets a Gaussian jitter of rms ``sigma[s]`` (see :func:`_jitter`;
    the stream is then only nearly sorted: the caller restores the order).
    """
    n_modes = offsets.size
    mask_bits = 0
    while (1 << mask_bits) < mask_prob.shape[1]:
        mask_bits += 1
    mask_shift = np.uint64(64 - mask_bits)
    size = pattern.size
    cap = times.size
    if p_max <= 0.0 or n_slots <= 0:
        return 0, n_slots
    use_table = p_max >= GEOMETRIC_TABLE_MIN_P
    geo_shift = np.uint64(64 - GEOMETRIC_TABLE_BITS)
    geo_tail = (geo_prob.size >> GEOMETRIC_TABLE_PAD_BITS) - 1
    low53 = np.uint64((1 << 53) - 1)
    inv_rate = 1.0 / -math.log1p(-p_max) if p_max < 1.0 else 0.0
    x = state[0]
    n = 0
    k = np.int64(-1)
    pos = (first_slot - 1) % size  # pattern position of slot first_slot + k (no division per click)
    while True:
        if n + n_modes > cap:
            state[0] = x
            return n, k + 1
        previous = k
        if use_table:
            skip = np.int64(0)
            while True:
                x += _GOLDEN
                z = _mix(x)
                g = np.int64(z >> geo_shift)
                if np.float64(np.int64(z & low53)) * _TWO_M53 >= geo_prob[g]:
                    g = geo_alias[g]
                if g < geo_tail:
                    break
                skip += geo_tail
                if k + 1 + skip >= n_slots:
                    break
            k += 1 + skip + g
            if k >= n_slots:
                break
        else:
            x += _GOLDEN
            gap = _exp(_mix(x)) * inv_rate  # float: a tiny p_max makes it far larger than any int64
            if k + 1 + gap >= n_slots:
                break
            k += 1 + np.int64(gap)
        if size == 1:
            code = pattern[0]
        else:
            pos += k - previous
            if pos >= size:
                pos %= size
            code = pattern[pos]
        x += _GOLDEN
        z = _mix(x)
        cell = np.int64(z >> mask_shift)
        mask = cell
        if np.float64(np.int64(z & low53)) * _TWO_M53 >= mask_prob[code, cell]:  # predictable: see link_tables
            mask = mask_alias[code, cell]
        if mask == 0:
            continue
        if period_remainder == 0:  # an integer period (80 MHz: 12500 ps): no division
            base = base_ps + k * period_whole_ps
        else:
            base = base_ps + k * period_whole_ps + (k // period_denominator) * period_remainder
            base += (2 * (phase + (k % period_denominator) * period_remainder) + period_denominator) // (
                2 * period_denominator
            )
        while True:  # usually one mode: the lowest set bit, then the rest
            m = _LOWEST_BIT[mask]
            s = mode_src[m]
            x += _GOLDEN
            times[n] = base + offsets[m] + _jitter(_mix(x), sigma[s], normal_table)
            srcs[n] = s
            counts[s] += 1
            n += 1
            mask &= mask - 1
            if mask == 0:
                break
    state[0] = x
    return n, n_slots


def pulsed_link_events(
    first_slot,
    n_slots,
    pattern,
    period_whole_ps,
    period_remainder,
    period_denominator,
    phase,
    base_ps,
    offsets,
    mode_src,
    p_modes,
    p_any,
    p_max,
    counts,
    state,
    sigma=None,
    normal_table=None,
    buffers=None,
    threads=1,
):
    """Detected photons of all modes of one pulsed link: ``(times, sources)`` (see :func:`pulsed_link_chunk`).

    ``p_modes[c, m]``: probability that mode m fires on a slot of code c; ``p_any[c]``:
    that at least one does; ``p_max`` ≥ p_any of every code in use. With ``sigma`` (per
    source) and ``normal_table`` the clicks carry their jitter and come sorted again.
    ``buffers(size, part)`` may supply reusable (times, sources) arrays of at least
    ``size``. With ``threads=2`` the second half of the slots is walked in a second thread
    (the kernel releases the GIL) from a generator state derived from ``state``.
    """
    if sigma is None:
        sigma = np.zeros(int(mode_src.max()) + 1)
        normal_table = np.zeros(65536)
    n_modes = offsets.size
    if n_modes > 8:
        raise ValueError(f"a pulsed link has {n_modes} modes: at most 8 are supported")
    geo_prob = np.ones(1 << GEOMETRIC_TABLE_BITS)
    geo_alias = np.zeros(1 << GEOMETRIC_TABLE_BITS, np.int64)
    mask_cells = 1 << max(MASK_TABLE_MIN_BITS, n_modes + 2)
    mask_prob = np.ones((16, mask_cells))
    mask_alias = np.zeros((16, mask_cells), np.int64)
    link_tables(p_modes, p_any, p_max, geo_prob, geo_alias, mask_prob, mask_alias)
    per_slot = float(p_modes.max(axis=0).sum())

    def walk(first, count, counts, state, part):
        done_before = first - first_slot  # slots of this part before its first
        expected = per_slot * count
        cap = int(expected * 1.02 + 8 * math.sqrt(expected) + 64 + n_modes)
        parts = []
        while True:
            if buffers is not None and not parts:
                times, srcs = buffers(cap, part)
            else:
                times, srcs = np.empty(cap, np.int64), np.empty(cap, np.int32)
            n, done = pulsed_link_chunk(
                first,
                count,
                pattern,
                period_whole_ps,
                period_remainder,
                period_denominator,
                *_moved(done_before, period_whole_ps, period_remainder, period_denominator, phase, base_ps),
                offsets,
                mode_src,
                p_max,
                geo_prob,
                geo_alias,
                mask_prob,
                mask_alias,
                counts,
                state,
                times,
                srcs,
                sigma,
                normal_table,
            )
            parts.append((times[:n], srcs[:n]))
            if done >= count:
                return parts
            first, count = first + done, count - done
            done_before += done

    if threads > 1 and n_slots >= 200_000:
        half = n_slots // 2
        counts_2 = np.zeros_like(counts)
        state_2 = np.array([(int(state[0]) * 0xD1B54A32D192ED03 + 0x8BB84B93962EACC9) % 2**64], np.uint64)
        later = worker().submit(walk, first_slot + half, n_slots - half, counts_2, state_2, 1)
        parts = walk(first_slot, half, counts, state, 0)
        parts += later.result()
        counts += counts_2
    else:
        parts = walk(first_slot, n_slots, counts, state, 0)
    if len(parts) == 1:
        times, srcs = parts[0]
    else:
        times, srcs = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    restore_order_pairs(times, srcs)  # jitter, and modes more than a period apart
    return times, srcs


def _moved(k, whole, remainder, denominator, phase, base_ps):
    """(phase, base_ps) of the slot k after the one ``phase``/``base_ps`` describe (exact ints)."""
    k = int(k)
    carried = phase + (k % denominator) * remainder
    base = int(base_ps) + k * whole + (k // denominator) * remainder + carried // denominator
    return np.int64(carried % denominator), np.int64(base)


_WORKER = None


def worker():
    """The world's one worker thread (created on first use): the second half of a link's
    walk, or the next slice's walks drawn ahead (:mod:`sim_backends.world.prefetch`); jobs
    queue on it, and none waits on another."""
    global _WORKER
    if _WORKER is None:
        from concurrent.futures import ThreadPoolExecutor

        _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-world")
    return _WORKER

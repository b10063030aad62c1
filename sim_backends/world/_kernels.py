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
        return _dead_time_with_afterpulses(
            merged, dead_time_ps, last_click_ps, afterpulse_p, afterpulse_tau_ps, stop_ps
        )
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


# --- the fused world pipeline --------------------------------------------------------------
#
# Random numbers: SplitMix64, a counter-based generator. The state is one uint64 counter
# (``state[0]``, drawn from the world's numpy Generator at every acquisition); each draw
# adds the golden-ratio increment and mixes the counter. Kept in a local variable, a draw
# costs about a ns (numba's np.random.random() costs ~6 ns).

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0


@numba.njit(inline="always")
def _mix(x):
    z = (x ^ (x >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(inline="always")
def _unit(z):
    """Uniform on [0, 1) from the top 53 bits of a draw."""
    return np.float64(np.int64(z >> np.uint64(11))) * _TWO_M53


@numba.njit(inline="always")
def _exp(z):
    """Standard exponential, −ln U with U uniform on (0, 1], from a draw."""
    return -math.log(np.float64(np.int64(z >> np.uint64(11)) + 1) * _TWO_M53)


@numba.njit(inline="always")
def _jitter(z, sigma, normal_table):
    """A Gaussian offset (int64 ps, rms ``sigma``): 16 bits of a draw pick one of the
    65536 mid-quantiles of N(0, 1) in ``normal_table`` (tails cut at ±4.3σ)."""
    return np.int64(math.floor(sigma * normal_table[np.int64(z >> np.uint64(48))] + 0.5))


@numba.njit(cache=True, nogil=True)
def add_jitter(times, srcs, sigma, normal_table, state):
    """Add each event's Gaussian jitter (rms ``sigma[source]``) in place."""
    x = state[0]
    for i in range(times.size):
        x += _GOLDEN
        times[i] += _jitter(_mix(x), sigma[srcs[i]], normal_table)
    state[0] = x


@numba.njit(cache=True)
def uniforms(n, state):
    """n uniform draws of the world's generator (for tests of the generator itself)."""
    x = state[0]
    out = np.empty(n, np.float64)
    for i in range(n):
        x += _GOLDEN
        out[i] = _unit(_mix(x))
    state[0] = x
    return out


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
    period_ps,
    delay_ps,
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
        slot = first_slot + k
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
        base = np.int64(round(slot * period_ps)) + delay_ps
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
    period_ps,
    delay_ps,
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
                period_ps,
                delay_ps,
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

    if threads > 1 and n_slots >= 200_000:
        half = n_slots // 2
        counts_2 = np.zeros_like(counts)
        state_2 = np.array([(int(state[0]) * 0xD1B54A32D192ED03 + 0x8BB84B93962EACC9) % 2**64], np.uint64)
        later = _pool().submit(walk, first_slot + half, n_slots - half, counts_2, state_2, 1)
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


_POOL = None


def _pool():
    """The world's one worker thread (created on first use): the second half of a link's
    walk, or the next slice's walks drawn ahead (:mod:`sim_backends.world.prefetch`); jobs
    queue on it, and none waits on another."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-world")
    return _POOL


@numba.njit(cache=True, nogil=True)
def pair_chunk(
    start_ps, t0, span, rate_per_ps, p_sides, joint_cum, keep_ratio, role_src, delay_b_ps, counts, state, ta, sa, tb, sb
):
    """Detected photons of an SPDC pair source, time-ordered.

    Pairs with at least one photon detected come as a Poisson process at ``rate_per_ps``;
    each has side A only, B only or both with probabilities ``p_sides`` (3, summing to 1),
    analyzer outcome (TT, TR, RT, RR) from the cumulative ``joint_cum``; the photon at
    role r (A_T, A_R, B_T, B_R) is kept with ``keep_ratio[r]`` (its detector's efficiency
    relative to the best on that side) and goes to source ``role_src[r]`` (−1: not
    recorded). Side B's photons come ``delay_b_ps`` later. Pairs are drawn from
    ``start_ps + t0`` to ``start_ps + span`` into the buffers ``ta``/``sa`` (side A) and
    ``tb``/``sb`` (side B); returns ``(n_a, n_b, t_reached)``, stopping early when a buffer
    is full (the caller continues from ``t_reached``: a Poisson process is memoryless).
    """
    na = nb = 0
    cap = ta.size
    x = state[0]
    inv = 1.0 / rate_per_ps
    t = t0
    a_only = p_sides[0]
    b_only = a_only + p_sides[1]
    while True:
        if na == cap or nb == cap:
            state[0] = x
            return na, nb, t
        x += _GOLDEN
        t += _exp(_mix(x)) * inv
        if t >= span:
            break
        when = start_ps + np.int64(t)
        x += _GOLDEN
        u = _unit(_mix(x))
        fired_a = u < a_only or u >= b_only
        fired_b = u >= a_only
        x += _GOLDEN
        v = _unit(_mix(x))
        outcome = 0
        while outcome < 3 and v >= joint_cum[outcome]:
            outcome += 1
        if fired_a:
            role = outcome // 2
            s = role_src[role]
            keep = s >= 0
            if keep and keep_ratio[role] < 1.0:
                x += _GOLDEN
                keep = _unit(_mix(x)) < keep_ratio[role]
            if keep:
                ta[na] = when
                sa[na] = s
                counts[s] += 1
                na += 1
        if fired_b:
            role = 2 + outcome % 2
            s = role_src[role]
            keep = s >= 0
            if keep and keep_ratio[role] < 1.0:
                x += _GOLDEN
                keep = _unit(_mix(x)) < keep_ratio[role]
            if keep:
                tb[nb] = when + delay_b_ps
                sb[nb] = s
                counts[s] += 1
                nb += 1
    state[0] = x
    return na, nb, span


def pair_events(start_ps, stop_ps, rate_per_ps, p_sides, joint_cum, keep_ratio, role_src, delay_b_ps, counts, state):
    """Detected photons of an SPDC pair source, time-ordered ``(times, sources)`` (see :func:`pair_chunk`)."""
    span = float(stop_ps - start_ps)
    expected = rate_per_ps * span
    cap = int(expected * 1.02 + 8 * math.sqrt(expected) + 64)
    t = 0.0
    a_parts, b_parts = [], []
    while t < span:
        ta, tb = np.empty(cap, np.int64), np.empty(cap, np.int64)
        sa, sb = np.empty(cap, np.int32), np.empty(cap, np.int32)
        na, nb, t = pair_chunk(
            start_ps,
            t,
            span,
            rate_per_ps,
            p_sides,
            joint_cum,
            keep_ratio,
            role_src,
            delay_b_ps,
            counts,
            state,
            ta,
            sa,
            tb,
            sb,
        )
        a_parts.append((ta[:na], sa[:na]))
        b_parts.append((tb[:nb], sb[:nb]))
    if not a_parts:
        return np.empty(0, np.int64), np.empty(0, np.int32)
    side_a = tuple(np.concatenate(part) for part in zip(*a_parts, strict=False))
    side_b = tuple(np.concatenate(part) for part in zip(*b_parts, strict=False))
    return merge_streams(*side_a, *side_b)


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


@numba.njit(cache=True, nogil=True)
def jitter_merge(times_a, srcs_a, times_b, srcs_b, enabled, sigma, normal_table, state):
    """Merge two sorted event streams, drop disabled sources, add Gaussian jitter, re-sort.

    The jitter of source s is ``sigma[s]`` times an entry of ``normal_table`` (the 65536
    mid-quantiles of N(0, 1)) picked by 16 random bits, rounded to a ps.
    """
    n_a = times_a.size
    n_b = times_b.size
    out_t = np.empty(n_a + n_b, np.int64)
    out_s = np.empty(n_a + n_b, np.int32)
    x = state[0]
    i = j = 0
    n = 0
    while i < n_a or j < n_b:
        if j >= n_b or (i < n_a and times_a[i] <= times_b[j]):
            t = times_a[i]
            s = srcs_a[i]
            i += 1
        else:
            t = times_b[j]
            s = srcs_b[j]
            j += 1
        if not enabled[s]:
            continue
        sg = sigma[s]
        if sg > 0.0:
            x += _GOLDEN
            t += np.int64(math.floor(sg * normal_table[np.int64(_mix(x) >> np.uint64(48))] + 0.5))
        out_t[n] = t
        out_s[n] = s
        n += 1
    state[0] = x
    restore_order_pairs(out_t[:n], out_s[:n])
    return out_t[:n], out_s[:n]


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
    ``pending`` holds each source's scheduled afterpulse (−1: none). Stops early when the
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
        if next_pending < never and next_pending < min(next1, next2):
            t = next_pending
            s = 0
            for r in range(n_src):
                if pending[r] == t:
                    s = r
                    break
            pending[s] = -1
            next_pending = _earliest(pending, never)
            if t >= stop_ps:
                continue
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
):
    """Detector dead time and afterpulsing, then the tagger inputs, in one ordered pass.

    ``times``/``srcs`` and ``times2``/``srcs2``: two time-sorted event streams (jitter
    included) of sources s, merged as they are read; events of sources not ``enabled``
    are dropped. Source s registers a click when it comes ``dead[s]`` after its last
    registered one (``last`` is updated in place, carried across slices); after a
    registered click an afterpulse follows with probability ``ap_p[s]`` at ``dead[s]`` +
    Exp(``ap_tau[s]``) (dropped when it falls after ``stop_ps``; a later afterpulse
    replaces a pending one). Each click of s goes to the tagger inputs
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

"""The SPDC pair source's draws: Poisson pair times, which sides and ports fire."""

from __future__ import annotations

import math

import numba
import numpy as np

from qnetlab.sim_backends.world.kernels.splitmix import _GOLDEN, _exp, _mix, _unit
from qnetlab.sim_backends.world.kernels.streams import merge_streams


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

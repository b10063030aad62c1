"""Sort detector tags by the state Alice sent in their slot: the (state x detector) count table."""

from __future__ import annotations

import numpy as np


def counts_by_sent_state(
    timestamps_ps: np.ndarray,
    channels: np.ndarray,
    detector_channels,
    slot_states: np.ndarray,
    period_ps: float,
    slot0_ps: int,
    n_states: int,
    gate_ps: float | None = None,
) -> np.ndarray:
    """Counts (n_states, detectors) of clicks by the state sent in each click's slot.

    Parameters
    ----------
    timestamps_ps, channels : the tag stream (int64 ps, channel numbers)
    detector_channels : tagger channels of the detectors, in the column order wanted
        (for a BB84 receiver: H, V, D, A)
    slot_states : state index sent in each slot of Alice's repeating pattern (slot s
        sends ``slot_states[s % len]``); −1 marks slots to ignore
    period_ps : pulse period (ps)
    slot0_ps : arrival time at the tagger of slot 0 (fiber and input delays included), ps
    n_states : number of rows
    gate_ps : keep only clicks within ± this of their slot's centre (None: all; dark
        counts then land in slots at random)
    """
    t = np.asarray(timestamps_ps, np.int64)
    c = np.asarray(channels)
    states = np.asarray(slot_states, np.int64)
    if t.shape != c.shape:
        raise ValueError(f"timestamps_ps and channels differ in length: {t.shape} vs {c.shape}")
    if period_ps <= 0:
        raise ValueError(f"period_ps must be > 0, got {period_ps}")
    if states.size == 0 or states.max(initial=-1) >= n_states:
        raise ValueError(f"slot_states must be non-empty with values < n_states={n_states}")
    out = np.zeros((n_states, len(detector_channels)), np.int64)
    phase = (t - int(slot0_ps)) / float(period_ps)
    slot = np.rint(phase).astype(np.int64)
    keep = np.ones(t.size, bool) if gate_ps is None else np.abs(phase - slot) * period_ps <= gate_ps
    state = states[slot % states.size]
    for column, channel in enumerate(detector_channels):
        mine = keep & (c == channel) & (state >= 0)
        out[:, column] = np.bincount(state[mine], minlength=n_states)[:n_states]
    return out


def correct_dead_time(counts: np.ndarray, duration_ps: int, dead_time_ps: float) -> np.ndarray:
    """Counts (states, detectors) scaled for each detector's non-paralyzable dead time.

    A detector registering R clicks/s is blind for R·τ of the time, uniformly over the
    slots when the pattern is much shorter than the acquisition, so each of its columns is
    divided by 1 − R·τ. Unequal rates on the two detectors of a basis would otherwise
    compress the measured Stokes components.
    """
    n = np.asarray(counts, float)
    if duration_ps <= 0 or dead_time_ps < 0:
        raise ValueError(f"duration_ps must be > 0 and dead_time_ps >= 0, got {duration_ps} and {dead_time_ps}")
    blind = n.sum(axis=0) / duration_ps * dead_time_ps
    if np.any(blind >= 1):
        raise ValueError(f"detector rates saturate the dead time (blind fraction {blind.max():.2f} >= 1)")
    return n / (1 - blind)

"""Alice's reference pattern for polarization compensation, and finding its slot 0 in Bob's tags.

The pattern alternates H (Z basis, bit 0) and D (X basis, bit 0); its first
``MARKER_SLOTS`` slots are sent at the decoy level. Which slot a click belongs to is
known only up to the fiber delay: the sync (one marker per pattern repetition) gives the
repetition, the clicks' arrival phase gives the slot grid, and the dip of the decoy
marker in the clicks per slot (the total over a basis's detectors does not depend on the
polarization) gives slot 0. Without the marker, H and D could not be told apart: the
swap is itself a rotation that predicts the same counts.
"""

from __future__ import annotations

import numpy as np

from qnetlab.analysis.calibration.reference_counts import correct_dead_time, counts_by_sent_state

PATTERN_SLOTS = 64
MARKER_SLOTS = 4


def reference_pattern(slots: int = PATTERN_SLOTS, marker_slots: int = MARKER_SLOTS) -> np.ndarray:
    """Pattern codes (bit | basis << 1 | level << 2): H, D alternating, the first ``marker_slots`` at decoy."""
    basis = np.arange(slots) % 2
    level = (np.arange(slots) < marker_slots).astype(np.uint8)
    return (basis.astype(np.uint8) << 1 | level << 2).astype(np.uint8)


def find_slot0_ps(
    timestamps_ps: np.ndarray,
    channels: np.ndarray,
    *,
    sync_channel: int,
    detector_channels,
    period_ps: float,
    slots: int = PATTERN_SLOTS,
    marker_slots: int = MARKER_SLOTS,
) -> int:
    """Arrival time (ps) at the tagger of a slot 0 of the reference pattern, from sync and clicks.

    Raises ValueError naming what is missing (no sync tags, no clicks, no marker dip).
    """
    t = np.asarray(timestamps_ps, np.int64)
    c = np.asarray(channels)
    sync = t[c == sync_channel]
    if sync.size == 0:
        raise ValueError(f"no sync tags on channel {sync_channel}: is Alice's sync cabled and her pattern running?")
    clicks = t[np.isin(c, list(detector_channels))]
    if clicks.size < 20 * slots:
        raise ValueError(f"only {clicks.size} clicks on channels {list(detector_channels)}: too few to find slot 0")
    relative = (clicks - sync[0]).astype(np.float64)
    angle = 2 * np.pi * np.mod(relative, period_ps) / period_ps
    phase_ps = float(np.mod(np.angle(np.mean(np.exp(1j * angle))), 2 * np.pi) / (2 * np.pi) * period_ps)
    slot = np.mod(np.rint((relative - phase_ps) / period_ps).astype(np.int64), slots)
    per_slot = np.bincount(slot, minlength=slots).astype(float)
    marker = np.sum([np.roll(per_slot, -j) for j in range(marker_slots)], axis=0)  # clicks in slots s .. s+m-1
    first = int(np.argmin(marker))
    if not marker[first] < 0.8 * np.median(marker):
        raise ValueError("no decoy marker dip in the clicks per slot: is the reference pattern running?")
    return int(sync[0] + round(phase_ps) + first * period_ps)


def reference_counts(
    timestamps_ps: np.ndarray,
    channels: np.ndarray,
    *,
    sync_channel: int,
    detector_channels,
    period_ps: float,
    duration_ps: int,
    dead_time_ps: float,
    slots: int = PATTERN_SLOTS,
    marker_slots: int = MARKER_SLOTS,
) -> np.ndarray:
    """(2, 4) dead-time-corrected counts (H, D sent x H, V, D, A detected), marker slots left out."""
    slot0 = find_slot0_ps(
        timestamps_ps,
        channels,
        sync_channel=sync_channel,
        detector_channels=detector_channels,
        period_ps=period_ps,
        slots=slots,
        marker_slots=marker_slots,
    )
    states = np.arange(slots) % 2
    states[:marker_slots] = -1
    counts = counts_by_sent_state(
        timestamps_ps, channels, detector_channels, states, period_ps, slot0, 2, gate_ps=period_ps / 4
    )
    return correct_dead_time(counts, duration_ps, dead_time_ps)

"""Tagger input delays from Alice's sync and her reference pattern (no pair source needed).

The sync marks slot 0 of every repetition of Alice's pattern. Folded on the pulse period,
a detector's clicks after the last sync form one peak that repeats every pulse: its
position in the period (the *phase*) is fitted to a fraction of a bin
(:func:`~qnetlab.analysis.calibration.delays.peak_position_ps`). The peaks alone cannot say
which pulse is slot 0; the pattern can: its first ``marker_slots`` slots are sent at the
decoy level, so the clicks per slot dip there. A window of an even number of slots of the
H/D-alternating reference holds as many H as D, so every detector sees the dip whatever
the polarization. The arrival of slot 0 after the sync is then
``offset = marker slot · period + phase`` (modulo the repetition, ``slots · period``), and
``new delay = old delay − offset`` puts slot 0 on the sync, the same for every channel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qnetlab.analysis.calibration.delays import Peak, peak_position_ps

MARKER_DIP = 0.8  # the marker window must hold under this fraction of the median window's clicks


@dataclass(frozen=True)
class SyncOffset:
    """One channel's slot 0 after the sync: offset (ps) and its 1σ error, the marker slot and pulse phase.

    ``offset_ps`` = ``slot`` · period + ``phase_ps``, shifted by a whole repetition when that
    puts it nearer the other channels' (see :func:`sync_offsets_ps`); ``marker_depth`` is the
    clicks in the marker window over the median window (the decoy's relative intensity).
    """

    channel: int
    offset_ps: float
    offset_err_ps: float
    slot: int
    phase_ps: float
    sigma_ps: float
    clicks: int
    marker_depth: float


def time_since_sync_ps(timestamps_ps, channels, sync_channel: int, channel: int, repetition_ps: float) -> np.ndarray:
    """Each click of ``channel`` minus the last sync before it (int64 ps), clicks within one repetition only."""
    t = np.asarray(timestamps_ps, np.int64)
    c = np.asarray(channels)
    sync = t[c == sync_channel]
    clicks = t[c == channel]
    last = np.searchsorted(sync, clicks, side="right") - 1
    seen = last >= 0
    since = clicks[seen] - sync[last[seen]]
    return since[since < repetition_ps]


def phase_histogram(since_ps: np.ndarray, period_ps: float, centre_ps: float, bin_width_ps: int):
    """(counts, bin edges) of the clicks' time in the period, within ± period/2 of ``centre_ps`` (ps)."""
    residual = np.mod(since_ps - centre_ps + period_ps / 2, period_ps) - period_ps / 2
    n_bins = max(int(period_ps // bin_width_ps), 2)
    edges = (np.arange(n_bins + 1) - n_bins / 2) * bin_width_ps
    return np.histogram(residual, edges)[0], edges


def clicks_per_slot(since_ps: np.ndarray, period_ps: float, phase_ps: float, slots: int) -> np.ndarray:
    """Clicks in each slot of the repetition, counting only those within ± period/4 of their pulse."""
    pulses = (since_ps - phase_ps) / period_ps
    pulse = np.rint(pulses).astype(np.int64)
    near = np.abs(pulses - pulse) <= 0.25
    return np.bincount(np.mod(pulse[near], slots), minlength=slots)[:slots]


def fit_phase_ps(since_ps: np.ndarray, period_ps: float, bin_width_ps: int) -> tuple[float, Peak]:
    """The clicks' phase in the period (ps, in [0, period)) to a fraction of a bin, and the fitted peak."""
    angle = 2 * np.pi * np.mod(since_ps, period_ps) / period_ps
    coarse = float(np.mod(np.angle(np.mean(np.exp(1j * angle))), 2 * np.pi) / (2 * np.pi) * period_ps)
    hist, edges = phase_histogram(since_ps, period_ps, coarse, bin_width_ps)
    peak = peak_position_ps(hist, edges)
    return float(np.mod(coarse + peak.centre_ps, period_ps)), peak


def channel_sync_offset(
    timestamps_ps,
    channels,
    sync_channel: int,
    channel: int,
    *,
    period_ps: float,
    slots: int,
    marker_slots: int,
    bin_width_ps: int = 10,
) -> SyncOffset:
    """Slot 0's arrival after the sync on ``channel`` (offset in [0, slots · period + period)).

    Raises ValueError naming the channel when it has too few clicks or no marker dip.
    """
    repetition = slots * period_ps
    since = time_since_sync_ps(timestamps_ps, channels, sync_channel, channel, repetition)
    if since.size < 20 * slots:
        raise ValueError(f"channel {channel}: only {since.size} clicks after a sync on channel {sync_channel}")
    phase, peak = fit_phase_ps(since, period_ps, bin_width_ps)
    per_slot = clicks_per_slot(since, period_ps, phase, slots).astype(float)
    window = np.sum([np.roll(per_slot, -j) for j in range(marker_slots)], axis=0)  # slots s .. s + m - 1
    first = int(np.argmin(window))
    depth = float(window[first] / max(np.median(window), 1.0))
    if not depth < MARKER_DIP:
        raise ValueError(
            f"channel {channel}: no decoy marker dip in the clicks per slot (deepest {depth:.2f} of the median): "
            "is Alice sending the reference pattern?"
        )
    return SyncOffset(
        int(channel), first * period_ps + phase, peak.centre_err_ps, first, phase, peak.sigma_ps, int(since.size), depth
    )


def sync_offsets_ps(
    timestamps_ps,
    channels,
    sync_channel: int,
    detector_channels,
    *,
    period_ps: float,
    slots: int,
    marker_slots: int,
    bin_width_ps: int = 10,
) -> dict[int, SyncOffset]:
    """Slot 0's arrival after the sync (ps) on each of ``detector_channels``, in one common repetition.

    The first channel's offset is taken in [−R/2, R/2) (R = ``slots`` · ``period_ps``: the
    smallest delay change); each other channel's is the one of its values (± whole
    repetitions) nearest the first's, so channels a repetition apart are not split by the
    wrap. Raises ValueError when the sync does not repeat every ``slots`` pulses.
    """
    t = np.asarray(timestamps_ps, np.int64)
    c = np.asarray(channels)
    sync = t[c == sync_channel]
    repetition = slots * period_ps
    if sync.size < 2:
        raise ValueError(f"{sync.size} sync tags on channel {sync_channel}: is Alice's sync cabled and running?")
    spacing = float(np.median(np.diff(sync)))
    if abs(spacing - repetition) > period_ps / 2:
        raise ValueError(
            f"the sync on channel {sync_channel} repeats every {spacing:.0f} ps, not every {slots} pulses "
            f"({repetition:.0f} ps): is Alice's {slots}-slot reference pattern running?"
        )
    out: dict[int, SyncOffset] = {}
    reference: float | None = None
    for channel in detector_channels:
        found = channel_sync_offset(
            t,
            c,
            sync_channel,
            int(channel),
            period_ps=period_ps,
            slots=slots,
            marker_slots=marker_slots,
            bin_width_ps=bin_width_ps,
        )
        if reference is None:
            reference = offset = wrapped_offset_ps(found.offset_ps, slots, period_ps)
        else:
            offset = found.offset_ps + round((reference - found.offset_ps) / repetition) * repetition
        out[int(channel)] = replace(found, offset_ps=float(offset))
    return out


def wrapped_offset_ps(offset_ps: float, slots: int, period_ps: float) -> float:
    """``offset_ps`` taken in [−R/2, R/2), R = ``slots`` · ``period_ps``: how far slot 0 is from the sync."""
    repetition = slots * period_ps
    return float(np.mod(offset_ps + repetition / 2, repetition) - repetition / 2)

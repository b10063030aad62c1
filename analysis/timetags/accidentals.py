"""Accidental coincidences and the coincidence-to-accidental ratio (CAR).

Definitions
-----------
*Expected accidentals* for uncorrelated Poisson streams on K channels with ``N_q`` tags
each over ``T`` ps, with the inclusive window of :mod:`.coincidences` (spread of the
K delayed times ``<= W``): on the integer-ps lattice the number of relative positions
of K-1 tags around a given tag with spread ``<= W`` is ``(W+1)^K - W^K`` (``2W + 1``
for a pair), hence ``A = (Π N_q) · ((W+1)^K - W^K) / T^(K-1)`` (edge effects ignored).

*Offset accidentals* are measured: the coincidence count with the j-th channel of the
set (j = 0, 1, ...) shifted by ``j · offset`` ps, averaged over the given offsets, which
must lie far outside the correlation peak.

*CAR* is ``coincidences / accidentals`` (not background subtracted).
"""

import math

import numpy as np

from .coincidences import count_coincidences


def expected_accidentals(counts, window_ps, duration_ps):
    """Expected accidental coincidences for uncorrelated streams.

    Parameters
    ----------
    counts : sequence of int
        Tags per channel of the set (K >= 2 values).
    window_ps : int
        Coincidence window (largest allowed spread), ps.
    duration_ps : int
        Acquisition duration, ps.

    Returns
    -------
    float
    """
    k = len(counts)
    if k < 2 or duration_ps <= 0:
        raise ValueError(f"need >= 2 counts and duration_ps > 0, got {counts!r}, {duration_ps}")
    w = int(window_ps)
    cells = (w + 1) ** k - w**k
    return math.prod(float(n) for n in counts) * cells / float(duration_ps) ** (k - 1)


def offset_accidentals(timestamps_ps, channels, channel_set, window_ps, offsets_ps, delays_ps=None):
    """Mean coincidence count with the j-th channel shifted by ``j · offset``.

    Parameters
    ----------
    timestamps_ps, channels : arrays
        The stream (int64 ps, sorted; channel numbers).
    channel_set : sequence of int
        Channels of the coincidence.
    window_ps : int
        Coincidence window, ps.
    offsets_ps : sequence of int
        Offsets in ps, each far from the correlation peak (e.g. several pulse periods).
    delays_ps : mapping of int to int, optional
        Base delays, ps.

    Returns
    -------
    float
    """
    delays_ps = dict(delays_ps or {})
    values = []
    for off in offsets_ps:
        shifted = {int(q): int(delays_ps.get(int(q), 0)) + j * int(off) for j, q in enumerate(channel_set)}
        values.append(count_coincidences(timestamps_ps, channels, channel_set, window_ps, shifted))
    return float(np.mean(values)) if values else math.nan


def coincidence_to_accidental_ratio(coincidences, accidentals):
    """CAR = coincidences / accidentals (inf when accidentals == 0 < coincidences)."""
    if accidentals == 0:
        return math.inf if coincidences else math.nan
    return coincidences / accidentals

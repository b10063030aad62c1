"""Tagger input delays from the cross-correlation of correlated channels.

For a start channel a and a stop channel b, the correlation histogram of
Δ = (t_b + d_b) − (t_a + d_a) (:func:`qnetlab.analysis.timetags.correlation_histogram`) has
its coincidence peak at the b − a offset. The peak is located to sub-bin precision by a
Gaussian (plus flat accidentals) fitted with Poisson weights around the highest bin; the
delay that puts the peak at zero is d_b − Δ_peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit


@dataclass(frozen=True)
class Peak:
    """A fitted coincidence peak: centre and its 1σ error (ps), rms width (ps), counts in it, background per bin."""

    centre_ps: float
    centre_err_ps: float
    sigma_ps: float
    counts: float
    background: float


def _gauss(x, area, centre, sigma, background, width):
    return background + area * width / (np.sqrt(2 * np.pi) * sigma) * np.exp(-0.5 * ((x - centre) / sigma) ** 2)


def peak_position_ps(histogram, bin_edges_ps, half_window_bins: int = 25) -> Peak:
    """The coincidence peak of a correlation histogram, to a fraction of a bin.

    Parameters
    ----------
    histogram : counts per bin
    bin_edges_ps : the n + 1 bin edges (ps)
    half_window_bins : bins each side of the highest bin used in the fit

    Falls back to the centroid (background-subtracted) when the fit fails.
    """
    counts = np.asarray(histogram, float)
    edges = np.asarray(bin_edges_ps, float)
    if edges.size != counts.size + 1:
        raise ValueError(f"need n + 1 bin edges for n bins, got {edges.size} edges for {counts.size} bins")
    if counts.sum() <= 0:
        raise ValueError("the correlation histogram is empty: no coincidences to place a peak")
    width = float(edges[1] - edges[0])
    centres = (edges[:-1] + edges[1:]) / 2
    top = int(np.argmax(counts))
    lo, hi = max(0, top - half_window_bins), min(counts.size, top + half_window_bins + 1)
    x, y = centres[lo:hi], counts[lo:hi]
    background = float(np.median(np.concatenate([counts[:lo], counts[hi:]]))) if hi - lo < counts.size else 0.0
    signal = np.clip(y - background, 0, None)
    centroid = float(np.sum(x * signal) / max(signal.sum(), 1e-12))
    spread = float(np.sqrt(np.sum(signal * (x - centroid) ** 2) / max(signal.sum(), 1e-12))) or width
    guess = [max(signal.sum(), 1.0), centroid, max(spread, width / 4), background]
    try:
        params, cov = curve_fit(
            lambda xx, a, c, s, b: _gauss(xx, a, c, s, b, width),
            x,
            y,
            p0=guess,
            sigma=np.sqrt(np.maximum(y, 1.0)),
            absolute_sigma=True,
            bounds=([0, x[0], width / 20, 0], [np.inf, x[-1], (x[-1] - x[0]), np.inf]),
        )
        err = float(np.sqrt(cov[1, 1]))
        return Peak(float(params[1]), err, float(params[2]), float(params[0]), float(params[3]))
    except (RuntimeError, ValueError):
        err = spread / np.sqrt(max(signal.sum(), 1.0))
        return Peak(centroid, float(err), spread, float(signal.sum()), background)


def channel_delays_ps(
    timestamps_ps,
    channels,
    reference_channel: int,
    channels_to_align,
    *,
    bin_width_ps: int = 10,
    n_bins: int = 2000,
    delays_ps=None,
) -> dict[int, tuple[int, Peak]]:
    """Input delays (ps) that put each channel's coincidence peak with the reference at zero.

    Parameters
    ----------
    timestamps_ps, channels : the tag stream (int64 ps)
    reference_channel : the channel every other is aligned to (its delay is kept)
    channels_to_align : channels correlated with the reference (e.g. the pair partners)
    bin_width_ps, n_bins : correlation histogram (default ±10 ns in 10 ps bins)
    delays_ps : the input delays in force when the tags were taken (ps)

    Returns
    -------
    channel -> (new delay_ps, the fitted peak at the old delays)
    """
    from qnetlab.analysis.timetags import bin_edges_ps, correlation_histogram

    delays = {int(k): int(v) for k, v in dict(delays_ps or {}).items()}
    edges = bin_edges_ps(bin_width_ps, n_bins)
    out = {}
    for channel in channels_to_align:
        hist = correlation_histogram(timestamps_ps, channels, reference_channel, channel, bin_width_ps, n_bins, delays)
        if hist.sum() == 0:
            raise ValueError(
                f"channel {channel}: no tag pairs with channel {reference_channel} "
                f"within ±{n_bins * bin_width_ps // 2} ps"
            )
        peak = peak_position_ps(hist, edges)
        out[int(channel)] = (int(round(delays.get(int(channel), 0) - peak.centre_ps)), peak)
    return out

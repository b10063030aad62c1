"""Cross-correlation histograms (g2 style).

Definition
----------
For a start channel ``a`` and a stop channel ``b`` with delays ``d_a``, ``d_b`` (ps), every
pair of tags (one on ``a``, one on ``b``) has ``Δ = (t_b + d_b) - (t_a + d_a)``. Bin ``i``
(``0 <= i < n_bins``) counts the pairs with ``start_ps + i·w <= Δ < start_ps + (i+1)·w``,
``w = bin_width_ps`` (half-open bins). By default ``start_ps = -(n_bins·w) // 2``, so
Δ = 0 sits at the centre (on a bin edge when ``n_bins`` is even). With ``a == b`` each
tag also pairs with itself (Δ = 0).

The normalized ``g2`` divides each bin by the count expected for uncorrelated streams:
``N_a · N_b · w / T`` with ``T`` the acquisition duration in ps.
"""

import numpy as np

from . import _kernels
from .stream import StreamAnalysis, as_stream


def default_start_ps(bin_width_ps, n_bins):
    """Left edge of bin 0 that centres the histogram on Δ = 0, ps."""
    return -(int(n_bins) * int(bin_width_ps)) // 2


def bin_edges_ps(bin_width_ps, n_bins, start_ps=None):
    """The ``n_bins + 1`` bin edges in ps (int64)."""
    start_ps = default_start_ps(bin_width_ps, n_bins) if start_ps is None else int(start_ps)
    return start_ps + np.arange(int(n_bins) + 1, dtype=np.int64) * int(bin_width_ps)


def g2_normalize(histogram, count_a, count_b, bin_width_ps, duration_ps):
    """Normalized g2: ``histogram / (count_a · count_b · bin_width_ps / duration_ps)``.

    Parameters
    ----------
    histogram : array
        Counts per bin from :func:`correlation_histogram`.
    count_a, count_b : int
        Number of tags on the start and stop channels.
    bin_width_ps, duration_ps : int
        Bin width and acquisition duration, ps.
    """
    expected = float(count_a) * float(count_b) * float(bin_width_ps) / float(duration_ps)
    return np.asarray(histogram, dtype=float) / expected


class CorrelationCounter(StreamAnalysis):
    """Streaming correlation histogram over chunks (see the module docstring).

    Parameters
    ----------
    start_channel, stop_channel : int
        Channels ``a`` and ``b``; Δ = stop time − start time.
    bin_width_ps : int
        Bin width, ps (> 0).
    n_bins : int
        Number of bins (> 0).
    delays_ps : mapping of int to int, optional
        Delay added to each channel's tags, ps.
    start_ps : int, optional
        Left edge of bin 0 in Δ, ps; default centres the histogram on Δ = 0.
    """

    def __init__(self, start_channel, stop_channel, bin_width_ps, n_bins, delays_ps=None, start_ps=None):
        super().__init__()
        self.bin_width_ps = int(bin_width_ps)
        self.n_bins = int(n_bins)
        if self.bin_width_ps <= 0 or self.n_bins <= 0:
            raise ValueError(f"bin_width_ps and n_bins must be > 0, got {bin_width_ps} and {n_bins}")
        self.start_channel = int(start_channel)
        self.stop_channel = int(stop_channel)
        self.start_ps = default_start_ps(self.bin_width_ps, self.n_bins) if start_ps is None else int(start_ps)
        delays_ps = dict(delays_ps or {})
        self.shift_ps = int(delays_ps.get(self.start_channel, 0)) - int(delays_ps.get(self.stop_channel, 0))
        first = self.shift_ps + self.start_ps
        last = first + self.n_bins * self.bin_width_ps - 1
        self.lookback_ps = max(0, -first)
        self.lookahead_ps = max(0, last)
        self._acc = np.zeros(self.n_bins, np.int64)

    def _run(self, t, c, a0, a1, acc):
        _kernels.correlation(
            t, c, a0, a1, self.start_channel, self.stop_channel, self.shift_ps, self.start_ps, self.bin_width_ps, acc
        )

    def result(self):
        """Counts per bin over everything processed so far (int64 array)."""
        return self._final_acc()

    def bin_edges_ps(self):
        """The ``n_bins + 1`` bin edges in Δ, ps."""
        return bin_edges_ps(self.bin_width_ps, self.n_bins, self.start_ps)


def correlation_histogram(
    timestamps_ps, channels, start_channel, stop_channel, bin_width_ps, n_bins, delays_ps=None, start_ps=None
):
    """Histogram of Δ = (t_b + d_b) − (t_a + d_a) over all (a, b) tag pairs.

    Parameters
    ----------
    timestamps_ps : array of int64
        Tag times in ps, sorted.
    channels : array of int
        Channel number of each tag.
    start_channel, stop_channel : int
        Channels ``a`` and ``b``.
    bin_width_ps : int
        Bin width, ps.
    n_bins : int
        Number of bins.
    delays_ps : mapping of int to int, optional
        Delay added to each channel's tags, ps.
    start_ps : int, optional
        Left edge of bin 0, ps; default ``-(n_bins * bin_width_ps) // 2``.

    Returns
    -------
    ndarray of int64, shape (n_bins,)
        Bin ``i`` covers ``[start_ps + i·w, start_ps + (i+1)·w)``; see :func:`bin_edges_ps`.
    """
    t, c = as_stream(timestamps_ps, channels)
    counter = CorrelationCounter(start_channel, stop_channel, bin_width_ps, n_bins, delays_ps, start_ps)
    counter._run(t, c, 0, len(t), counter._acc)
    return counter._acc

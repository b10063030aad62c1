"""Coincidences between two channels or within a channel set.

Definition
----------
Each channel ``q`` has a delay ``d_q`` (ps, default 0) added to its tags. For a channel
set ``(q_1, ..., q_K)`` of distinct channels, ``K >= 2``, the coincidence count is the
number of K-tuples ``(x_1, ..., x_K)``, ``x_j`` a tag on channel ``q_j``, whose delayed
times ``t(x_j) + d_{q_j}`` satisfy ``max - min <= window_ps`` (window inclusive).
For two channels this is the number of pairs with ``|(t_b + d_b) - (t_a + d_a)| <=
window_ps``: `window_ps` is the largest allowed time difference, so the full width of
the window in Δt is ``2 * window_ps``. A tag may belong to several tuples (all are
counted; nothing is consumed), which makes the count independent of how the stream is
chunked and equal to the O(n·m) definition, including equal timestamps.
"""

import numpy as np

from . import _kernels
from .stream import StreamAnalysis, as_stream


def _check(channel_set, window_ps, delays_ps):
    chans = np.asarray([int(ch) for ch in channel_set], dtype=np.int32)
    if len(chans) < 2 or len(set(chans.tolist())) != len(chans):
        raise ValueError(f"channel_set needs at least two distinct channels, got {channel_set!r}")
    if int(chans.max()) - int(chans.min()) > 65535:
        raise ValueError(f"channel_set spans more than 65535 channel numbers: {channel_set!r}")
    window_ps = int(window_ps)
    if window_ps < 0:
        raise ValueError(f"window_ps must be >= 0, got {window_ps}")
    delays_ps = dict(delays_ps or {})
    delays = np.asarray([int(delays_ps.get(int(ch), 0)) for ch in chans], dtype=np.int64)
    return chans, window_ps, delays


class CoincidenceCounter(StreamAnalysis):
    """Streaming coincidence count over chunks (see the module docstring).

    Parameters
    ----------
    channel_set : sequence of int
        Two or more distinct channel numbers.
    window_ps : int
        Largest allowed spread of the delayed tag times in a tuple, ps, inclusive.
    delays_ps : mapping of int to int, optional
        Delay added to each channel's tags, ps; missing channels get 0.

    Examples
    --------
    >>> counter = CoincidenceCounter((1, 2), window_ps=500)
    >>> for t, c in chunks:
    ...     counter.process(t, c)
    >>> counter.result()
    """

    def __init__(self, channel_set, window_ps, delays_ps=None):
        super().__init__()
        self.channels, self.window_ps, self.delays = _check(channel_set, window_ps, delays_ps)
        if len(self.channels) == 2:  # anchored on channel a, b on either side
            shift = int(self.delays[0] - self.delays[1])
            self.lookback_ps = max(0, self.window_ps - shift)
            self.lookahead_ps = max(0, shift + self.window_ps)
        else:  # anchored on the tuple's first tag
            rel = self.delays[:, None] - self.delays[None, :]  # d_p - d_q
            self.lookback_ps = max(0, int((-rel).max()))
            self.lookahead_ps = max(0, int(rel.max()) + self.window_ps)
        self._acc = np.zeros(1, np.int64)

    def _run(self, t, c, a0, a1, acc):
        if len(self.channels) == 2:
            _kernels.pair_coincidences(
                t, c, a0, a1, self.channels[0], self.channels[1], self.delays[0] - self.delays[1], self.window_ps, acc
            )
        else:
            _kernels.nfold_coincidences(t, c, a0, a1, self.channels, self.delays, self.window_ps, acc)

    def result(self):
        """Coincidence count over everything processed so far (int)."""
        return int(self._final_acc()[0])


def count_coincidences(timestamps_ps, channels, channel_set, window_ps, delays_ps=None):
    """Number of coincidences within `channel_set` (see the module docstring).

    Parameters
    ----------
    timestamps_ps : array of int64
        Tag times in ps, sorted.
    channels : array of int
        Channel number of each tag.
    channel_set : sequence of int
        Two or more distinct channels; ``(a, b)`` counts pairs.
    window_ps : int
        Largest allowed spread of the delayed times in a tuple, ps, inclusive.
    delays_ps : mapping of int to int, optional
        Delay added to each channel's tags, ps.

    Returns
    -------
    int
    """
    t, c = as_stream(timestamps_ps, channels)
    counter = CoincidenceCounter(channel_set, window_ps, delays_ps)
    counter._run(t, c, 0, len(t), counter._acc)
    return int(counter._acc[0])

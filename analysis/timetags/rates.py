"""Tag counts and count rates per channel.

Definition
----------
The count of channel ``q`` is the number of tags with channel ``q``. Its rate is
``count / (duration_ps · 1e-12)`` Hz; unless given, ``duration_ps`` is the span of the
stream, ``t_last - t_first`` (so a stream of one tag, or none, has no default rate).
"""

import numpy as np

from .stream import as_stream


def count_tags(channels, which=None):
    """Number of tags per channel.

    Parameters
    ----------
    channels : array of int
        Channel number of each tag.
    which : sequence of int, optional
        Channels to report (0 when absent); default every channel present.

    Returns
    -------
    dict of int to int
    """
    c = np.asarray(channels)
    found = {}
    if len(c):
        lo, hi = int(c.min()), int(c.max())
        if hi - lo <= 1 << 16:
            counts = np.bincount((c - lo).astype(np.intp, copy=False))
            found = {int(i) + lo: int(n) for i, n in enumerate(counts) if n}
        else:
            values, counts = np.unique(c, return_counts=True)
            found = {int(v): int(n) for v, n in zip(values, counts, strict=False)}
    if which is None:
        return found
    return {int(q): found.get(int(q), 0) for q in which}


def count_rates(timestamps_ps, channels, which=None, duration_ps=None):
    """Count rate per channel in Hz.

    Parameters
    ----------
    timestamps_ps : array of int64
        Tag times in ps, sorted.
    channels : array of int
        Channel number of each tag.
    which : sequence of int, optional
        Channels to report; default every channel present.
    duration_ps : int, optional
        Acquisition time, ps; default the stream's span ``t_last - t_first``.

    Returns
    -------
    dict of int to float
    """
    t, c = as_stream(timestamps_ps, channels)
    if duration_ps is None:
        duration_ps = int(t[-1] - t[0]) if len(t) else 0
    return _rates(count_tags(c, which), duration_ps)


def _rates(counts, duration_ps):
    if duration_ps <= 0:
        raise ValueError(f"duration_ps must be > 0 to give a rate, got {duration_ps}")
    return {q: n / (duration_ps * 1e-12) for q, n in counts.items()}


class RateCounter:
    """Streaming tag counts and rates: ``process(t, c)`` per chunk, then
    ``counts()`` or ``rates(duration_ps=None)``.

    Parameters
    ----------
    which : sequence of int, optional
        Channels to report; default every channel seen.
    """

    def __init__(self, which=None):
        self.which = which
        self._counts = {}
        self.first_ps = None
        self.last_ps = None

    def process(self, timestamps_ps, channels):
        """Add one chunk. Returns self."""
        t, c = as_stream(timestamps_ps, channels)
        if len(t) == 0:
            return self
        if self.first_ps is None:
            self.first_ps = int(t[0])
        self.last_ps = int(t[-1])
        for q, n in count_tags(c).items():
            self._counts[q] = self._counts.get(q, 0) + n
        return self

    def counts(self):
        """Tags per channel so far (dict of int to int)."""
        if self.which is None:
            return dict(sorted(self._counts.items()))
        return {int(q): self._counts.get(int(q), 0) for q in self.which}

    def rates(self, duration_ps=None):
        """Rate per channel in Hz; default duration is the span of the tags seen."""
        if duration_ps is None:
            duration_ps = 0 if self.first_ps is None or self.last_ps is None else self.last_ps - self.first_ps
        return _rates(self.counts(), duration_ps)

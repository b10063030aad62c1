"""Exact chunked evaluation: feed a stream in any chunking, get the whole-array result.

An analysis is a kernel over *anchor* tags (see ``_kernels``) plus its reach: an anchor
at raw time ``t`` may pair with tags whose raw time lies in
``[t - lookback_ps, t + lookahead_ps]``. Because the stream is sorted, once a chunk
ending at time ``t_last`` has arrived every tag with time ``< t_last`` is known (a later
chunk may still hold tags *equal* to ``t_last``). So an anchor is final when
``t + lookahead_ps < t_last``; the others wait, together with the tail of tags they
may still need, for the next chunk or for :meth:`StreamAnalysis.result`.

Each chunk is processed in place; only a short *seam* (the kept tail plus the head of
the new chunk that pairs with it) is ever copied.
"""

import numpy as np


def as_stream(timestamps_ps, channels):
    """Return the stream as contiguous ``(int64, int32)`` arrays, checking lengths."""
    t = np.ascontiguousarray(timestamps_ps, dtype=np.int64)
    c = np.ascontiguousarray(channels, dtype=np.int32)
    if t.ndim != 1 or t.shape != c.shape:
        raise ValueError(
            f"timestamps_ps and channels must be 1-d arrays of equal length, got shapes {t.shape} and {c.shape}"
        )
    return t, c


class StreamAnalysis:
    """Base class: subclasses set ``lookback_ps``, ``lookahead_ps`` (both >= 0),
    the accumulator ``_acc`` (int64 array) and implement ``_run(t, c, a0, a1, acc)``,
    which adds the contributions of anchors ``[a0, a1)`` to `acc`."""

    lookback_ps = 0
    lookahead_ps = 0
    _acc: np.ndarray  # set by each subclass

    def __init__(self):
        self._tail_t = np.empty(0, np.int64)
        self._tail_c = np.empty(0, np.int32)
        self._pending = 0  # index in the tail of the first unprocessed anchor
        self._n_tags = 0

    def _run(self, t, c, a0, a1, acc):
        raise NotImplementedError

    @property
    def n_tags(self):
        """Number of tags processed so far."""
        return self._n_tags

    def process(self, timestamps_ps, channels):
        """Add one chunk of the stream (sorted, starting no earlier than the last
        chunk ended). Returns self."""
        t, c = as_stream(timestamps_ps, channels)
        n = len(t)
        if n == 0:
            return self
        tail_t, tail_c = self._tail_t, self._tail_c
        n_tail = len(tail_t)
        if n_tail and t[0] < tail_t[-1]:
            raise ValueError(
                f"chunk starts at {t[0]} ps, before the previous chunk ended "
                f"({tail_t[-1]} ps): chunks must be fed in time order"
            )
        self._n_tags += n
        back, ahead = self.lookback_ps, self.lookahead_ps
        t_last = t[-1]
        first = 0  # first chunk anchor not handled by the seam
        if n_tail:
            tail_last = tail_t[-1]
            first = int(np.searchsorted(t, tail_last + back, "right"))
            anchor_last = t[first - 1] if first else tail_last
            need = int(np.searchsorted(t, anchor_last + ahead, "right"))
            seam_t = np.concatenate([tail_t, t[:need]])
            seam_c = np.concatenate([tail_c, c[:need]])
            stop = n_tail + first
            done = min(int(np.searchsorted(seam_t, t_last - ahead, "left")), stop)
            self._run(seam_t, seam_c, self._pending, done, self._acc)
            if done < stop:  # nothing later is final either
                keep = int(np.searchsorted(tail_t, seam_t[done] - back, "left"))
                self._tail_t = np.concatenate([tail_t[keep:], t])
                self._tail_c = np.concatenate([tail_c[keep:], c])
                self._pending = done - keep
                return self
        done = max(int(np.searchsorted(t, t_last - ahead, "left")), first)
        self._run(t, c, first, done, self._acc)
        keep = int(np.searchsorted(t, t[done] - back, "left")) if done < n else n
        self._tail_t = t[keep:].copy()
        self._tail_c = c[keep:].copy()
        self._pending = done - keep
        return self

    def _final_acc(self):
        """Accumulator including the anchors still waiting in the tail."""
        acc = self._acc.copy()
        self._run(self._tail_t, self._tail_c, self._pending, len(self._tail_t), acc)
        return acc


def feed(chunks, *analyses):
    """Feed every ``(timestamps_ps, channels)`` chunk of `chunks` to each analysis.

    Parameters
    ----------
    chunks : iterable of (array, array)
        E.g. ``tagfile.iter_tags(paths)`` or a live tagger's buffers.
    *analyses : objects with ``process(t, c)``
        E.g. ``CoincidenceCounter``, ``CorrelationCounter``, ``RateCounter``.

    Returns
    -------
    tuple
        The analyses, for ``.result()``.
    """
    for t, c in chunks:
        for analysis in analyses:
            analysis.process(t, c)
    return analyses

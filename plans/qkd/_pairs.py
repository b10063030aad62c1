"""Coincidences of one segment: Alice's and Bob's clicks paired within the window, as bits.

A side's *event* is a run of its clicks (either port) whose gaps are at most the window:
bit 0 for the transmitted port (T), 1 for the reflected one (R), both ports a double click.
An event of Alice at t_A and one of Bob at t_B coincide when |t_B - delay - t_A| <= window;
each event pairs at most once (the first of Bob's in the window). The tags of a segment are
held in memory by :class:`SegmentTags`, a live analysis of the tagger's stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class SegmentTags:
    """Live analysis (``process(timestamps_ps, channels)``) keeping the tags of the four analyzer inputs."""

    def __init__(self, channels: tuple[int, int, int, int]):
        self.channels = np.asarray(channels, np.int32)
        self._t: list[np.ndarray] = []
        self._c: list[np.ndarray] = []

    def process(self, timestamps_ps, channels) -> None:
        c = np.asarray(channels)
        keep = np.isin(c, self.channels)
        self._t.append(np.asarray(timestamps_ps, np.int64)[keep])
        self._c.append(c[keep].astype(np.int32))

    def tags(self) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps_ps, channels) of everything processed, in time order."""
        if not self._t:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        return np.concatenate(self._t), np.concatenate(self._c)


@dataclass(frozen=True)
class Coincidences:
    """Paired events (arrays of equal length): each side's port bit and double-click flag."""

    a_bit: np.ndarray
    a_double: np.ndarray
    b_bit: np.ndarray
    b_double: np.ndarray

    @property
    def size(self) -> int:
        return int(self.a_bit.size)


def _events(t: np.ndarray, port_r: np.ndarray, window_ps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time of each event's first click, its bit, double click) of one side's time-ordered clicks."""
    if t.size == 0:
        empty = np.empty(0, bool)
        return np.empty(0, np.int64), empty, empty
    starts = np.flatnonzero(np.concatenate(([True], np.diff(t) > window_ps)))
    n_r = np.add.reduceat(port_r.astype(np.int64), starts)
    n = np.diff(np.append(starts, t.size))
    return t[starts], n_r > 0, (n_r > 0) & (n_r < n)


def coincidences(
    t: np.ndarray, c: np.ndarray, channels: tuple[int, int, int, int], window_ps: int, delay_b_ps: int = 0
) -> Coincidences:
    """Alice's and Bob's events within ``window_ps`` of each other (Bob's tags minus ``delay_b_ps``).

    ``channels``: tagger inputs (A_T, A_R, B_T, B_R); ``t``, ``c``: one stream in time order.
    """
    a_t, a_r, b_t, b_r = channels
    on_a, on_b = (c == a_t) | (c == a_r), (c == b_t) | (c == b_r)
    ta, bit_a, dbl_a = _events(t[on_a], c[on_a] == a_r, window_ps)
    tb, bit_b, dbl_b = _events(t[on_b] - delay_b_ps, c[on_b] == b_r, window_ps)
    if ta.size == 0 or tb.size == 0:
        empty = np.empty(0, np.uint8)
        return Coincidences(empty, empty.astype(bool), empty, empty.astype(bool))
    j = np.searchsorted(tb, ta - window_ps, side="left")
    hit = j < tb.size
    hit[hit] = tb[j[hit]] <= ta[hit] + window_ps
    ia, jb = np.flatnonzero(hit), j[hit]
    first = np.concatenate(([True], np.diff(jb) != 0))[: jb.size]  # one of Bob's events pairs once
    ia, jb = ia[first], jb[first]
    return Coincidences(bit_a[ia].astype(np.uint8), dbl_a[ia], bit_b[jb].astype(np.uint8), dbl_b[jb])


def squashed_bits(pairs: Coincidences, rng: np.random.Generator, flip_b: bool) -> tuple[np.ndarray, np.ndarray]:
    """(Alice's bits, Bob's bits): double clicks get a uniformly random bit (squashing); Bob's flipped if ``flip_b``."""
    a, b = pairs.a_bit.copy(), pairs.b_bit.copy()
    for bits, double in ((a, pairs.a_double), (b, pairs.b_double)):
        n = int(np.count_nonzero(double))
        if n:
            bits[double] = rng.integers(0, 2, n, dtype=np.uint8)
    if flip_b:
        b ^= 1
    return a, b

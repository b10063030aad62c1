"""Frames: one pass of one uploaded pattern, cut out of Bob's tag stream by Alice's sync.

Alice's pattern memory repeats, and a repeated pattern would send every state again (a
multi-photon signal spread over time), so each upload is used for one repetition only.
The sync marks each repetition; uploads alternate between two lengths (``L``, ``L - 1``
slots), so the stream itself says which pattern was in force: the frame of upload k is
the first sync interval of k's length whose previous interval has that length too (both
ends then lie after the switch). The plan uploads the next pattern once the frame is cut.

The first frame calibrates the receiver: the arrival phase within a slot, and the delay
from the sync to Bob in whole slots, by circular cross-correlation of Alice's and Bob's
Z-basis bits (FFT); that frame's bits are then public and never used for key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qnetlab.plans.qkd._detections import Receiver, decode, find_phase_ps


@dataclass(frozen=True)
class Frame:
    """Bob's detections in one pass of upload ``index`` (slots from the frame's first slot)."""

    index: int
    slots: int
    sync_ps: int
    bob_slot: np.ndarray
    bob_basis: np.ndarray
    bob_bit: np.ndarray
    bob_double: np.ndarray
    calibration: bool = False


logger = logging.getLogger(__name__)
CORRELATION_SLOTS = 1 << 17


class AlignmentError(RuntimeError):
    """Alice's pattern and Bob's clicks do not correlate at any delay."""


def find_delay_slots(codes: np.ndarray, bob: Frame, max_delay_slots: int, min_significance: float = 8.0) -> int:
    """Delay (slots) from the sync to Bob: the peak of the Z-bit cross-correlation.

    ``bob`` holds detections at slots from the frame's sync; the first ``CORRELATION_SLOTS``
    of the pattern are correlated.
    Raises :class:`AlignmentError` if the peak is not ``min_significance`` standard deviations
    above the rest.
    """
    codes = codes[: min(codes.size, CORRELATION_SLOTS)]  # enough clicks for a clear peak, a small FFT
    z_alice = ((codes >> 1) & 1) == 0
    a = np.where(z_alice, 1.0 - 2.0 * (codes & 1), 0.0)
    usable = (bob.bob_basis == 0) & ~bob.bob_double
    b = np.zeros(codes.size + max_delay_slots + 1)
    usable &= bob.bob_slot < b.size
    b[bob.bob_slot[usable]] = 1.0 - 2.0 * bob.bob_bit[usable]
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    corr = np.fft.irfft(np.conj(np.fft.rfft(a, n)) * np.fft.rfft(b, n), n)[: max_delay_slots + 1]
    best = int(np.argmax(corr))
    rest = np.delete(corr, best)
    significance = (corr[best] - rest.mean()) / max(rest.std(), 1e-12)
    if significance < min_significance:
        raise AlignmentError(
            f"bb84: Alice's pattern and Bob's Z clicks do not correlate (peak {significance:.1f} sigma at "
            f"{best} slots, need {min_significance}): check the cabling, the encoding and the link's alignment"
        )
    return best


class FrameCollector:
    """Live analysis fed by the tagger's stream (``process``): cuts one frame per upload.

    Parameters
    ----------
    receiver : Bob's detector roles and timing
    sync_input : tagger input of Alice's sync
    on_frame : called (in the stream's thread) with each :class:`Frame` cut
    rng : draws the squashing bits of double clicks
    max_delay_slots : longest sync-to-Bob delay searched at calibration (slots)
    """

    def __init__(
        self,
        receiver: Receiver,
        sync_input: int,
        on_frame: Callable[[Frame], None],
        rng: np.random.Generator,
        max_delay_slots: int = 1 << 17,
    ):
        self.receiver, self.sync_input, self.on_frame, self.rng = receiver, sync_input, on_frame, rng
        self.max_delay_slots = max_delay_slots
        self.lock = threading.Lock()
        self.frames_cut = 0
        self.delay_slots: int | None = None
        self.phase_ps: float | None = None
        self.origin_ps: int | None = None
        self.error: Exception | None = None
        self._expected: tuple[int, int, np.ndarray] | None = None  # (index, slots, codes)
        self._syncs = np.zeros(0, np.int64)
        self._times = np.zeros(0, np.int64)
        self._channels = np.zeros(0, np.int8)
        self._latest_ps = 0
        self._inputs = np.array(receiver.inputs)
        self.cut_info: dict[int, dict] = {}  # public facts of each frame cut (index -> detections, sync_ps, ...)

    def expect(self, index: int, codes: np.ndarray) -> None:
        """The pattern of upload ``index`` is in the transmitter now: cut its frame next."""
        with self.lock:
            self._expected = (index, int(codes.size), codes)

    def process(self, timestamps_ps: np.ndarray, channels: np.ndarray) -> None:
        """Take a chunk of the stream (time-ordered int64 ps, int8 inputs)."""
        if timestamps_ps.size == 0 or self.error is not None:
            return
        began = time.monotonic()
        with self.lock:
            self._latest_ps = int(timestamps_ps[-1])
            self._syncs = np.concatenate([self._syncs, timestamps_ps[channels == self.sync_input]])
            if self.origin_ps is None and self._syncs.size:
                self.origin_ps = int(self._syncs[0])
            mine = np.isin(channels, self._inputs)
            self._times = np.concatenate([self._times, timestamps_ps[mine]])
            self._channels = np.concatenate([self._channels, channels[mine]])
            try:
                self._cut()
            except Exception as error:  # reported to the plan, which stops the run
                self.error = error
        if time.monotonic() - began > 1.0:
            logger.debug("frames: a chunk of %d tags took %.1f s", timestamps_ps.size, time.monotonic() - began)

    def _cut(self) -> None:
        period = self.receiver.period_ps
        if self._expected is None or self._syncs.size < 3:
            self._trim()
            return
        index, slots, codes = self._expected
        lengths = np.rint(np.diff(self._syncs) / period).astype(np.int64)
        both = np.flatnonzero((lengths[:-1] == slots) & (lengths[1:] == slots))
        if both.size == 0:
            self._trim()
            return
        j = int(both[0]) + 1  # interval j = [syncs[j], syncs[j + 1])
        start, end = int(self._syncs[j]), int(self._syncs[j + 1])
        wait_slots = self.max_delay_slots if self.delay_slots is None else self.delay_slots + 2
        if self._latest_ps < end + (wait_slots + 1) * period:
            return  # Bob's clicks of the frame are still on their way
        assert self.origin_ps is not None
        lo_ps = start + (0 if self.delay_slots is None else self.delay_slots - 1) * period
        take = slice(*np.searchsorted(self._times, [lo_ps, end + (wait_slots + 1) * period]))
        times, channels = self._times[take], self._channels[take]
        if self.phase_ps is None:
            self.phase_ps = find_phase_ps(self.receiver, times, channels, self.origin_ps)
        slot, basis, bit, double = decode(self.receiver, times, channels, self.origin_ps, self.phase_ps, self.rng)
        first_slot = int(round((start - self.origin_ps) / period))
        calibration = self.delay_slots is None
        if calibration:
            span = slice(*np.searchsorted(slot, [first_slot, first_slot + slots + self.max_delay_slots + 1]))
            seen = Frame(index, slots, start, slot[span] - first_slot, basis[span], bit[span], double[span])
            self.delay_slots = find_delay_slots(codes, seen, self.max_delay_slots)
        delay = int(self.delay_slots)  # pyright: ignore[reportArgumentType]  # set above if it was None
        lo, hi = np.searchsorted(slot, [first_slot + delay, first_slot + delay + slots])
        frame = Frame(
            index,
            slots,
            start,
            slot[lo:hi] - first_slot - delay,
            basis[lo:hi],
            bit[lo:hi],
            double[lo:hi],
            calibration,
        )
        self._expected = None
        self._syncs = self._syncs[j + 1 :]
        logger.debug("frame %d cut: %d detections, delay %d slots", index, frame.bob_slot.size, self.delay_slots)
        self.cut_info[index] = {"detections": int(frame.bob_slot.size), "sync_ps": start, "calibration": calibration}
        self.on_frame(frame)
        self.frames_cut += 1
        self._trim()

    def _trim(self) -> None:
        """Forget tags no future frame can hold (before the last two syncs)."""
        if self._syncs.size > 2:
            self._syncs = self._syncs[-2:]
        if self._syncs.size:
            keep = int(np.searchsorted(self._times, self._syncs[0]))
            self._times, self._channels = self._times[keep:], self._channels[keep:]

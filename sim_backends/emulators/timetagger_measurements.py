"""The emulated SDK's measurements: ``Countrate``, ``Correlation`` and ``TimeTagStream``
(with its ``TimeTagStreamBuffer``), each running in a thread that drives the world forward
in slices paced by the world's ``time_scale``, as the vendor's asynchronous measurements."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from qnetlab.sim_backends.emulators.emulated_tagger import (
    CHANNEL_UNUSED,
    SLICE_PS,
    TAG_TIME_TAG,
    EmulatedTimeTagger,
)

logger = logging.getLogger(__name__)


class _Measurement:
    """Start/stop/wait behaviour shared by the emulated measurements."""

    def __init__(self, tagger: EmulatedTimeTagger, channels: list[int]):
        if not isinstance(tagger, EmulatedTimeTagger):
            raise TypeError("tagger must come from createTimeTagger()")
        for c in channels:
            tagger._channel(c)
        self._tagger = tagger
        self._channels = [int(c) for c in channels]
        self._lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._stop_request = threading.Event()
        self._capture_ps = 0
        self.clear()
        tagger._measurements.append(self)
        self._running = True  # as the vendor's: running from creation

    def clear(self) -> None:
        with self._lock:
            self._capture_ps = 0
            self._reset()

    def start(self) -> None:
        """Accumulate until ``stop``; the world advances only inside ``startFor``."""
        self._running = True

    def startFor(self, capture_duration: int, clear: bool = True) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("measurement is already running")
        if clear:
            self.clear()
        self._stop_request.clear()
        self._running = True
        self._thread = threading.Thread(target=self._run_for, args=(int(capture_duration),), daemon=True)
        self._thread.start()

    def _run_for(self, duration_ps: int) -> None:
        world = self._tagger._world
        started = time.monotonic()
        done = 0
        try:
            while done < duration_ps and not self._stop_request.is_set():
                step = min(SLICE_PS, duration_ps - done)
                self._tagger._advance(step, flush=done + step >= duration_ps)
                done += step
                if np.isfinite(world.time_scale):
                    lag = done * 1e-12 / world.time_scale - (time.monotonic() - started)
                    if lag > 0:
                        time.sleep(lag)
        except Exception as error:
            # like the vendor SDK: the measurement just stops (isRunning() False, the capture
            # duration short of the time asked for) and the cause goes to the SDK's log
            logger.error("measurement stopped after %d ps of %d ps: %s", done, duration_ps, error)
        finally:
            self._running = False

    def stop(self) -> None:
        self._stop_request.set()
        if self._thread is not None:
            self._thread.join()
        self._running = False

    def isRunning(self) -> bool:
        return self._running

    def waitUntilFinished(self, timeout: int = -1) -> bool:
        """Wait for ``startFor`` to end; ``timeout`` in ms, −1 waits for ever."""
        if self._thread is None:
            return True
        self._thread.join(None if timeout < 0 else timeout / 1000)
        return not self._thread.is_alive()

    def getCaptureDuration(self) -> int:
        return self._capture_ps

    def _process(self, timestamps, channels, duration_ps, markers=()) -> None:
        with self._lock:
            self._accumulate(timestamps, channels)
            if markers:
                self._markers(markers)
            self._capture_ps += duration_ps

    def _reset(self) -> None:  # pragma: no cover - each measurement defines it
        raise NotImplementedError

    def _accumulate(self, timestamps, channels) -> None:  # pragma: no cover - each measurement defines it
        raise NotImplementedError

    def _markers(self, markers) -> None:
        """Overflow markers of the slice (ignored by the histogramming measurements)."""


class Countrate(_Measurement):
    """Average count rate per channel (counts per second)."""

    def __init__(self, tagger: EmulatedTimeTagger, channels: list[int]):
        super().__init__(tagger, channels)

    def _reset(self):
        self._counts = np.zeros(len(self._channels), dtype=np.int64)

    def _accumulate(self, timestamps, channels):
        per_channel = np.bincount(channels, minlength=max(self._channels) + 1)
        self._counts += per_channel[self._channels]

    def getData(self) -> np.ndarray:
        with self._lock:
            seconds = self._capture_ps * 1e-12
            return self._counts / seconds if seconds else np.zeros(len(self._channels))

    def getCountsTotal(self) -> np.ndarray:
        with self._lock:
            return self._counts.copy()


class Correlation(_Measurement):
    """Histogram of t(channel_1) − t(channel_2) in ``n_bins`` bins of ``binwidth`` ps, centred on 0."""

    def __init__(
        self,
        tagger: EmulatedTimeTagger,
        channel_1: int,
        channel_2: int = CHANNEL_UNUSED,
        binwidth: int = 1000,
        n_bins: int = 1000,
    ):
        self._binwidth = int(binwidth)
        self._n_bins = int(n_bins)
        self._ch1 = int(channel_1)
        self._ch2 = self._ch1 if channel_2 == CHANNEL_UNUSED else int(channel_2)
        super().__init__(tagger, [self._ch1, self._ch2])

    def _reset(self):
        self._hist = np.zeros(self._n_bins, dtype=np.int64)
        self._tail1 = np.empty(0, np.int64)
        self._tail2 = np.empty(0, np.int64)

    def _pairs(self, stops, starts):
        half = self._n_bins * self._binwidth // 2
        lo = np.searchsorted(starts, stops - half, side="right")
        hi = np.searchsorted(starts, stops + half, side="right")
        counts = hi - lo
        if counts.sum() == 0:
            return
        stop_rep = np.repeat(stops, counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        diffs = stop_rep - starts[np.repeat(lo, counts) + offsets]
        bins = (diffs + half) // self._binwidth
        ok = (bins >= 0) & (bins < self._n_bins)
        self._hist += np.bincount(bins[ok], minlength=self._n_bins)

    def _accumulate(self, timestamps, channels):
        stops = timestamps[channels == self._ch1]
        starts = timestamps[channels == self._ch2]
        self._pairs(stops, np.concatenate((self._tail2, starts)))  # new stops with all starts
        self._pairs(self._tail1, starts)  # old stops with new starts
        half = self._n_bins * self._binwidth // 2
        end = timestamps[-1] if timestamps.size else 0
        self._tail1 = np.concatenate((self._tail1, stops))
        self._tail2 = np.concatenate((self._tail2, starts))
        self._tail1 = self._tail1[self._tail1 > end - 2 * half]
        self._tail2 = self._tail2[self._tail2 > end - 2 * half]

    def getData(self) -> np.ndarray:
        with self._lock:
            return self._hist.copy()

    def getIndex(self) -> np.ndarray:
        """Left edge of each bin (ps)."""
        return (np.arange(self._n_bins, dtype=np.int64) - self._n_bins // 2) * self._binwidth


class TimeTagStreamBuffer:
    """The events a ``TimeTagStream`` collected since its last ``getData``: tags and overflow markers."""

    def __init__(self, timestamps: np.ndarray, channels: np.ndarray, types: np.ndarray, missed: np.ndarray):
        self._timestamps = timestamps
        self._channels = channels
        self._types = types
        self._missed = missed
        self.size = int(timestamps.size)
        self.hasOverflows = bool(np.any(types != TAG_TIME_TAG))  # the tagger overflowed, not this buffer

    def getTimestamps(self) -> np.ndarray:
        return self._timestamps

    def getChannels(self) -> np.ndarray:
        return self._channels

    def getEventTypes(self) -> np.ndarray:
        return self._types

    def getMissedEvents(self) -> np.ndarray:
        return self._missed


class TimeTagStream(_Measurement):
    """Raw events of ``channels``; at most ``n_max_events`` are held between ``getData`` calls (then dropped)."""

    def __init__(self, tagger: EmulatedTimeTagger, n_max_events: int, channels: list[int]):
        self._n_max = int(n_max_events)
        super().__init__(tagger, channels)

    def _reset(self):
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._held = 0

    def _keep(self, stamps, chans, types, missed) -> None:
        room = self._n_max - self._held
        if stamps.size > room:  # the buffer is full: the rest is lost, as on the vendor's
            stamps, chans, types, missed = stamps[:room], chans[:room], types[:room], missed[:room]
        if stamps.size:
            self._parts.append((stamps, chans, types, missed))
            self._held += stamps.size

    def _accumulate(self, timestamps, channels):
        wanted = np.isin(channels, self._channels)
        stamps, chans = timestamps[wanted], channels[wanted]
        self._keep(stamps, chans, np.zeros(stamps.size, np.uint8), np.zeros(stamps.size, np.uint16))

    def _markers(self, markers) -> None:
        """Interleave the slice's overflow markers with its tags (kept so far) in time order."""
        own = [m for m in markers if m[1] != 4 or m[2] in self._channels]  # MissedEvents of our channels only
        if not own:
            return
        m_t = np.array([m[0] for m in own], np.int64)
        m_c = np.array([m[2] for m in own], np.int32)
        m_y = np.array([m[1] for m in own], np.uint8)
        m_n = np.array([m[3] for m in own], np.uint16)
        if self._parts:
            t, c, y, n = self._parts.pop()
            self._held -= t.size
            at = np.searchsorted(t, m_t, side="left")
            m_t, m_c, m_y, m_n = (np.insert(a, at, b) for a, b in ((t, m_t), (c, m_c), (y, m_y), (n, m_n)))
        self._keep(m_t, m_c, m_y, m_n)

    def getData(self) -> TimeTagStreamBuffer:
        with self._lock:
            if self._parts:
                stamps, chans, types, missed = (np.concatenate(column) for column in zip(*self._parts, strict=True))
            else:
                stamps, chans = np.empty(0, np.int64), np.empty(0, np.int32)
                types, missed = np.empty(0, np.uint8), np.empty(0, np.uint16)
            buffer = TimeTagStreamBuffer(stamps, chans, types, missed)
            self._reset()
            return buffer

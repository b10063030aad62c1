"""Driver for Swabian Instruments time taggers (Time Tagger 20 / Ultra / X).

Wraps the vendor's Python SDK (``Swabian.TimeTagger`` from the ``Swabian-TimeTagger``
package, older installs ``TimeTagger``). The SDK module is passed in, so the same class
drives a real tagger or the emulated SDK of :mod:`sim_backends.emulators.timetagger_sdk`.
All times are int64 picoseconds, trigger levels in volts, rates in counts per second.

Behaviours of the vendor SDK this driver depends on (the docstrings of the installed
``Swabian.TimeTagger`` 2.22 package):

- A measurement starts when it is created ("``start``: This method is implicitly called
  when a measurement object is created"), so :meth:`SwabianTimeTagger.open_stream`
  stops and clears a new ``TimeTagStream`` before handing it out: what it records is
  only what the caller's ``start``/``startFor`` asks for.
- A stream buffer holds events, not only tags: ``getEventTypes()`` gives each one's
  ``Tag.Type`` (TimeTag 0, Error 1, OverflowBegin 2, OverflowEnd 3, MissedEvents 4);
  within an overflow interval no tag is time-stamped and ``getMissedEvents()`` counts
  the lost ones per channel (uint16, repeated when large). :func:`split_stream_buffer`
  keeps the tags apart from the markers.
- ``hasOverflows`` means the tagger itself overflowed ("independent of an overflow of
  the internal buffer of ``TimeTagStream``"); the stream's own buffer was full when
  ``size`` equals ``n_max_events`` ("events have likely been discarded").
- Rising edges are channels 1..N, falling edges -1..-N (``getChannelList``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from qnetlab.drivers.errors import InstrumentError, InstrumentTimeout


def import_vendor_sdk() -> ModuleType:
    """The installed vendor SDK module; a clear error when it is not installed."""
    for module in ("Swabian.TimeTagger", "TimeTagger"):
        try:
            return importlib.import_module(module)
        except ImportError:
            continue
    raise InstrumentError(
        "timetagger", "import", "the Swabian Time Tagger SDK is not installed (pip install 'qnetlab[swabian]')"
    )


TIME_TAG, ERROR, OVERFLOW_BEGIN, OVERFLOW_END, MISSED_EVENTS = 0, 1, 2, 3, 4  # vendor Tag.Type


@dataclass
class StreamChunk:
    """One ``TimeTagStream.getData()`` buffer, tags apart from markers.

    Attributes
    ----------
    timestamps_ps, channels : the time tags only (int64 ps, int32)
    overflow_begin_ps, overflow_end_ps : times of the tagger's overflow markers (ps)
    missed : lost events per channel within overflow intervals
    error_ps : times of ``Error`` markers (e.g. a lost reference clock)
    buffer_full : the stream's own buffer was full (``size == n_max_events``): events lost
    """

    timestamps_ps: np.ndarray
    channels: np.ndarray
    overflow_begin_ps: list[int] = field(default_factory=list)
    overflow_end_ps: list[int] = field(default_factory=list)
    missed: dict[int, int] = field(default_factory=dict)
    error_ps: list[int] = field(default_factory=list)
    buffer_full: bool = False


def split_stream_buffer(buffer, n_max_events: int) -> StreamChunk:
    """Split a ``TimeTagStreamBuffer`` into its tags and its overflow/error markers."""
    timestamps = np.asarray(buffer.getTimestamps(), dtype=np.int64)
    channels = np.asarray(buffer.getChannels(), dtype=np.int32)
    full = int(buffer.size) >= int(n_max_events)
    if not buffer.hasOverflows and timestamps.size == 0:
        return StreamChunk(timestamps, channels, buffer_full=full)
    types = np.asarray(buffer.getEventTypes(), dtype=np.uint8)
    tags = types == TIME_TAG
    if tags.all():
        return StreamChunk(timestamps, channels, buffer_full=full)
    missed_counts = np.asarray(buffer.getMissedEvents(), dtype=np.int64)
    chunk = StreamChunk(timestamps[tags], channels[tags], buffer_full=full)
    chunk.overflow_begin_ps = timestamps[types == OVERFLOW_BEGIN].tolist()
    chunk.overflow_end_ps = timestamps[types == OVERFLOW_END].tolist()
    chunk.error_ps = timestamps[types == ERROR].tolist()
    is_missed = types == MISSED_EVENTS
    for channel, count in zip(channels[is_missed].tolist(), missed_counts[is_missed].tolist(), strict=True):
        chunk.missed[channel] = chunk.missed.get(channel, 0) + count
    return chunk


class SwabianTimeTagger:
    """One connected time tagger.

    Parameters
    ----------
    name : instrument name used in error messages
    serial : serial number to open ('' opens the first tagger found)
    sdk : the SDK module (vendor or emulated); imported from the vendor package if None
    """

    def __init__(self, name: str, serial: str = "", sdk: ModuleType | None = None):
        self.name = name
        self._sdk = sdk if sdk is not None else import_vendor_sdk()
        # the SDK's tagger object (untyped; None once closed)
        self._tagger: Any = self._call("createTimeTagger", self._sdk.createTimeTagger, serial)

    def _open(self):
        """The SDK's tagger object; a closed driver raises InstrumentError."""
        if self._tagger is None:
            raise InstrumentError(self.name, "use", "the tagger connection is closed")
        return self._tagger

    def _call(self, what: str, function: Callable, *args):
        try:
            return function(*args)
        except InstrumentError:
            raise
        except Exception as error:  # the SDK raises RuntimeError/ValueError of its own
            raise InstrumentError(self.name, f"{what}{args!r}", str(error)) from None

    # --- settings ---------------------------------------------------------------------
    @property
    def serial(self) -> str:
        return self._call("getSerial", self._open().getSerial)

    @property
    def model(self) -> str:
        return self._call("getModel", self._open().getModel)

    def channel_list(self) -> list[int]:
        return list(self._call("getChannelList", self._open().getChannelList))

    def set_trigger_level(self, channel: int, level_v: float) -> float:
        """Set a channel's comparator level (V); returns the level applied."""
        self._call("setTriggerLevel", self._open().setTriggerLevel, channel, float(level_v))
        return self._call("getTriggerLevel", self._open().getTriggerLevel, channel)

    def set_input_delay(self, channel: int, delay_ps: int) -> int:
        """Set a channel's input delay (ps); returns the delay applied."""
        self._call("setInputDelay", self._open().setInputDelay, channel, int(delay_ps))
        return int(self._call("getInputDelay", self._open().getInputDelay, channel))

    def set_dead_time(self, channel: int, dead_time_ps: int) -> int:
        """Set a channel's dead time (ps); returns the (rounded) dead time applied."""
        return int(self._call("setDeadtime", self._open().setDeadtime, channel, int(dead_time_ps)))

    def overflows(self) -> int:
        """Blocks of tags lost to a too-high rate since the last clear."""
        return int(self._call("getOverflows", self._open().getOverflows))

    # --- measurements -----------------------------------------------------------------
    def start_count_rates(self, channels: Sequence[int], duration_ps: int):
        """Start a ``Countrate`` measurement for ``duration_ps``; returns its handle."""
        measurement = self._call("Countrate", self._sdk.Countrate, self._open(), list(channels))
        self._call("startFor", measurement.startFor, int(duration_ps))
        return measurement

    def start_correlation(self, channel_1: int, channel_2: int, binwidth_ps: int, n_bins: int, duration_ps: int):
        """Start a ``Correlation`` (t1 − t2 histogram) for ``duration_ps``; returns its handle."""
        measurement = self._call(
            "Correlation", self._sdk.Correlation, self._open(), channel_1, channel_2, int(binwidth_ps), int(n_bins)
        )
        self._call("startFor", measurement.startFor, int(duration_ps))
        return measurement

    def open_stream(self, channels: Sequence[int], n_max_events: int = 10_000_000):
        """A stopped, empty ``TimeTagStream`` on ``channels``; call ``start``/``startFor`` and ``getData``.

        Read its buffers with :func:`split_stream_buffer`.
        """
        stream = self._call("TimeTagStream", self._sdk.TimeTagStream, self._open(), int(n_max_events), list(channels))
        self._call("stop", stream.stop)  # the SDK starts a measurement when it is created
        self._call("clear", stream.clear)
        return stream

    def wait(self, measurement, timeout_s: float) -> None:
        """Block until a measurement started with ``startFor`` has finished."""
        if not self._call("waitUntilFinished", measurement.waitUntilFinished, int(timeout_s * 1000)):
            measurement.stop()
            raise InstrumentTimeout(self.name, "waitUntilFinished", f"measurement not finished after {timeout_s:g} s")

    def check_coverage(self, measurement, duration_ps: int, what: str = "measurement") -> None:
        """Raise unless a finished measurement captured the whole ``duration_ps``.

        The SDK ends a ``startFor`` measurement early, without raising, when its data stops
        arriving (a lost USB link, a dead acquisition thread): ``isRunning()`` is then False
        while ``getCaptureDuration()`` is short of the time asked for, and ``getData`` holds
        averages over the short capture (or zeros). Such a reading is a failure, not data.
        """
        captured_ps = int(self._call("getCaptureDuration", measurement.getCaptureDuration))
        if captured_ps < int(duration_ps):
            raise InstrumentError(
                self.name,
                what,
                f"acquisition stopped early: captured {captured_ps * 1e-12:.6g} s of the "
                f"{int(duration_ps) * 1e-12:.6g} s requested (no data after that)",
            )

    def count_rates(self, channels: Sequence[int], duration_s: float, timeout_s: float | None = None) -> np.ndarray:
        """Average count rate of each channel over ``duration_s`` (counts/s), blocking."""
        duration_ps = int(round(duration_s * 1e12))
        measurement = self.start_count_rates(channels, duration_ps)
        self.wait(measurement, timeout_s if timeout_s is not None else 10 + 2 * duration_s)
        self.check_coverage(measurement, duration_ps, "Countrate")
        return np.asarray(self._call("getData", measurement.getData), dtype=float)

    @staticmethod
    def progress(measurement) -> float:
        """Simulated or real capture time so far (s)."""
        return measurement.getCaptureDuration() * 1e-12

    def close(self) -> None:
        try:
            self._sdk.freeTimeTagger(self._tagger)
        finally:
            self._tagger = None


def sleep_until_done(measurement, poll_s: float = 0.05) -> None:
    """Poll a measurement until it stops (for callers that cannot block in waitUntilFinished)."""
    while measurement.isRunning():
        time.sleep(poll_s)

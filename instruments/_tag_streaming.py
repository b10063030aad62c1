"""One streaming acquisition: the SDK's TimeTagStream drained into a raw-tag HDF5 file.

A thread starts the stream for the requested duration, polls ``getData`` and appends
each buffer to a :class:`analysis.timetags.tagfile.TagFileWriter` (flushed per append,
so nothing written is lost if the process dies). It counts tags per channel and feeds
any live analyses (objects with ``process(timestamps_ps, channels)``) as it goes.

Linked writing (:meth:`TagStreamer.hold_until_linked`, used while a plan collects the
stream into the catalog): a buffer is held in memory until the catalog has recorded its
StreamDatum (:meth:`TagStreamer.claim`, then :meth:`TagStreamer.linked`), then written.
So the file never holds tags the catalog does not link, however long a catalog write
takes on a loaded machine; a process killed outright loses at most the tags of one
collect interval (held, not yet linked), and never more than :data:`HOLD_LIMIT_S` of
them: a buffer held that long is written anyway (repair links it). A pause or the end of
the stream writes every held buffer.
``pause`` stops the hardware stream after draining it; ``resume`` continues into the
same file; ``stop`` drains, closes the file and ends.

Only time tags reach the file and the counts: the tagger's overflow markers are split off
(:func:`drivers.swabian.swabian_timetagger.split_stream_buffer`) and recorded as
``overflow_intervals_ps`` (begin, end; end ``None`` while still overflowing),
``missed_events`` (per channel) and ``buffer_full`` (polls whose stream buffer was full,
so events were lost on the computer's side).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

HOLD_LIMIT_S = 10.0  # wall time a received buffer may wait for its catalog link before it is written


class TagStreamer:
    """Stream ``channels`` for ``duration_ps`` into ``path``.

    Parameters
    ----------
    driver : the tagger driver (``open_stream``, ``overflows``)
    channels : tagger inputs to record
    duration_ps : acquisition time wanted (ps), excluding pauses
    path : HDF5 file to create
    analyses : live analyses fed with every chunk
    poll_s : how often the stream buffer is drained (s)
    """

    def __init__(
        self,
        driver,
        channels,
        duration_ps: int,
        path: Path,
        analyses=(),
        poll_s: float = 0.05,
        n_max_events: int = 20_000_000,
    ):
        from qnetlab.analysis.timetags.tagfile import TagFileWriter

        self._driver = driver
        self.channels = list(channels)
        self.duration_ps = int(duration_ps)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = TagFileWriter(self.path, attrs={"channels": self.channels, "duration_ps": self.duration_ps})
        self._n_max_events = int(n_max_events)
        self._stream = driver.open_stream(self.channels, n_max_events)
        self._analyses = list(analyses)
        self._poll_s = poll_s
        self._lock = threading.RLock()
        self._pause = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.n_tags = 0  # tags in the file
        self.n_received = 0  # tags received: in the file or held for their catalog link
        self._held: list[tuple[np.ndarray, np.ndarray, float]] = []  # (timestamps, channels, time received)
        self._linked_to: int | None = None  # None: write each buffer at once; else tags the catalog links
        self._wake = threading.Event()
        self.acquired_ps = 0
        self.overflowed = False  # the tagger overflowed, or the stream buffer was full
        self.overflow_intervals_ps: list[list[int | None]] = []
        self.missed_events: dict[int, int] = {}
        self.buffer_full = 0
        self.counts = {c: 0 for c in self.channels}
        self.error: BaseException | None = None

    # --- control ------------------------------------------------------------------------
    def start(self) -> None:
        self._pause.clear()
        remaining = self.duration_ps - self.acquired_ps
        if remaining <= 0:
            self._finish()
            return
        # read before the stream starts: a drain thread scheduled late (a loaded machine) would
        # otherwise count the slices captured before it ran as captured before this start
        capture_at_start = int(self._stream.getCaptureDuration())
        self._stream.startFor(remaining, clear=False)
        self._thread = threading.Thread(
            target=self._drain_loop, args=(capture_at_start,), daemon=True, name=f"{self.path.stem}-stream"
        )
        self._thread.start()

    def pause(self) -> None:
        """Stop the hardware stream, keeping every tag so far; :meth:`start` continues."""
        self._pause.set()
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        """End the acquisition early: drain, close the file."""
        self.pause()
        self._finish()

    def hold_until_linked(self) -> None:
        """From now on write a buffer only once the catalog links it (see the module docstring)."""
        with self._lock:
            if self._linked_to is None:
                self._linked_to = self.n_tags

    def claim(self) -> int:
        """Tags received so far (what a StreamDatum may link now): in the file, or held."""
        with self._lock:
            return self.n_received

    def linked(self, n_tags: int) -> None:
        """The catalog links the first ``n_tags``: write what is held up to there."""
        with self._lock:
            if self._linked_to is not None:
                self._linked_to = max(self._linked_to, int(n_tags))
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # --- the thread -------------------------------------------------------------------
    def _drain_loop(self, capture_at_start: int) -> None:
        base_ps = self.acquired_ps
        try:
            while True:
                if self._wake.wait(self._poll_s):
                    self._wake.clear()
                running = self._stream.isRunning()
                if self._pause.is_set() and running:
                    self._stream.stop()
                    running = False
                self._write(self._stream.getData())
                self.acquired_ps = base_ps + int(self._stream.getCaptureDuration()) - capture_at_start
                if not running:
                    break
            self._write_held(everything=True)  # paused or ended: nothing stays in memory only
        except BaseException as error:  # reported through the device's status
            if _disk_full(error):
                self._free_reserve()  # room to close the file
            self.error = error
            self._finish()
            return
        if not self._pause.is_set():
            if self.acquired_ps < self.duration_ps:  # the stream ended by itself, short of the time asked
                self.error = _short_capture_error(self._driver, self.acquired_ps, self.duration_ps)
            self._finish()

    def _write(self, buffer) -> None:
        from qnetlab.drivers.swabian.swabian_timetagger import split_stream_buffer

        chunk = split_stream_buffer(buffer, self._n_max_events)
        self._record_overflows(chunk)
        timestamps, channels = chunk.timestamps_ps, chunk.channels
        if timestamps.size == 0:
            self._write_held()
            return
        with self._lock:
            self._held.append((timestamps, channels, time.monotonic()))
            self.n_received += timestamps.size
            found, counts = np.unique(channels, return_counts=True)
            for channel, count in zip(found.tolist(), counts.tolist(), strict=True):
                if channel in self.counts:
                    self.counts[channel] += count
        self._write_held()
        for analysis in self._analyses:
            analysis.process(timestamps, channels)

    def _write_held(self, everything: bool = False) -> None:
        """Append the held buffers the catalog links (all of them if ``everything``, when not
        linking, or once the oldest was held :data:`HOLD_LIMIT_S`) in one flushed append."""
        with self._lock:
            if not self._held:
                return
            if everything or self._linked_to is None or time.monotonic() - self._held[0][2] > HOLD_LIMIT_S:
                limit = self.n_received
            else:
                limit = self._linked_to
            end, take = self.n_tags, 0
            while take < len(self._held) and end + self._held[take][0].size <= limit:
                end += self._held[take][0].size
                take += 1
            if take == 0:
                return
            chunks, self._held = self._held[:take], self._held[take:]
            if take == 1:
                timestamps, channels = chunks[0][0], chunks[0][1]
            else:
                timestamps = np.concatenate([chunk[0] for chunk in chunks])
                channels = np.concatenate([chunk[1] for chunk in chunks])
            self._writer.append(timestamps, channels)
            self.n_tags = self._writer.n_tags

    disk_reserve: Path | None = None  # a ballast file to delete when the disk fills (set by the device)

    def _record_overflows(self, chunk) -> None:
        """Overflow intervals (begin, end ps), missed events per channel, full stream buffers."""
        if chunk.buffer_full:
            self.buffer_full += 1
            self.overflowed = True
        marks = sorted([(t, 0) for t in chunk.overflow_begin_ps] + [(t, 1) for t in chunk.overflow_end_ps])
        for time_ps, is_end in marks:
            self.overflowed = True
            open_interval = self.overflow_intervals_ps and self.overflow_intervals_ps[-1][1] is None
            if not is_end:
                if not open_interval:
                    self.overflow_intervals_ps.append([time_ps, None])
            elif open_interval:
                self.overflow_intervals_ps[-1][1] = time_ps
            else:  # began before this stream did
                self.overflow_intervals_ps.append([None, time_ps])
        for channel, missed in chunk.missed.items():
            self.missed_events[channel] = self.missed_events.get(channel, 0) + missed

    def _free_reserve(self) -> None:
        if self.disk_reserve is not None:
            self.disk_reserve.unlink(missing_ok=True)

    def _finish(self) -> None:
        """Close the file (once), whatever fails; then :meth:`wait` returns."""
        with self._lock:
            if self._done.is_set():
                return
            try:
                if self.error is None:
                    self._write_held(everything=True)  # (a re-entrant call: the lock is an RLock)
                self._writer.close()
            except Exception as error:  # h5py raises RuntimeError for a full disk: free the reserve, close again
                self._free_reserve()
                self.error = self.error or error
                try:
                    self._writer.close()
                except Exception:
                    pass  # what was flushed before stays readable
            finally:
                if self.error is not None:  # a failed flush may still have landed: link what reads back
                    self.n_tags = _readable_tags(self.path, self.n_tags)
                self._held.clear()
                self.n_received = self.n_tags
                self._done.set()


def _disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk is full (h5py raises RuntimeError quoting errno 28)."""
    text = str(error)
    return getattr(error, "errno", None) == 28 or "errno = 28" in text or "No space left on device" in text


def _readable_tags(path: Path, flushed: int) -> int:
    """How many tags of the closed file ``path`` read back, after a failure; ``flushed`` if it cannot tell.

    After a failed write the file may hold more than the ``flushed`` tags, or fewer (HDF5
    reported a flush whose chunks never reached the disk); chunks never written read as
    the fill value 0, and no tagger input is channel 0: the tags up to the first channel 0
    (or the first block that does not decode) are the ones the file holds.
    """
    import h5py
    import hdf5plugin  # noqa: F401  (registers the Bitshuffle filter)

    try:
        with h5py.File(path, "r") as file:
            deltas, channels_ds = file["timetags/timestamps_delta"], file["timetags/channels"]
            if not isinstance(deltas, h5py.Dataset) or not isinstance(channels_ds, h5py.Dataset):
                return flushed
            n = min(len(deltas), len(channels_ds))
            block = 1 << 24
            for start in range(0, n, block):
                channels = channels_ds[start : min(n, start + block)]
                deltas[start : min(n, start + block)]  # decodes
                unwritten = np.flatnonzero(channels == 0)
                if unwritten.size:
                    return start + int(unwritten[0])
            return n
    except (OSError, RuntimeError, KeyError, ValueError):
        return flushed


def _short_capture_error(driver, acquired_ps: int, duration_ps: int) -> Exception:
    from qnetlab.drivers.errors import InstrumentError

    return InstrumentError(
        getattr(driver, "name", "timetagger"),
        "TimeTagStream",
        f"acquisition stopped early: captured {acquired_ps * 1e-12:.6g} s of the "
        f"{duration_ps * 1e-12:.6g} s requested (no tags after that; every tag received is in the file)",
    )

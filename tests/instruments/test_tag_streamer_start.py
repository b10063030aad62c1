"""A stream that finishes before its drain thread first runs is still a full capture."""

from __future__ import annotations

import numpy as np

from qnetlab.drivers.swabian.swabian_timetagger import TIME_TAG
from qnetlab.instruments._tag_streaming import TagStreamer


class _Buffer:
    def __init__(self, timestamps):
        self.size, self.hasOverflows = timestamps.size, False
        self._timestamps = timestamps

    def getTimestamps(self):
        return self._timestamps

    def getChannels(self):
        return np.ones(self._timestamps.size, np.int32)

    def getEventTypes(self):
        return np.full(self._timestamps.size, TIME_TAG, np.uint8)


class _InstantStream:
    """Captures all it is asked for inside ``startFor``: what a loaded machine looks like to the drain thread."""

    def __init__(self):
        self.capture_ps, self.pending = 0, np.zeros(0, np.int64)

    def startFor(self, duration_ps, clear=False):
        self.pending = np.arange(self.capture_ps, self.capture_ps + duration_ps, 1_000_000, dtype=np.int64)
        self.capture_ps += duration_ps

    def isRunning(self):
        return False

    def getCaptureDuration(self):
        return self.capture_ps

    def getData(self):
        data, self.pending = self.pending, np.zeros(0, np.int64)
        return _Buffer(data)

    def stop(self):
        pass


class _Driver:
    name = "tagger"

    def open_stream(self, channels, n_max_events):
        return _InstantStream()


def test_a_capture_done_before_the_drain_thread_runs_is_complete(tmp_path):
    streamer = TagStreamer(_Driver(), [1], 20_000_000_000, tmp_path / "tags.h5", poll_s=0.001)
    streamer.start()
    assert streamer.wait(30)
    assert streamer.error is None, streamer.error
    assert streamer.acquired_ps == 20_000_000_000 and streamer.n_tags == 20_000

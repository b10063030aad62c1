"""Linked writing: a held stream's file never holds a tag the catalog does not link."""

from __future__ import annotations

import time

import h5py
import hdf5plugin  # noqa: F401  (the files' Bitshuffle filter)
import numpy as np
import pytest

from qnetlab.instruments import _tag_streaming
from qnetlab.instruments._tag_streaming import TagStreamer
from tests.instruments.test_tag_streamer_start import _Buffer

TAGS_PER_POLL = 100


class _RunningStream:
    """Gives 100 new tags per poll (1 µs apart) until stopped."""

    def __init__(self):
        self.next_ps, self.running = 0, False

    def startFor(self, duration_ps, clear=False):
        self.running = True

    def isRunning(self):
        return self.running

    def getCaptureDuration(self):
        return self.next_ps

    def getData(self):
        if not self.running:
            return _Buffer(np.zeros(0, np.int64))
        data = np.arange(self.next_ps, self.next_ps + TAGS_PER_POLL * 1_000_000, 1_000_000, dtype=np.int64)
        self.next_ps += TAGS_PER_POLL * 1_000_000
        return _Buffer(data)

    def stop(self):
        self.running = False


class _Driver:
    name = "tagger"

    def open_stream(self, channels, n_max_events):
        return _RunningStream()


def _in_file(path) -> int:
    with h5py.File(path, "r", swmr=True) as file:
        return int(file["timetags/channels"].shape[0])


def _until(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def streamer(tmp_path):
    made = TagStreamer(_Driver(), [1], 10**15, tmp_path / "tags.h5", poll_s=0.005)
    yield made
    made.stop()


def test_held_tags_reach_the_file_only_once_linked(streamer):
    streamer.hold_until_linked()
    streamer.start()
    _until(lambda: streamer.claim() >= 5 * TAGS_PER_POLL)
    assert _in_file(streamer.path) == 0  # received, not linked: held in memory
    claimed = streamer.claim()
    streamer.linked(claimed)
    _until(lambda: streamer.n_tags >= claimed)
    time.sleep(0.05)  # more polls: what arrived after the claim stays held
    assert streamer.n_tags == claimed == _in_file(streamer.path) < streamer.claim()
    streamer.stop()
    assert streamer.n_tags == streamer.claim() == _in_file(streamer.path) > claimed  # the end writes everything


def test_a_pause_writes_what_is_held(streamer):
    streamer.hold_until_linked()
    streamer.start()
    _until(lambda: streamer.claim() >= 3 * TAGS_PER_POLL)
    streamer.pause()
    assert streamer.n_tags == streamer.claim() == _in_file(streamer.path) > 0


def test_a_buffer_held_past_the_limit_is_written(streamer, monkeypatch):
    monkeypatch.setattr(_tag_streaming, "HOLD_LIMIT_S", 0.05)
    streamer.hold_until_linked()
    streamer.start()
    _until(lambda: _in_file(streamer.path) > 0)  # never linked, written all the same
    assert streamer.n_tags <= streamer.claim()


def test_without_linking_each_buffer_is_written_at_once(streamer):
    streamer.start()
    _until(lambda: _in_file(streamer.path) >= 3 * TAGS_PER_POLL)

"""Streaming raw tags: file linked from the run, re-analysed to the live counts, nothing lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qnetlab import plans, session
from qnetlab.analysis.timetags import CoincidenceCounter, count_coincidences, read_run_tags, tag_file_paths

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


@pytest.fixture(scope="module")
def lab_session(tmp_path_factory):
    s = session.start(SIM_LAB, data_dir=tmp_path_factory.mktemp("data"), live_table=False, progress=False)
    yield s
    s.close()


def test_run_links_its_tags_and_reanalysis_matches_live_counts(lab_session):
    s = lab_session
    live = CoincidenceCounter((9, 11), window_ps=1_000)  # entangled pair: A_T with B_T
    (uid,) = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.3, channels=[1, 2, 9, 10, 11, 12], live_analyses=[live]))
    summary = s.table(uid, "summary").iloc[0]
    stamps, channels = read_run_tags(s.catalog, uid)
    assert stamps.dtype == np.int64 and np.all(np.diff(stamps) >= 0)
    for channel in (1, 2, 9, 10, 11, 12):
        assert np.count_nonzero(channels == channel) == summary[f"tagger_ch{channel}_tags"] > 0
    assert count_coincidences(stamps, channels, (9, 11), 1_000) == live.result() > 0
    files = tag_file_paths(s.catalog[uid])
    assert len(files) == 1 and files[0].is_file() and str(s.data_dir) in str(files[0])
    assert s.catalog[uid]["timetags"]["tagger_tag_delta_ps"].shape == (stamps.size,)
    assert not summary["tagger_overflowed"]


def test_storage_is_compact(lab_session):
    s = lab_session
    (uid,) = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.3, channels=[2, 3, 4, 5]))
    stamps, _ = read_run_tags(s.catalog, uid)
    size = tag_file_paths(s.catalog[uid])[0].stat().st_size
    assert size / stamps.size < 3.5  # bytes per tag, polarization receiver at ~7 MHz


def _pause_from_another_thread(RE, tagger, defer: bool, seen: dict) -> threading.Thread:
    """Ask for a pause (as Ctrl-C does) once the stream has written some tags."""

    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            streamer = tagger.streamer
            if streamer is not None and streamer.n_tags > 0 and RE.state == "running":
                seen["at"] = streamer.n_tags
                RE.request_pause(defer=defer)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_abort_keeps_every_tag_written_so_far(lab_session):
    from bluesky.utils import RunEngineInterrupted

    s = lab_session
    tagger = s.lab.tagger
    tagger._streamer = None
    seen = {}
    _pause_from_another_thread(s.RE, tagger, defer=False, seen=seen)
    try:
        with pytest.raises(RunEngineInterrupted):
            s.RE(plans.record_tags(tagger, duration_s=30.0, channels=[2, 3], collect_every_s=0.05))
        assert s.RE.state == "paused"
    finally:
        s.RE.abort("operator stopped the recording")
    run = s.catalog[-1]
    assert run.metadata["stop"]["exit_status"] == "abort"
    stamps, _ = read_run_tags(s.catalog, run.metadata["start"]["uid"])
    assert tagger.streamer.done
    assert stamps.size == tagger.streamer.n_tags >= seen["at"] > 0
    assert tagger.streamer.acquired_ps < 30e12  # it really stopped early


def test_pause_and_resume_continue_into_the_same_file(lab_session):
    from bluesky.utils import RunEngineInterrupted

    s = lab_session
    tagger = s.lab.tagger
    tagger._streamer = None
    seen = {}
    _pause_from_another_thread(s.RE, tagger, defer=True, seen=seen)
    try:
        with pytest.raises(RunEngineInterrupted):
            s.RE(plans.record_tags(tagger, duration_s=10.0, channels=[1], collect_every_s=0.05))
        held = tagger.streamer.n_tags
        time.sleep(0.3)  # paused: the stream must not grow
        assert tagger.streamer.n_tags == held and not tagger.streamer.done
        s.RE.resume()
    finally:
        if s.RE.state == "paused":
            s.RE.abort()
    run = s.catalog[-1]
    assert run.metadata["stop"]["exit_status"] == "success"
    stamps, _ = read_run_tags(s.catalog, run.metadata["start"]["uid"])
    assert stamps.size == tagger.streamer.n_tags > held >= seen["at"]
    assert tagger.streamer.acquired_ps == pytest.approx(10e12, rel=0.01)
    assert len(tag_file_paths(run)) == 1


def test_bad_arguments(lab_session):
    s = lab_session
    with pytest.raises(
        plans.PlanArgumentError, match=r"record_tags: duration_s: Input should be greater than 0 \(got -1\)"
    ):
        s.RE(plans.record_tags(s.lab.tagger, duration_s=-1))
    with pytest.raises(plans.PlanArgumentError, match=r"collect_every_s: Input should be greater than 0"):
        s.RE(plans.record_tags(s.lab.tagger, duration_s=1, collect_every_s=0))
    with pytest.raises(plans.PlanArgumentError, match=r"record_tags: channels \[42\] are not inputs of tagger"):
        s.RE(plans.record_tags(s.lab.tagger, duration_s=1, channels=[42]))
    with pytest.raises(plans.PlanArgumentError, match=r"tagger: Input should be an instance of StreamingTagger"):
        s.RE(plans.record_tags(s.lab.laser, duration_s=1))

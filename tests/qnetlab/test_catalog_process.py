"""The catalog process: documents reach the catalog, a killed parent loses none, failures come back."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bluesky import RunEngine
from bluesky.plans import count
from ophyd.sim import det

from qnetlab._catalog_process import CatalogProcess, CatalogWriteError
from qnetlab._run_liveness import wait_for_writers
from qnetlab._run_tables import StreamNotFound
from qnetlab.catalog import open_catalog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Three readings of ophyd's simulated detector, recorded through a catalog process."""
    data_dir = tmp_path_factory.mktemp("catalog") / "data"
    child = CatalogProcess(data_dir)
    RE = RunEngine({"scan_id": child.wait_ready()})
    RE.subscribe(child)
    (uid,) = RE(count([det], num=3))
    table = child.table(uid)
    with pytest.raises(StreamNotFound, match="no stream 'nope'"):
        child.table(uid, "nope")
    child.close()
    return data_dir, uid, table


def test_a_run_recorded_through_the_process_is_in_the_catalog(recorded):
    data_dir, uid, table = recorded
    run = open_catalog(data_dir)[uid]
    assert run.metadata["stop"]["exit_status"] == "success"
    assert list(run["primary"].read()["det"]) == list(table["det"]) and len(table) == 3


def test_the_next_process_counts_scan_ids_on(recorded):
    data_dir, uid, _ = recorded
    child = CatalogProcess(data_dir)
    try:
        assert child.wait_ready() == open_catalog(data_dir)[uid].metadata["start"]["scan_id"] == 1
    finally:
        child.close()


def test_a_parent_killed_mid_run_leaves_every_document_it_sent(tmp_path):
    """The parent sends a start, a descriptor and 50 events, then SIGKILLs itself: all 50 are written."""
    data_dir = tmp_path / "data"
    script = textwrap.dedent(
        f"""
        import os, signal
        from bluesky import RunEngine
        import bluesky.plan_stubs as bps, bluesky.preprocessors as bpp
        from ophyd.sim import det
        from qnetlab._catalog_process import CatalogProcess

        child = CatalogProcess({str(data_dir)!r})
        RE = RunEngine({{"scan_id": child.wait_ready()}})
        RE.subscribe(child)

        @bpp.run_decorator()
        def readings():
            for _ in range(50):
                yield from bps.trigger_and_read([det])
            os.kill(os.getpid(), signal.SIGKILL)  # before the stop document

        RE(readings())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    wait_for_writers(data_dir)
    before = open_catalog(data_dir, close_orphans=False)[-1]
    assert not before.metadata.get("stop") and len(before["primary"].read()["det"]) == 50
    after = open_catalog(data_dir)[-1]  # opening closes the orphan
    assert after.metadata["stop"]["exit_status"] == "fail" and "died" in after.metadata["stop"]["reason"]


def test_a_failed_write_fails_the_flush_then_the_next_document(tmp_path):
    child = CatalogProcess(tmp_path / "data")
    bad = {"uid": "e1", "descriptor": "no-such-descriptor", "time": 0.0, "seq_num": 1, "data": {}}
    try:
        child("event", bad)
        with pytest.raises(CatalogWriteError, match="catalog write of the event document failed"):
            child.flush()
        child("event", {**bad, "uid": "e2"})
        deadline = time.monotonic() + 60
        with pytest.raises(CatalogWriteError, match="catalog write of the event document failed"):
            while time.monotonic() < deadline:  # reported on a later document, once written
                child("event", {**bad, "uid": "e3"})
                time.sleep(0.05)
    finally:
        child.close()


def test_a_catalog_that_cannot_open_says_where(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    child = CatalogProcess(blocker / "data")
    try:
        with pytest.raises(CatalogWriteError, match=f"cannot open the catalog in {blocker / 'data'}"):
            child.wait_ready()
    finally:
        child.close()

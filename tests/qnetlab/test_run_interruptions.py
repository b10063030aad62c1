"""Signals, kill -9 and a full disk during `qnetlab run record_tags`: the run is closed, its tags linked.

Each test runs the real command line in a subprocess on the small lab of ``small_lab.yaml``
(a tagger and four inputs: it starts in a fraction of the default lab's time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qnetlab._run_liveness import wait_for_writers

REPO = Path(__file__).resolve().parents[2]
SMALL_LAB = Path(__file__).with_name("small_lab.yaml")
LINKED_KEY = "tagger_tag_delta_ps"
_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True, scope="module")
def _no_recording_left_behind():
    """A failed or timed-out test must not leave its recording running."""
    yield
    for process in _started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _start_recording(data_dir: Path, duration_s: float = 600) -> subprocess.Popen:
    command = [sys.executable, "-c", "from qnetlab.cli import main; main()", "run", "record_tags"]
    command += ["--duration", str(duration_s), "--config", str(SMALL_LAB), "--data-dir", str(data_dir), "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    _started.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    return _started[-1]


def _file_tags(path: Path, swmr: bool = True) -> int:
    import h5py
    import hdf5plugin  # noqa: F401

    with h5py.File(path, "r", swmr=swmr) as file:
        return int(file["timetags/timestamps_delta"].shape[0])


def _wait_for_tags(process: subprocess.Popen, data_dir: Path, n_tags: int, timeout_s: float = 240) -> Path:
    """The tag file once it holds ``n_tags`` (the recording is under way)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        files = list((data_dir / "timetags").rglob("*.h5")) if (data_dir / "timetags").exists() else []
        try:
            if files and _file_tags(files[0]) >= n_tags:
                return files[0]
        except (OSError, KeyError):
            pass  # being created
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"fewer than {n_tags} tags recorded: {process.communicate()[0]}")


def _newest_run(data_dir: Path, close_orphans: bool = True):
    from qnetlab.catalog import open_catalog

    return open_catalog(data_dir, close_orphans=close_orphans)[-1]


SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.fixture(scope="module")
def signalled_runs(tmp_path_factory):
    """One recording per signal, started together (their start-ups overlap), each signalled once it has tags."""
    runs = {}
    for signum in SIGNALS:
        data_dir = tmp_path_factory.mktemp(signal.Signals(signum).name) / "data"
        runs[signum] = (data_dir, _start_recording(data_dir))
    results = {}
    for signum, (data_dir, process) in runs.items():
        path = _wait_for_tags(process, data_dir, 1)
        process.send_signal(signum)
        results[signum] = (data_dir, path, process)
    return {signum: (d, p, process, process.communicate(timeout=120)[0]) for signum, (d, p, process) in results.items()}


@pytest.mark.parametrize("signum", list(SIGNALS))
def test_signal_aborts_the_run_and_links_every_tag(signalled_runs, signum):
    data_dir, path, process, output = signalled_runs[signum]
    assert process.returncode == SIGNALS[signum], output
    assert "Traceback" not in output
    run = _newest_run(data_dir, close_orphans=False)
    stop = run.metadata["stop"]
    assert stop["exit_status"] == "abort"
    assert signal.Signals(signum).name in stop["reason"]
    in_file = _file_tags(path, swmr=False)  # closed cleanly: opens without SWMR
    assert in_file > 0 and run["timetags"][LINKED_KEY].shape[0] == in_file


def test_kill_9_leaves_the_catalog_covering_the_file(tmp_path):
    """Before any repair the catalog links >= 95 % of the file; opening the catalog then closes the run."""
    from typer.testing import CliRunner

    from qnetlab.cli import app

    data_dir = tmp_path / "data"
    process = _start_recording(data_dir)
    # the catalog may trail by about one collect interval (0.5 s) of tags: kill once the file
    # holds ~40 collect intervals of the sim's tags, so one interval is under 5 % of it
    path = _wait_for_tags(process, data_dir, 1)
    started = time.monotonic()
    while time.monotonic() - started < 20 and process.poll() is None:
        time.sleep(0.25)
    process.kill()
    process.wait()
    wait_for_writers(data_dir)  # the command's catalog process writes what it was sent, then ends
    in_file = _file_tags(path)
    before_repair = _newest_run(data_dir, close_orphans=False)
    assert "stop" not in before_repair.metadata or not before_repair.metadata["stop"]
    linked = min(before_repair["timetags"][key].shape[0] for key in (LINKED_KEY, "tagger_tag_channel"))
    assert linked >= 0.95 * in_file, f"the catalog linked {linked} of the file's {in_file} tags"

    listed = CliRunner().invoke(app, ["runs", "--data-dir", str(data_dir)])
    assert listed.exit_code == 0 and "record_tags" in listed.output and " fail" in listed.output, listed.output
    run = _newest_run(data_dir)
    assert "died" in run.metadata["stop"]["reason"]
    assert run["timetags"][LINKED_KEY].shape[0] == in_file  # the repair links the rest
    assert CliRunner().invoke(app, ["repair", "--data-dir", str(data_dir)]).output.strip().startswith("no run left")


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_fails_the_run_and_links_what_the_file_holds(small_tmpfs):
    data_dir = small_tmpfs / "data"
    process = _start_recording(data_dir)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 1, output  # not -11 (SIGSEGV in HDF5's teardown)
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in output, output
    run = _newest_run(data_dir, close_orphans=False)
    stop = run.metadata["stop"]
    assert stop["exit_status"] == "fail" and "No space left on device" in stop["reason"]
    (path,) = (data_dir / "timetags").rglob("*.h5")
    readable = _written_tags(path)
    assert readable > 0 and run["timetags"][LINKED_KEY].shape[0] == readable
    assert run["timetags"]["tagger_tag_channel"].read().min() > 0  # every linked tag reads back, none a fill value


def _written_tags(path: Path) -> int:
    """Tags of the closed file up to the first never-written one (channel 0, HDF5's fill value)."""
    import h5py
    import hdf5plugin  # noqa: F401
    import numpy as np

    with h5py.File(path, "r") as file:  # closed: opens without SWMR
        channels = file["timetags/channels"][:]
    zeros = np.flatnonzero(channels == 0)
    return int(zeros[0] if zeros.size else channels.size)

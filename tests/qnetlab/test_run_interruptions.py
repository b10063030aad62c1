"""Signals, kill -9 and a full disk during `qnetlab run record_tags`: the run is closed, its tags linked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM_LAB = REPO / "config" / "sim_lab.yaml"


def _start_recording(data_dir: Path, duration_s: float = 120) -> subprocess.Popen:
    command = [sys.executable, "-c", "from qnetlab.cli import main; main()", "run", "record_tags"]
    command += ["--duration", str(duration_s)]
    command += ["--channels", "1,2,9", "--config", str(SIM_LAB), "--data-dir", str(data_dir), "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for_tags(process: subprocess.Popen, data_dir: Path, timeout_s: float = 120) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        files = list((data_dir / "timetags").rglob("*.h5")) if (data_dir / "timetags").exists() else []
        if files and files[0].stat().st_size > 1_000_000:
            return files[0]
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no tags recorded: {process.communicate()[0]}")


def _file_tags(path: Path) -> int:
    import h5py
    import hdf5plugin  # noqa: F401

    with h5py.File(path, "r", swmr=True) as file:
        return int(file["timetags/timestamps_delta"].shape[0])


def _newest_run(data_dir: Path):
    from qnetlab.catalog import open_catalog

    return open_catalog(data_dir)[-1]


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_aborts_the_run_and_links_every_tag(tmp_path, signum, exit_code):
    data_dir = tmp_path / "data"
    process = _start_recording(data_dir)
    path = _wait_for_tags(process, data_dir)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == exit_code, output
    assert "Traceback" not in output
    run = _newest_run(data_dir)
    stop = run.metadata["stop"]
    assert stop["exit_status"] == "abort"
    assert signal.Signals(signum).name in stop["reason"]
    import h5py
    import hdf5plugin  # noqa: F401

    with h5py.File(path, "r") as file:  # closed cleanly: opens without SWMR
        in_file = int(file["timetags/timestamps_delta"].shape[0])
    assert in_file > 0 and run["timetags"]["tagger_tag_delta_ps"].shape[0] == in_file


def test_kill_9_leaves_a_failed_run_covering_the_file(tmp_path):
    from typer.testing import CliRunner

    from qnetlab.cli import app

    data_dir = tmp_path / "data"
    process = _start_recording(data_dir)
    path = _wait_for_tags(process, data_dir)
    time.sleep(1.0)
    process.kill()
    process.wait()
    in_file = _file_tags(path)
    listed = CliRunner().invoke(app, ["runs", "--data-dir", str(data_dir)])
    assert listed.exit_code == 0 and "record_tags" in listed.output and " fail" in listed.output, listed.output
    run = _newest_run(data_dir)
    assert "died" in run.metadata["stop"]["reason"]
    linked = run["timetags"]["tagger_tag_delta_ps"].shape[0]
    assert linked >= 0.95 * in_file
    assert CliRunner().invoke(app, ["repair", "--data-dir", str(data_dir)]).output.strip().startswith("no run left")


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_fails_the_run_and_closes_it(small_tmpfs):
    data_dir = small_tmpfs / "data"
    process = _start_recording(data_dir, duration_s=600)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 1, output
    assert "No space left on device" in output and "Traceback" not in output
    run = _newest_run(data_dir)
    assert run.metadata["stop"]["exit_status"] == "fail"
    assert run["timetags"]["tagger_tag_delta_ps"].shape[0] > 0

"""Two runs at once on one data directory both succeed, on fresh and on existing directories.

Each process pays Python's and Tiled's imports once: a helper process imports them,
then forks both processes of each pair (single-threaded at that moment, so the fork is
safe) and lets them go at once through a pipe; each opens the catalog and records a short
run exactly as ``qnetlab run`` does (``open_catalog``, ``CatalogWriter``, a RunEngine).
One pair of the real command line on a fresh directory checks the whole path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL_LAB = Path(__file__).with_name("small_lab.yaml")
N_PAIRS = 20  # each pair is one independent try of the race (issue 11 asks twenty per case)

PAIRS_SCRIPT = r"""
import json, os, sys, time
from pathlib import Path

import bluesky.plans as bp
from bluesky import RunEngine
import aiosqlite, bluesky_tiled_plugins, starlette.testclient, tiled.catalog, tiled.server.app  # noqa: F401
import tiled.client.array, tiled.client.dataframe, tiled.client.xarray  # noqa: F401  (imported once, before the forks)

from qnetlab._run_liveness import CatalogWriter
from qnetlab.catalog import open_catalog


class Reading:
    '''The smallest bluesky Readable: one value.'''

    name, parent = "reading", None

    def read(self):
        return {"reading": {"value": 1.0, "timestamp": time.time()}}

    def describe(self):
        return {"reading": {"source": "test", "dtype": "number", "shape": []}}


def record(data_dir):
    directory = Path(data_dir)
    catalog = open_catalog(directory)
    RE = RunEngine({})
    writer = CatalogWriter(catalog, directory)
    RE.subscribe(writer)
    (uid,) = RE(bp.count([Reading()], num=3))
    writer.close()
    run = catalog[uid]
    assert run.metadata["stop"]["exit_status"] == "success", run.metadata["stop"]
    assert len(run["primary"]["reading"].read()) == 3


for pair in json.loads(sys.argv[1]):
    go_read, go_write = os.pipe()
    children = []
    for data_dir in pair:
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            os.read(go_read, 1)  # both wait here, then open the catalog at the same moment
            try:
                record(data_dir)
            except BaseException as error:
                print(f"{data_dir}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                os._exit(1)
            os._exit(0)
        children.append(pid)
    os.close(go_read)
    os.write(go_write, b"go")
    os.close(go_write)
    print(json.dumps([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]), flush=True)
"""


def _run_pairs(pairs: list[list[str]]) -> list[list[int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", PAIRS_SCRIPT, json.dumps(pairs)], capture_output=True, text=True, env=env, timeout=850
    )
    assert done.returncode == 0, done.stderr
    codes = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(codes) == len(pairs), done.stderr
    failed = [pair for code, pair in zip(codes, pairs, strict=True) if code != [0] * len(pair)]
    assert not failed, f"failed: {failed} (exit codes {codes})\n{done.stderr}"
    return codes


def _runs_in(data_dir: Path) -> list[dict]:
    from qnetlab.catalog import open_catalog

    catalog = open_catalog(data_dir)
    return [catalog[uid].metadata for uid in catalog]


def _one_run_catalog(directory: Path) -> None:
    """A data directory holding one finished run, recorded in this process."""
    import time

    import bluesky.plans as bp
    from bluesky import RunEngine

    from qnetlab._run_liveness import CatalogWriter
    from qnetlab.catalog import open_catalog

    class Reading:
        name, parent = "reading", None

        def read(self):
            return {"reading": {"value": 1.0, "timestamp": time.time()}}

        def describe(self):
            return {"reading": {"source": "test", "dtype": "number", "shape": []}}

    writer = CatalogWriter(open_catalog(directory), directory)
    RE = RunEngine({})
    RE.subscribe(writer)
    RE(bp.count([Reading()], num=3))
    writer.close()


@pytest.mark.slow
@pytest.mark.timeout(900)  # forty processes: about a minute on an idle 2-core machine, more on a loaded one
def test_twenty_pairs_on_fresh_data_directories(tmp_path):
    directories = [tmp_path / f"fresh-{i}" for i in range(N_PAIRS)]
    _run_pairs([[str(d), str(d)] for d in directories])
    for directory in directories[:3]:  # both runs recorded, closed as successes
        runs = _runs_in(directory)
        assert len(runs) == 2 and {r["stop"]["exit_status"] for r in runs} == {"success"}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.xdist_group("concurrent-runs-existing")  # no fixture shared with the fresh case: the other worker
def test_twenty_pairs_on_existing_data_directories(tmp_path):
    import shutil

    template = tmp_path / "template"
    _one_run_catalog(template)  # one run: the catalog exists (copied, so each pair finds its own)
    directories = [tmp_path / f"existing-{i}" for i in range(N_PAIRS)]
    for directory in directories:
        shutil.copytree(template, directory)
    _run_pairs([[str(d), str(d)] for d in directories])
    for directory in directories[:3]:
        runs = _runs_in(directory)
        assert len(runs) == 3 and {r["stop"]["exit_status"] for r in runs} == {"success"}


def test_two_command_line_runs_at_once_on_a_fresh_directory(tmp_path):
    data_dir = tmp_path / "data"
    command = [sys.executable, "-c", "from qnetlab.cli import main; main()", "run", "count_rates"]
    command += ["--duration", "0.2", "--config", str(SMALL_LAB), "--data-dir", str(data_dir), "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)]
    processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    outputs = [process.communicate(timeout=280)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    runs = _runs_in(data_dir)
    assert len(runs) == 2 and {r["stop"]["exit_status"] for r in runs} == {"success"}

"""A lab node's queue: the nightly job as one item while another plan waits its turn, and a manager
killed mid-night leaving the catalog consistent and the queue recoverable.

The nightly steps are the contract-following test plans of ``tests/qnetlab/nightly/nightly_step_plans.py``
(small, real measurements on the sim lab), put on the worker's path through ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qnetlab.served import queue

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[3]
SIM_LAB = REPO / "config" / "sim_lab.yaml"
STEP_PLANS = REPO / "tests" / "qnetlab" / "nightly"

NIGHT = """
drift_hours: 1
steps:
  - name: {rates}
    plan: nightly_step_plans:detector_rates
    devices: [tagger]
    args: {{min_rate_hz: 1.0, readings: {readings}, duration_s: {duration_s}}}
  - name: paddle
    plan: nightly_step_plans:paddle_step
    devices: [tagger, bob_pc]
    args: {{paddle1_deg: 40.0}}
    depends_on: [{rates}]
"""


@pytest.fixture
def step_plans_on_path(monkeypatch):
    """The worker (a child of the RE Manager) imports the test step plans; qnetlab from this tree."""
    paths = [str(STEP_PLANS), str(REPO), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _night(tmp_path, rates="rates", readings=3, duration_s=0.2) -> Path:
    path = tmp_path / "nightly.yaml"
    path.write_text(NIGHT.format(rates=rates, readings=readings, duration_s=duration_s))
    return path


def _manager(tmp_path, redis, data_dir, catalog_uri=None):
    manager = queue.start_manager(
        SIM_LAB, tmp_path / "queue", redis_port=redis.port, data_dir=data_dir, catalog_uri=catalog_uri
    )
    queue.open_environment(manager.address, log_path=manager.server.log_path)
    (tmp_path / "queue" / "address.json").write_text(json.dumps(vars(manager.address)))  # as 'queue start'
    return manager


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    from bluesky_queueserver_api.comm_base import RequestTimeoutError

    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except RequestTimeoutError:  # the manager answered late (its worker busy): ask again
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow  # two real engines and a lab in the worker: about 50 s on a loaded 2-core machine
def test_the_nightly_item_runs_while_a_second_plan_waits_its_turn(tmp_path, redis, step_plans_on_path):
    data = tmp_path / "data"
    night = _night(tmp_path, readings=5)
    with _manager(tmp_path, redis, data) as manager:
        api = manager.address.api()
        try:  # offered with its parameter descriptions, as queueserver reads them from the docstring
            offered = {p["name"]: p for p in api.plans_allowed()["plans_allowed"]["nightly"]["parameters"]}
        finally:
            api.close()
        assert set(offered) == {"config", "drift_hours", "report"}
        assert "nightly config file" in offered["config"]["description"].lower()
        command = ["nightly", "--queue", "--queue-dir", str(tmp_path / "queue"), "--nightly", str(night)]
        cli = subprocess.Popen(  # cron's command: submit the night, start the queue, wait, exit by the verdict
            [sys.executable, "-c", "from qnetlab.cli import main; main()", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait(lambda: queue.status(manager.address)["running_item_uid"], 90, "the nightly item to run")
        second = queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 0.1})
        state = queue.status(manager.address)
        running = state["running_item_uid"]
        assert running and [item["item_uid"] for item in state["queue"]] == [second]  # waiting, not running
        out, err = cli.communicate(timeout=240)
        queue.wait_until_idle(manager.address, 120)
        history = queue.status(manager.address)["history"]
    assert cli.returncode == 0, out + err[-3000:]
    assert [(item["item_uid"], item["name"]) for item in history] == [(running, "nightly"), (second, "count_rates")]
    assert all(item["result"]["exit_status"] == "completed" for item in history)
    assert "[PASSED ] rates" in out and "[PASSED ] paddle" in out and "PASS: all 2" in out, out

    from qnetlab.calibration_store import CalibrationStore
    from qnetlab.catalog import open_catalog

    catalog = open_catalog(data)
    *step_uids, summary_uid = history[0]["result"]["run_uids"]
    summary = catalog[summary_uid].metadata["start"]
    assert summary["plan_name"] == "nightly" and summary["nightly_passed"] is True
    steps = [catalog[uid].metadata["start"] for uid in step_uids]
    assert [s["nightly_step"] for s in steps] == ["rates", "paddle"]
    assert {s["nightly_id"] for s in steps} == {summary["nightly_id"]}
    assert all(catalog[uid].metadata["stop"]["exit_status"] == "success" for uid in step_uids)
    table = catalog[summary_uid]["steps"].read()
    assert list(table["nightly_status"]) == ["passed", "passed"]
    assert json.loads(table["nightly_run_uids"].values[1]) == [step_uids[1]]
    stored = CalibrationStore(data).history("bob_pc.paddle1_deg")[-1]
    assert stored["value"] == 40.0 and stored["run_uid"] == step_uids[1]  # the worker kept what passed
    assert Path(summary["nightly_report"]).is_file() and f"report: {summary['nightly_report']}" in out
    (count_uid,) = history[1]["result"]["run_uids"]
    assert catalog[count_uid].metadata["stop"]["exit_status"] == "success"


@pytest.mark.slow  # the lab opened twice in a worker: about 70 s on a loaded 2-core machine
def test_a_manager_killed_mid_night_leaves_the_catalog_consistent_and_the_queue_recoverable(
    tmp_path, redis, catalog_server, step_plans_on_path, monkeypatch
):
    uri, api_key, nodes = catalog_server
    monkeypatch.setenv("QNETLAB_API_KEY", api_key)
    data = nodes / "killed-night"
    from qnetlab.catalog import open_catalog
    from qnetlab.served.nightly_queue import submit_nightly

    catalog = open_catalog(uri=uri, api_key=api_key)
    step = f"rates_{os.getpid()}_{time.time_ns()}"  # this test's runs, in a catalog other tests share
    night = _night(tmp_path, rates=step, readings=30, duration_s=1.0)
    manager = _manager(tmp_path, redis, data, catalog_uri=uri)
    try:
        submit_nightly(manager.address, night)
        queued = queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 0.1})
        queue.start_queue(manager.address)
        _wait(lambda: len(_runs_of(catalog, step)) == 1, 90, "the night's first step to start")
        time.sleep(2.0)  # mid-step
        os.killpg(manager.server.process.pid, signal.SIGKILL)  # the manager and its worker
        manager.server.process.wait()
    finally:
        manager.stop()

    (killed,) = _runs_of(catalog, step)
    assert not catalog[killed].metadata.get("stop")  # left open by the killed worker
    with _manager(tmp_path, redis, data, catalog_uri=uri) as restarted:  # its worker closes the orphan
        state = queue.status(restarted.address)
        assert queued in [item["item_uid"] for item in state["queue"]]  # the queue survived in Redis
        queue.start_queue(restarted.address)
        queue.wait_until_idle(restarted.address, 180)
        history = queue.status(restarted.address)["history"]
    done = [item for item in history if item["item_uid"] == queued]
    assert done and done[-1]["result"]["exit_status"] == "completed"
    (count_uid,) = done[-1]["result"]["run_uids"]
    assert catalog[count_uid].metadata["stop"]["exit_status"] == "success"

    stop = catalog[killed].metadata["stop"]
    assert stop["exit_status"] == "fail" and "died" in stop["reason"], stop
    night_id = catalog[killed].metadata["start"]["nightly_id"]
    from tiled.queries import Key

    of_the_night = catalog.search(Key("start.nightly_id") == night_id)
    assert list(of_the_night) == [killed]  # no later step, no summary run claiming a verdict
    from qnetlab.calibration_store import CalibrationStore

    assert CalibrationStore(data).current() == {}  # nothing stored from a night that never finished


def _runs_of(catalog, step: str) -> list[str]:
    from tiled.queries import Key

    return list(catalog.search(Key("start.nightly_step") == step))

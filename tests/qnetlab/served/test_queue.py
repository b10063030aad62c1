"""A lab node's queue: plans wait their turn, and a killed RE Manager leaves everything recoverable."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from qnetlab.served import queue

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[3]
SIM_LAB = REPO / "config" / "sim_lab.yaml"


def _manager(tmp_path, redis, node="lab"):
    manager = queue.start_manager(
        SIM_LAB, tmp_path / f"queue-{node}", redis_port=redis.port, node=node, data_dir=tmp_path / "data"
    )
    queue.open_environment(manager.address, log_path=manager.server.log_path)
    return manager


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_plan_waits_its_turn(tmp_path, redis):
    with _manager(tmp_path, redis) as manager:
        first = queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 1.0, "num": 2})
        second = queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 0.1})
        queue.start_queue(manager.address)
        _wait(lambda: queue.status(manager.address)["running_item_uid"] == first, 60, "the first plan to run")
        state = queue.status(manager.address)
        assert [item["item_uid"] for item in state["queue"]] == [second]  # waiting, not running
        queue.wait_until_idle(manager.address, 120)
        history = queue.status(manager.address)["history"]
    assert [item["item_uid"] for item in history] == [first, second]
    assert all(item["result"]["exit_status"] == "completed" for item in history)

    from qnetlab.catalog import open_catalog

    catalog = open_catalog(tmp_path / "data")
    for item in history:
        (uid,) = item["result"]["run_uids"]
        assert catalog[uid].metadata["stop"]["exit_status"] == "success"


def test_a_killed_manager_leaves_the_queue_recoverable(tmp_path, redis):
    manager = _manager(tmp_path, redis)
    try:
        queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 1.0, "num": 30})
        queued = queue.submit(manager.address, "count_rates", kwargs={"tagger": "tagger", "duration_s": 0.1})
        queue.start_queue(manager.address)
        _wait(lambda: queue.status(manager.address)["manager_state"] == "executing_queue", 60, "the queue to run")
        time.sleep(3.0)  # mid-plan
        os.killpg(manager.server.process.pid, signal.SIGKILL)  # the manager and its worker
        manager.server.process.wait()
    finally:
        manager.stop()

    with _manager(tmp_path, redis) as restarted:
        state = queue.status(restarted.address)
        assert queued in [item["item_uid"] for item in state["queue"]]  # the queue survived in Redis
        queue.start_queue(restarted.address)
        queue.wait_until_idle(restarted.address, 180)
        history = queue.status(restarted.address)["history"]
    assert any(item["item_uid"] == queued and item["result"]["exit_status"] == "completed" for item in history)

    from qnetlab.catalog import open_catalog

    catalog = open_catalog(tmp_path / "data")  # the killed worker's run: closed, not running for ever
    stops = [catalog[uid].metadata.get("stop") for uid in catalog]
    assert len(stops) == 2 and all(stops), stops
    assert sorted(stop["exit_status"] for stop in stops) == ["fail", "success"]

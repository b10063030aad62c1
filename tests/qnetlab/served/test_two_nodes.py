"""Two lab nodes, each its own RE Manager on its own part of the sim world, one catalog server."""

from __future__ import annotations

from pathlib import Path

import pytest

from qnetlab.served import queue

pytestmark = pytest.mark.services

NODES = Path(__file__).resolve().parents[3] / "config" / "nodes"


def test_alice_and_bob_nodes_write_to_one_catalog(catalog_server, redis, tmp_path):
    uri, api_key, node_dirs = catalog_server
    managers = {}
    try:
        for node, tagger in (("alice", "alice_tagger"), ("bob", "bob_tagger")):
            manager = queue.start_manager(
                NODES / f"sim_{node}.yaml",
                tmp_path / f"queue-{node}",
                redis_port=redis.port,  # one Redis, a key prefix per node
                node=node,
                data_dir=node_dirs / node,
                catalog_uri=uri,
                api_key=api_key,
            )
            managers[node] = manager
            queue.open_environment(manager.address, log_path=manager.server.log_path)
            queue.submit(manager.address, "count_rates", kwargs={"tagger": tagger, "duration_s": 0.2, "num": 2})
        for manager in managers.values():
            queue.start_queue(manager.address)
        results = {}
        for node, manager in managers.items():
            queue.wait_until_idle(manager.address, 180)
            (item,) = queue.status(manager.address)["history"]
            assert item["result"]["exit_status"] == "completed", item["result"]
            results[node] = item["result"]["run_uids"][0]
            assert queue.status(manager.address)["queue"] == []  # each node's queue is its own
    finally:
        for manager in managers.values():
            manager.stop()

    from qnetlab.catalog import open_catalog

    catalog = open_catalog(uri=uri, api_key=api_key)
    for node, uid in results.items():
        run = catalog[uid]
        assert run.metadata["start"]["lab"] == f"sim_{node}"
        assert run.metadata["stop"]["exit_status"] == "success"
        rates = run["primary"].read()
        assert (rates[f"{node}_tagger_ch1_rate_hz"] > 0).all()

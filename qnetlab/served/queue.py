"""A lab node's plan queue: bluesky-queueserver's RE Manager over Redis, and a client for it.

``start_manager`` runs ``start-re-manager`` for one node (its lab config, its Redis key prefix,
its ZMQ ports); the worker imports :mod:`qnetlab.served.queue_startup`, so the allowed plans are
qnetlab's and the devices are the lab's. Whoever holds the instruments is the queue: the nightly
job and IPython users submit plans (``qnetlab queue add``, or bluesky-queueserver-api from IPython)
instead of opening the instruments themselves.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qnetlab.served.processes import ServerProcess, ServiceError, free_port

PERMISSIONS = {
    "user_groups": {
        "root": {
            "allowed_plans": [None],
            "forbidden_plans": [":^_"],
            "allowed_devices": [None],
            "forbidden_devices": [":^_:?.*"],
            "allowed_functions": [None],
            "forbidden_functions": [":^_"],
        },
        "primary": {
            "allowed_plans": [":.*"],
            "forbidden_plans": [None],
            "allowed_devices": [":?.*:depth=3"],
            "forbidden_devices": [None],
            "allowed_functions": [None],
            "forbidden_functions": [None],
        },
    }
}


@dataclass
class QueueAddress:
    """Where a node's RE Manager listens (ZMQ control and info sockets), and where its worker records.

    ``data_dir`` and ``catalog_uri`` are the worker's (``catalog_uri`` None: the embedded catalog in
    ``data_dir``), so a client on the node reads back the runs of its items; never the API key.
    """

    control: str
    info: str
    data_dir: str | None = None
    catalog_uri: str | None = None

    def api(self, timeout_s: float = 10.0) -> Any:
        """A bluesky-queueserver-api client of this manager."""
        from bluesky_queueserver_api.zmq import REManagerAPI

        return REManagerAPI(zmq_control_addr=self.control, zmq_info_addr=self.info, timeout_recv=timeout_s)


@dataclass
class RunningManager:
    """A started RE Manager: its process and address."""

    server: ServerProcess
    address: QueueAddress

    def stop(self) -> None:
        self.server.stop(timeout_s=20.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_manager(
    config: Path,
    directory: Path,
    *,
    redis_port: int,
    node: str = "lab",
    data_dir: Path | None = None,
    catalog_uri: str | None = None,
    api_key: str | None = None,
    control_port: int | None = None,
    info_port: int | None = None,
    timeout_s: float = 60.0,
) -> RunningManager:
    """Start an RE Manager for the lab of ``config``; its files (permissions, plan list, log) in ``directory``.

    ``node`` prefixes the Redis keys, so several nodes can share one Redis.
    """
    directory.mkdir(parents=True, exist_ok=True)
    permissions = directory / "user_group_permissions.yaml"
    permissions.write_text(yaml.safe_dump(PERMISSIONS, sort_keys=False))
    control_port, info_port = control_port or free_port(), info_port or free_port()
    worker_data = Path(data_dir or os.environ.get("QNETLAB_DATA_DIR") or "data").resolve()
    catalog_uri = catalog_uri or os.environ.get("QNETLAB_CATALOG_URI") or None
    address = QueueAddress(
        f"tcp://127.0.0.1:{control_port}", f"tcp://127.0.0.1:{info_port}", str(worker_data), catalog_uri
    )
    env = dict(os.environ, QNETLAB_CONFIG=str(Path(config).resolve()), QNETLAB_DATA_DIR=str(worker_data))
    if catalog_uri:
        env["QNETLAB_CATALOG_URI"] = catalog_uri
    if api_key:
        env["QNETLAB_API_KEY"] = api_key
    argv = [
        Path(sys.executable).with_name("start-re-manager"),
        "--startup-module", "qnetlab.served.queue_startup",
        "--keep-re",
        "--existing-plans-devices", directory / "existing_plans_and_devices.yaml",
        "--update-existing-plans-devices", "ENVIRONMENT_OPEN",
        "--user-group-permissions", permissions,
        "--redis-addr", f"127.0.0.1:{redis_port}",
        "--redis-name-prefix", f"qnetlab_{node}",
        "--zmq-control-addr", f"tcp://127.0.0.1:{control_port}",
        "--zmq-info-addr", f"tcp://127.0.0.1:{info_port}",
        "--zmq-publish-console", "ON",
    ]  # fmt: skip
    server = ServerProcess(argv, port=control_port, log_path=directory / "re-manager.log", what="RE Manager", env=env)
    return RunningManager(server.wait_ready(timeout_s), address)


def open_environment(address: QueueAddress, timeout_s: float = 180.0, log_path: Path | None = None) -> None:
    """Open the worker environment (starts the lab) and wait until it is idle.

    ``log_path``: the manager's log, named in the error if the environment does not open.
    """
    api = address.api()
    try:
        status = api.status()
        if not status["worker_environment_exists"]:
            api.environment_open()
            api.wait_for_idle(timeout=int(timeout_s))
        status = api.status()
        if not status["worker_environment_exists"]:
            where = f" ({log_path})" if log_path else ""
            raise ServiceError(
                f"RE Manager at {address.control}: the worker environment did not open; see its log{where}"
            )
    finally:
        api.close()


def submit(address: QueueAddress, plan: str, *, kwargs: dict | None = None, args: list | None = None) -> str:
    """Add ``plan`` to the back of the queue; returns the item uid."""
    from bluesky_queueserver_api import BPlan

    api = address.api()
    try:
        reply = api.item_add(BPlan(plan, *(args or []), **(kwargs or {})))
        return reply["item"]["item_uid"]
    finally:
        api.close()


def start_queue(address: QueueAddress) -> None:
    api = address.api()
    try:
        if api.status()["manager_state"] == "idle":
            api.queue_start()
    finally:
        api.close()


def status(address: QueueAddress) -> dict:
    """The manager's status, with the queue's items and the history's last results."""
    api = address.api()
    try:
        state = dict(api.status())
        state["queue"] = api.queue_get()["items"]
        state["history"] = api.history_get()["items"]
        return state
    finally:
        api.close()


def _late_answer_is_none(call):
    """``call()``, or None when the manager answered too late (busy, e.g. its worker opening a lab):
    a waiting loop asks again until its own deadline instead of failing on one slow answer."""
    from bluesky_queueserver_api.comm_base import RequestTimeoutError

    try:
        return call()
    except RequestTimeoutError:
        return None


def wait_for_item(address: QueueAddress, item_uid: str, timeout_s: float) -> dict:
    """Wait until item ``item_uid`` is in the history (done, whatever its exit status); returns it."""
    deadline = time.monotonic() + timeout_s
    api = address.api()
    try:
        while time.monotonic() < deadline:
            history = _late_answer_is_none(api.history_get) or {"items": []}
            for item in reversed(history["items"]):
                if item["item_uid"] == item_uid:
                    return dict(item)
            time.sleep(0.5)
    finally:
        api.close()
    raise ServiceError(f"RE Manager at {address.control}: item {item_uid} not done within {timeout_s:g} s")


def wait_until_idle(address: QueueAddress, timeout_s: float) -> dict:
    """Wait until the queue is empty and the manager idle; returns the final status."""
    deadline = time.monotonic() + timeout_s
    api = address.api()
    try:
        while time.monotonic() < deadline:
            state = _late_answer_is_none(api.status)
            if state is not None and state["manager_state"] == "idle" and state["items_in_queue"] == 0:
                return dict(state)
            time.sleep(0.2)
    finally:
        api.close()
    raise ServiceError(f"RE Manager at {address.control}: queue not done within {timeout_s:g} s")

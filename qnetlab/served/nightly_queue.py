"""The nightly job submitted to a lab node's queue as one item, and its outcome read back.

The node's RE Manager holds the instruments; ``qnetlab nightly --queue`` does not open them. It
adds one ``nightly`` item (:func:`qnetlab.nightly.plan.queue_nightly`) to the back of the queue,
starts the queue if it is idle, waits until the item is done (plans queued before it run first)
and reads the night's summary run from the catalog the worker writes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qnetlab.served import queue
from qnetlab.served.processes import ServiceError


@dataclass
class QueuedNight:
    """A nightly item done: its queue item, the night's summary and the uids of its runs."""

    item_uid: str
    passed: bool
    verdict: str
    summary: list[str]
    report: str | None
    recoveries: list[str]
    run_uids: list[str]


def submit_nightly(address: queue.QueueAddress, nightly_config: Path, drift_hours: float | None = None) -> str:
    """Add the ``nightly`` item for ``nightly_config`` (a file the node can read) to the queue; its uid."""
    kwargs: dict[str, Any] = {"config": str(Path(nightly_config).resolve())}
    if drift_hours is not None:
        kwargs["drift_hours"] = float(drift_hours)
    return queue.submit(address, "nightly", kwargs=kwargs)


def wait_for_night(address: queue.QueueAddress, item_uid: str, catalog: Any, timeout_s: float) -> QueuedNight:
    """Wait for the nightly item, then read its summary run from ``catalog`` (the worker's).

    Raises :class:`ServiceError` when the item did not complete (with the manager's message) or
    its runs are not in ``catalog``.
    """
    from qnetlab.nightly.plan import SUMMARY_PLAN, summary_of

    item = queue.wait_for_item(address, item_uid, timeout_s)
    result = item.get("result", {})
    uids = list(result.get("run_uids", []))
    if result.get("exit_status") != "completed":
        why = (result.get("msg") or "").strip().splitlines()
        raise ServiceError(
            f"nightly item {item_uid}: {result.get('exit_status')}" + (f": {why[-1]}" if why else "")
            + (f" (runs {', '.join(u[:8] for u in uids)})" if uids else "")
        )  # fmt: skip
    for uid in reversed(uids):
        try:
            run = catalog[uid]
        except KeyError:
            raise ServiceError(
                f"nightly item {item_uid}: run {uid} is not in this catalog; give the worker's "
                "--catalog-uri or --data-dir"
            ) from None
        if run.metadata["start"].get("plan_name") == SUMMARY_PLAN:
            night = summary_of(run)
            return QueuedNight(
                item_uid,
                night["passed"],
                night["verdict"],
                night["summary"],
                night["report"],
                night["recoveries"],
                uids,
            )
    raise ServiceError(f"nightly item {item_uid}: no summary run among its runs {uids}")

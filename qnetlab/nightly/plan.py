"""The nightly job as one Bluesky plan: what a lab node's queue runs as a single item.

:func:`nightly_plan` runs the steps of a nightly config inside one RunEngine call, with the
job's logic (:mod:`qnetlab.nightly.job`): dependencies skip, a run that raised is retried, a
threshold miss is final, what passed goes to the calibration store, a failed step's last good
settings are written back. It ends with one more run, ``plan_name: nightly``, that records the
night's summary: its start document holds ``nightly_id``, ``nightly_passed``,
``nightly_verdict``, ``nightly_summary`` (one line per step) and ``nightly_report`` (the HTML
report's path); its ``steps`` stream one event per step. :func:`queue_nightly` binds the plan
to a session, with the signature and docstring bluesky-queueserver offers as ``nightly``.

An abort or stop from the RunEngine ends the night at once: the running step's run is closed
by its plan, the steps after it are not run and no summary run is written.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Annotated, Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import RunEngineControlException
from ophyd import Signal
from pydantic import Field

from qnetlab.calibration_store import CalibrationStore
from qnetlab.nightly import job as _job
from qnetlab.nightly.config import NightlyConfig, Step, load_nightly_config
from qnetlab.nightly.job import FAILED, PASSED, SKIPPED, JobResult, StepResult, resolve_plan
from qnetlab.plans._arguments import PlanArgumentError, plan_arguments

DEFAULT_NIGHTLY = Path(__file__).resolve().parent.parent / "data" / "nightly.yaml"
SUMMARY_PLAN = "nightly"
_STEP_FIELDS = ("step", "plan", "status", "reason", "attempts", "duration_s", "run_uids", "figures")


def nightly_plan(
    session: Any,
    nightly: NightlyConfig,
    *,
    drift_hours: float | None = None,
    watch: Any = None,
    on_step: Callable[[StepResult], None] | None = None,
    report_dir: str | Path | None = None,
) -> Generator[Any, Any, JobResult]:
    """Run ``nightly``'s steps on ``session`` as one plan; returns the :class:`JobResult`.

    ``session`` needs ``lab``, ``catalog`` and ``data_dir`` (a :class:`qnetlab.session.Session`);
    ``drift_hours`` (default: the config's) runs a simulated world forward first; ``watch`` a
    :class:`~qnetlab.nightly.suspenders.LabHealthWatch` already installed; ``report_dir``: write
    the HTML report there before the summary run (None: no report).
    """
    started: list[str] = []  # uid of every run this plan opens, in order

    def collect(name: str, doc: dict) -> None:
        started.append(doc["uid"])

    def night():
        hours = nightly.drift_hours if drift_hours is None else drift_hours
        world = getattr(session.lab, "world", None)
        if world is not None and hours > 0:
            world.advance(int(round(hours * 3600e12)))
        job = JobResult(str(uuid.uuid4()), time.time(), [], drift_hours=hours if world is not None else 0.0)
        store = CalibrationStore(session.data_dir)
        for step in nightly.steps:
            result = _job._blocked(step, job)
            if result is None:
                result = yield from _step(session, step, job, store, watch, started)
            job.steps.append(result)
            if on_step is not None:
                on_step(result)
        if watch is not None:
            job.recoveries = list(watch.recoveries)
        report = None
        if report_dir is not None:
            from qnetlab.nightly.report import write_report

            report = write_report(job, session.catalog, report_dir)
        yield from _summary_run(job, report)
        return job

    return (yield from bpp.subs_wrapper(night(), {"start": [collect]}))


def _step(session: Any, step: Step, job: JobResult, store: CalibrationStore, watch: Any, started: list[str]):
    """One step as plan messages: attempts, outcome from the catalog, write-back on failure."""
    result = StepResult(step.name, step.plan, FAILED)
    began = time.perf_counter()
    try:
        plan = resolve_plan(step.plan)
        devices = [_job._device(session.lab, step, name) for name in step.devices]
    except (LookupError, ImportError) as error:
        result.reason = str(error)
        return result
    md = {"nightly_id": job.nightly_id, "nightly_step": step.name}
    for attempt in range(1, step.retries + 2):
        result.attempts = attempt
        before = len(started)
        try:
            with watch.watching(step.devices) if watch is not None else _Nothing():
                yield from plan(*devices, **step.args, md=md)
        except RunEngineControlException:
            raise  # abort or stop from the RunEngine: the night ends here
        except Exception as error:
            result.reason = f"attempt {attempt}: {type(error).__name__}: {error}"
            result.run_uids += started[before:]
            if isinstance(error, PlanArgumentError):
                break  # the config is wrong: another attempt would fail the same way
            continue
        uids = started[before:]
        result.run_uids += uids
        if not uids:
            result.reason = "the plan opened no run"
            continue
        _job._take_outcome(session, result, uids[-1], store, step)
        break
    result.duration_s = time.perf_counter() - began
    if result.status != PASSED:
        try:
            result.restored = _job._restore(session.lab, store, step.name)
        except Exception as error:  # say so; the store still holds the good values for the next start
            result.reason += f"; writing back the previous settings failed: {error}"
    return result


def _summary_run(job: JobResult, report: Path | None):
    """The night's summary run: the verdict in its start document, one ``steps`` event per step."""
    signals = {key: Signal(name=f"nightly_{key}", value="") for key in _STEP_FIELDS}
    readables: list[Any] = list(signals.values())  # ophyd Signals, untyped against bluesky's Readable
    md = {
        "plan_name": SUMMARY_PLAN,
        "nightly_id": job.nightly_id,
        "nightly_passed": job.passed,
        "nightly_verdict": job.verdict(),
        "nightly_summary": [step.summary_line() for step in job.steps],
        "nightly_report": str(report) if report is not None else None,
        "nightly_recoveries": list(job.recoveries),
        "drift_hours": job.drift_hours,
    }

    @bpp.run_decorator(md=md)
    def record():
        for step in job.steps:
            figures = {"before": step.figures_before, "after": step.figures_after}
            values = (step.name, step.plan, step.status, step.reason, step.attempts, step.duration_s)
            values += (json.dumps(step.run_uids), json.dumps(figures))
            for key, value in zip(_STEP_FIELDS, values, strict=True):
                signals[key].put(value)
            yield from bps.trigger_and_read(readables, name="steps")

    return (yield from record())


def summary_of(run: Any) -> dict[str, Any]:
    """The night's summary from its summary run (``plan_name: nightly``): passed, verdict, lines, report."""
    start = run.metadata["start"]
    if start.get("plan_name") != SUMMARY_PLAN:
        raise ValueError(f"run {start.get('uid')}: not a nightly summary run (plan_name {start.get('plan_name')!r})")
    return {
        "passed": bool(start["nightly_passed"]),
        "verdict": start["nightly_verdict"],
        "summary": list(start["nightly_summary"]),
        "report": start.get("nightly_report"),
        "recoveries": list(start.get("nightly_recoveries", [])),
    }


def queue_nightly(session: Any) -> Callable[..., Any]:
    """The ``nightly`` plan a lab node's queue offers, bound to ``session`` (the worker's lab and catalog)."""

    @plan_arguments
    def nightly(
        config: Annotated[str, Field(min_length=1, description="nightly config file on the lab node")] = str(
            DEFAULT_NIGHTLY
        ),
        drift_hours: Annotated[float, Field(ge=0.0, le=720.0)] | None = None,
        report: bool = True,
    ):
        """Run the nightly calibration of the lab: every step of a nightly config, then a summary run.

        Steps whose dependencies did not pass are skipped; what passed goes to the calibration
        store; a failed step's last good settings are written back. The summary run
        (``plan_name: nightly``) holds the verdict and one line per step.

        Parameters
        ----------
        config
            Nightly config file (YAML: steps, arguments, retries, depends_on) on the lab node;
            default: the one shipped with qnetlab.
        drift_hours
            Simulated labs only: run the world forward this long first (h, 0..720);
            default: the config's.
        report
            Write the HTML report to ``<data-dir>/reports`` (its path is in the summary run).
        """
        steps = load_nightly_config(config)  # NightlyConfigError names the file and key
        from qnetlab.nightly.suspenders import LabHealthWatch

        watch = LabHealthWatch(session.lab, session.RE)
        watch.install()
        report_dir = Path(session.data_dir) / "reports" if report else None
        plan = nightly_plan(session, steps, drift_hours=drift_hours, watch=watch, report_dir=report_dir)
        return (yield from bpp.finalize_wrapper(plan, _closing(watch)))

    return nightly


def _closing(watch: Any):
    watch.close()
    yield from bps.null()


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


__all__ = ["DEFAULT_NIGHTLY", "FAILED", "PASSED", "SKIPPED", "nightly_plan", "queue_nightly", "summary_of"]

"""The nightly calibration job: run the steps of a nightly config on a lab, keep what passed.

Each step is one plan (a name in :mod:`qnetlab.plans`, or ``module:function``) called
with the lab devices the config names and its arguments; one run per attempt, tagged
with ``nightly_id`` and ``nightly_step`` in the start document. A run that raised (an
instrument error) is retried up to the step's ``retries``; a completed run's outcome is
read back from the catalog (its ``calibration`` stream). Passed and applied settings go
to the calibration store with their provenance; a failed step's earlier good settings
are written back to the devices; steps depending on a step that did not pass are skipped
with the reason.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qnetlab.calibration_store import CalibrationStore, Provenance, apply_settings
from qnetlab.nightly.config import NightlyConfig, Step
from qnetlab.nightly.outcome import outcome
from qnetlab.plans._arguments import PlanArgumentError

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
SUMMARY_FIGURES = 6  # figures of merit on a step's summary line (all of them are in the report)


@dataclass
class StepResult:
    """What one step did: its status, why, its run(s), figures and the settings it left in force."""

    name: str
    plan: str
    status: str = SKIPPED
    reason: str = ""
    run_uids: list[str] = field(default_factory=list)
    attempts: int = 0
    duration_s: float = 0.0
    figures_before: dict[str, float] = field(default_factory=dict)
    figures_after: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    applied: bool = False
    restored: dict[str, Any] = field(default_factory=dict)

    def summary_line(self) -> str:
        """One line: status, name, time, the figures before -> after, the run."""
        shown = list(self.figures_after.items())[:SUMMARY_FIGURES]
        figures = ", ".join(f"{k} {self.figures_before.get(k, float('nan')):.4g} -> {v:.4g}" for k, v in shown)
        if len(self.figures_after) > len(shown):
            figures += f" (+{len(self.figures_after) - len(shown)} more in the report)"
        run = f" run {self.run_uids[-1][:8]}" if self.run_uids else ""
        why = f": {self.reason}" if self.reason else ""
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        return (
            f"[{self.status.upper():7}] {self.name} ({self.plan}) {self.duration_s:.1f} s{tries}{run}"
            + (f"  {figures}" if figures else "")
            + why
        )


@dataclass
class JobResult:
    """The whole night: its id, the steps in order, the suspenders' recoveries."""

    nightly_id: str
    started: float
    steps: list[StepResult]
    drift_hours: float = 0.0
    recoveries: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(step.status == PASSED for step in self.steps)

    def verdict(self) -> str:
        """The one-line verdict of the night."""
        bad = [s for s in self.steps if s.status != PASSED]
        if not bad:
            return f"PASS: all {len(self.steps)} calibration steps passed"
        failed = [s.name for s in bad if s.status == FAILED]
        skipped = [s.name for s in bad if s.status == SKIPPED]
        parts = [f"{len(failed)} failed ({', '.join(failed)})"] if failed else []
        parts += [f"{len(skipped)} skipped ({', '.join(skipped)})"] if skipped else []
        return f"FAIL: {'; '.join(parts)} of {len(self.steps)} steps; previous calibration kept for those"


def resolve_plan(name: str) -> Callable[..., Any]:
    """The plan function called ``name`` in :mod:`qnetlab.plans`, or ``package.module:function``."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        module = importlib.import_module(module_name)
    else:
        from qnetlab import plans as module

        attribute = name
    plan = getattr(module, attribute, None)
    if not callable(plan):
        known = ", ".join(getattr(module, "__all__", []))
        raise LookupError(f"plan {name!r} is not in {module.__name__} (it has: {known})")
    return plan


def run_job(
    session: Any,
    nightly: NightlyConfig,
    *,
    drift_hours: float | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    watch: Any = None,
    stop_requested: Callable[[], str | None] | None = None,
) -> JobResult:
    """Run ``nightly``'s steps on ``session`` (a :class:`qnetlab.session.Session`); see the module docstring.

    ``drift_hours`` (default: the config's) runs a simulated world forward first;
    ``on_step`` is called with each finished step; ``watch`` a
    :class:`~qnetlab.nightly.suspenders.LabHealthWatch` already installed.
    """
    hours = nightly.drift_hours if drift_hours is None else drift_hours
    world = getattr(session.lab, "world", None)
    if world is not None and hours > 0:
        world.advance(int(round(hours * 3600e12)))
    job = JobResult(nightly_id=str(uuid.uuid4()), started=time.time(), steps=[], drift_hours=hours if world else 0.0)
    store = CalibrationStore(session.data_dir)
    for step in nightly.steps:
        stop = stop_requested() if stop_requested is not None else None
        if stop:
            result = StepResult(step.name, step.plan, SKIPPED, f"job stopped: {stop}")
        else:
            result = _blocked(step, job) or _run_step(session, step, job, store, watch)
        job.steps.append(result)
        if on_step is not None:
            on_step(result)
    if watch is not None:
        job.recoveries = list(watch.recoveries)
    return job


def _blocked(step: Step, job: JobResult) -> StepResult | None:
    done = {s.name: s for s in job.steps}
    for dependency in step.depends_on:
        before = done[dependency]
        if before.status != PASSED:
            why = f"{before.status}: {before.reason}" if before.reason else before.status
            return StepResult(step.name, step.plan, SKIPPED, f"depends on {dependency}, which {why}")
    return None


def _run_step(session: Any, step: Step, job: JobResult, store: CalibrationStore, watch: Any) -> StepResult:
    result = StepResult(step.name, step.plan, FAILED)
    began = time.perf_counter()
    try:
        plan = resolve_plan(step.plan)
        devices = [_device(session.lab, step, name) for name in step.devices]
    except (LookupError, ImportError) as error:
        result.reason = str(error)
        return result
    md = {"nightly_id": job.nightly_id, "nightly_step": step.name}
    for attempt in range(1, step.retries + 2):
        result.attempts = attempt
        uids: list[str] = []
        token = session.RE.subscribe(lambda name, doc, uids=uids: uids.append(doc["uid"]), "start")
        try:
            with watch.watching(step.devices) if watch is not None else _nothing():
                session.RE(plan(*devices, **step.args, md=md))
        except Exception as error:
            result.reason = f"attempt {attempt}: {type(error).__name__}: {error}"
            result.run_uids += uids
            if isinstance(error, PlanArgumentError):
                break  # the config is wrong: another attempt would fail the same way
            continue
        finally:
            session.RE.unsubscribe(token)
        result.run_uids += uids
        if not uids:
            result.reason = "the plan opened no run"
            continue
        _take_outcome(session, result, uids[-1], store, step)
        break
    result.duration_s = time.perf_counter() - began
    if result.status != PASSED:
        try:
            result.restored = _restore(session.lab, store, step.name)
        except Exception as error:  # say so; the store still holds the good values for the next start
            result.reason += f"; writing back the previous settings failed: {error}"
    return result


def _take_outcome(session: Any, result: StepResult, uid: str, store: CalibrationStore, step: Step) -> None:
    try:
        decoded = outcome(session.catalog[uid])
    except (ValueError, KeyError) as error:
        result.reason = str(error)
        return
    result.figures_before, result.figures_after = decoded["figures_before"], decoded["figures_after"]
    result.settings, result.applied = decoded["settings"], decoded["applied"]
    result.status = PASSED if decoded["passed"] else FAILED
    result.reason = decoded["reason"] if not decoded["passed"] else ""
    if decoded["passed"] and decoded["applied"] and decoded["settings"]:
        run_time = session.catalog[uid].metadata["start"]["time"]
        store.record(
            decoded["settings"], Provenance(step.name, uid, run_time, result.figures_before, result.figures_after)
        )


def _restore(lab: Any, store: CalibrationStore, step_name: str) -> dict[str, Any]:
    """Write back the last good settings of ``step_name`` (the plan may have died mid-move)."""
    settings = store.current(step=step_name)
    return apply_settings(lab, settings) if settings else {}


def _device(lab: Any, step: Step, name: str) -> Any:
    if name not in lab.devices:
        raise LookupError(f"step {step.name}: the lab has no device {name!r} (it has {sorted(lab.devices)})")
    return lab.devices[name]


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None

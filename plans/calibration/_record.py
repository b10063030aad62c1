"""Stubs every calibration step shares: raw tags into the run, the ``calibration`` outcome event.

The outcome stream follows the contract with the nightly job (docs/calibration.md, "Plans"):
one event in stream ``calibration`` with ``passed``, ``reason``, ``applied``,
``figures_before``, ``figures_after`` and ``settings`` (the last three JSON-encoded dicts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol, cast, runtime_checkable

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.protocols import Movable, Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal

from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans.protocols import StreamingTagger
from qnetlab.plans.stubs import collect_while_completing

OUTCOME_STREAM = "calibration"
STEPS = (
    "detector_dark_counts",
    "snspd_bias",
    "tagger_delays",
    "tagger_sync_delays",
    "polarization_compensation",
    "timebin_phase",
    "pair_source",
)


@runtime_checkable
class ReadablePositioner(Readable, Movable, Protocol):
    """A device a step both moves and records (piezo, rotation mount)."""


def readables(*objects: Any) -> list[Readable]:
    """``objects`` as bluesky Readables (ophyd Signals and devices are; their stubs do not say so)."""
    return cast("list[Readable]", list(objects))


class TagCollector:
    """A live analysis that keeps every tag it is fed (for acquisitions of a few 10^6 tags)."""

    def __init__(self) -> None:
        self._stamps: list[np.ndarray] = []
        self._channels: list[np.ndarray] = []

    def process(self, timestamps_ps, channels) -> None:
        self._stamps.append(np.array(timestamps_ps, np.int64))
        self._channels.append(np.array(channels, np.int32))

    def tags(self) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps_ps int64, channels int32) of everything fed so far, in time order."""
        if not self._stamps:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        return np.concatenate(self._stamps), np.concatenate(self._channels)


def acquire_tags(
    tagger: StreamingTagger, duration_s: float, channels: Sequence[int], stream: str | None
) -> MsgGenerator[tuple[np.ndarray, np.ndarray]]:
    """Stream ``channels`` for ``duration_s`` (s); return the tags (int64 ps, channels).

    With a ``stream`` name the tags stay in the tagger's HDF5 file, linked from that stream
    of the open run (so the fit can be redone from the catalog). With None the tags are
    used and the file is removed: for short, repeated measurements whose reduced result
    (e.g. a count table) is what the run records.
    """
    collector = TagCollector()
    yield from bps.prepare(tagger, TagAcquisition(duration_s, list(channels), (collector,)), wait=True)
    if stream is not None:
        yield from bps.declare_stream(tagger, name=stream, collect=True)
    started: list[bool] = []

    def acquire() -> MsgGenerator[None]:
        yield from bps.kickoff(tagger, wait=True)
        started.append(True)
        if stream is not None:
            yield from collect_while_completing(tagger, stream, 0.5)
        else:
            yield from bps.complete(tagger, wait=True)

    def finish() -> MsgGenerator[None]:
        if started:
            yield from bps.stop(tagger)
            if stream is not None:
                yield from bps.collect(tagger, name=stream)
            else:
                _remove_unlinked_file(tagger)

    yield from bpp.finalize_wrapper(acquire(), finish())
    return collector.tags()


def _remove_unlinked_file(tagger: Any) -> None:
    streamer = getattr(tagger, "streamer", None)
    path = getattr(streamer, "path", None)
    if path is not None and streamer is not None and streamer.done:
        path.unlink(missing_ok=True)
    tagger._stream_open = False  # nothing of this stream is announced to the run


def _figures(figures: dict[str, float]) -> str:
    return json.dumps({str(k): float(v) for k, v in figures.items()}, sort_keys=True)


def record_outcome(
    *,
    passed: bool,
    reason: str,
    applied: bool,
    figures_before: dict[str, float],
    figures_after: dict[str, float],
    settings: dict[str, Any],
) -> MsgGenerator[None]:
    """The one event of stream ``calibration`` (see the module docstring)."""
    if not passed and not reason:
        raise ValueError("a failed calibration step must say why (reason is empty)")
    values = {
        "passed": bool(passed),
        "reason": str(reason),
        "applied": bool(applied),
        "figures_before": _figures(figures_before),
        "figures_after": _figures(figures_after),
        "settings": json.dumps(settings, sort_keys=True, default=float),
    }
    signals = [Signal(name=key, value=value) for key, value in values.items()]
    yield from bps.trigger_and_read(readables(*signals), name=OUTCOME_STREAM)


def step_metadata(step: str, plan_args: dict[str, Any], md: dict[str, Any] | None) -> dict[str, Any]:
    """Start-document metadata of a calibration step run."""
    if step not in STEPS:
        raise ValueError(f"unknown calibration step {step!r}; steps are {', '.join(STEPS)}")
    return {"plan_name": step, "calibration_step": step, "plan_args": plan_args, **(md or {})}


def outcome(run) -> dict[str, Any]:
    """The decoded ``calibration`` event of a recorded step run (a tiled BlueskyRun).

    Returns ``passed``, ``reason``, ``applied``, ``figures_before``, ``figures_after``,
    ``settings`` (the last three decoded from JSON) and ``step`` (from the start document).
    Raises KeyError naming the run when it has no outcome (it did not finish).
    """
    uid = run.metadata["start"]["uid"]
    if OUTCOME_STREAM not in run:
        raise KeyError(f"run {uid} has no {OUTCOME_STREAM!r} stream (the step did not complete)")
    row = run[OUTCOME_STREAM].read().to_dataframe().iloc[-1]
    return {
        "step": run.metadata["start"].get("calibration_step"),
        "passed": bool(row["passed"]),
        "reason": str(row["reason"]),
        "applied": bool(row["applied"]),
        "figures_before": json.loads(row["figures_before"]),
        "figures_after": json.loads(row["figures_after"]),
        "settings": json.loads(row["settings"]),
    }

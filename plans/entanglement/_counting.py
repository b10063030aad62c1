"""Stubs shared by the entanglement plans: set both analyzers, count one setting, record events.

One *setting* is a pair of analyzer states. For each, the plan turns the four mounts, then
flies the tagger for ``duration_s`` with live coincidence counters on the four port pairs
(``tt, tr, rt, rr``: Alice's T/R × Bob's T/R) and, for the accidentals, the same pairs
with Bob's tags shifted by each of ``accidental_offsets_ps`` (far outside the pair peak;
the source is CW, so a shifted window sees only uncorrelated pairs). The raw tags of every
setting go to the run's ``timetags`` stream (one HDF5 file per setting, all linked), so
any count can be redone offline with :mod:`qnetlab.analysis.timetags`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.utils import MsgGenerator, RunEngineControlException
from ophyd import Signal

from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.stubs import stream_tags_linked

OUTCOMES = ("tt", "tr", "rt", "rr")
"""Port pairs, Alice first: T = transmitted (projects on the setting's state), R = reflected."""
TAGS_STREAM = "timetags"


@dataclass(frozen=True)
class Window:
    """Coincidence window and the offsets of the accidental windows.

    Attributes
    ----------
    window_ps : largest |t_b − t_a| counted as a coincidence (ps; full width 2·window_ps)
    accidental_offsets_ps : shifts of Bob's tags for the accidental estimate (ps)
    """

    window_ps: int
    accidental_offsets_ps: tuple[int, ...]

    def __post_init__(self):
        close = [off for off in self.accidental_offsets_ps if abs(off) <= 4 * self.window_ps]
        if not self.accidental_offsets_ps or close:
            raise ValueError(
                f"accidental_offsets_ps {list(self.accidental_offsets_ps)}: need at least one offset, each "
                f"beyond 4 × window_ps = {4 * self.window_ps} ps (offending: {close})"
            )


@dataclass(frozen=True)
class SettingCounts:
    """What one setting recorded.

    Attributes
    ----------
    coincidences : (4,) counts of tt, tr, rt, rr
    accidentals : (4,) mean count in the offset windows
    accidentals_var : (4,) variance of that mean (Poisson: mean / number of offsets)
    singles : (4,) tags on Alice T, Alice R, Bob T, Bob R
    """

    coincidences: np.ndarray
    accidentals: np.ndarray
    accidentals_var: np.ndarray
    singles: np.ndarray


def _counters(a: Analyzer, b: Analyzer, window: Window):
    from qnetlab.analysis.timetags import CoincidenceCounter

    pairs = [(ca, cb) for ca in (a.channel_t, a.channel_r) for cb in (b.channel_t, b.channel_r)]
    true = [CoincidenceCounter(p, window.window_ps) for p in pairs]
    shifted = [
        [CoincidenceCounter(p, window.window_ps, {p[1]: off}) for off in window.accidental_offsets_ps] for p in pairs
    ]
    return true, shifted


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Arrays become one scalar per element, ``<key>_<i>`` or ``<key>_<i><j>`` (the catalog's event tables
    hold scalars and strings only); :func:`unflatten` turns a row back."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            for index in np.ndindex(value.shape):
                flat[f"{key}_{''.join(str(i) for i in index)}"] = value[index].item()
        else:
            flat[key] = value
    return flat


def unflatten(row: Any, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array ``key`` of ``shape`` from a flattened row (a mapping such as a pandas Series)."""
    out = np.empty(shape)
    for index in np.ndindex(shape):
        out[index] = row[f"{key}_{''.join(str(i) for i in index)}"]
    return out


class Recorder:
    """Readings a plan computes (not read from a device), put into Signals and read into a stream.

    One Signal per data key, made on first use and kept, so every event of a stream reads the
    same objects; arrays are flattened (:func:`flatten`).
    """

    def __init__(self):
        self._signals: dict[str, Signal] = {}

    def event(self, stream: str, values: dict[str, Any], devices: Sequence[Any] = ()) -> MsgGenerator[None]:
        """One event in ``stream`` with ``values`` (scalars, strings or arrays) and the readings of ``devices``."""
        signals = []
        for key, value in flatten(values).items():
            signal = self._signals.setdefault(key, Signal(name=key, value=value))
            signal.put(value)
            signals.append(signal)
        yield from bps.trigger_and_read([*devices, *signals], name=stream)


def measure_setting(
    tagger: Any,
    a: Analyzer,
    b: Analyzer,
    state_a: Any,
    state_b: Any,
    *,
    duration_s: float,
    window: Window,
    recorder: Recorder,
    extra: dict[str, Any] | None = None,
) -> MsgGenerator[SettingCounts]:
    """Set both analyzers, fly the tagger, record one ``primary`` event; return the counts.

    The event holds the four mounts' readings, ``coincidences_<xy>``, ``accidentals_<xy>``,
    ``singles_<side><port>`` and ``duration_s``, plus ``extra`` (e.g. the setting's label).
    """
    motors = (*a.motor_positions(state_a), *b.motor_positions(state_b))
    return (
        yield from measure_motors(
            tagger, a, b, motors, duration_s=duration_s, window=window, recorder=recorder, extra=extra
        )
    )


def measure_motors(
    tagger: Any,
    a: Analyzer,
    b: Analyzer,
    motors_deg: Sequence[float],
    *,
    duration_s: float,
    window: Window,
    recorder: Recorder,
    extra: dict[str, Any] | None = None,
) -> MsgGenerator[SettingCounts]:
    """:func:`measure_setting` with the four motor positions given (deg: Alice's QWP, HWP, Bob's QWP, HWP)."""
    q_a, h_a, q_b, h_b = (float(m) for m in motors_deg)
    yield from bps.checkpoint()
    yield from bps.mv(a.qwp, q_a, a.hwp, h_a, b.qwp, q_b, b.hwp, h_b)
    true, shifted = _counters(a, b, window)
    channels = [a.channel_t, a.channel_r, b.channel_t, b.channel_r]
    analyses = [*true, *(c for row in shifted for c in row)]
    yield from stream_tags_linked(tagger, TagAcquisition(duration_s, channels, tuple(analyses)), TAGS_STREAM)
    tags = {s.name: s.get() for s in tagger.stream_summary()}
    singles = np.array([int(tags.get(f"{tagger.name}_ch{c}_tags", 0)) for c in channels])
    coincidences = np.array([c.result() for c in true], dtype=float)
    n_off = len(window.accidental_offsets_ps)
    accidentals = np.array([np.mean([c.result() for c in row]) for row in shifted])
    counts = SettingCounts(coincidences, accidentals, accidentals / n_off, singles.astype(float))
    values: dict[str, Any] = dict(extra or {})
    values.update({f"coincidences_{o}": int(n) for o, n in zip(OUTCOMES, coincidences, strict=True)})
    values.update({f"accidentals_{o}": float(n) for o, n in zip(OUTCOMES, accidentals, strict=True)})
    ports = ("a_t", "a_r", "b_t", "b_r")
    values.update({f"singles_{p}": int(n) for p, n in zip(ports, singles, strict=True)})
    values["duration_s"] = float(duration_s)
    yield from recorder.event("primary", values, devices=[a.qwp, a.hwp, b.qwp, b.hwp])
    return counts


def entanglement_run(body: Callable[[str], MsgGenerator[None]], md: dict[str, Any], tagger: Any) -> MsgGenerator[str]:
    """Open a run, declare the tag stream, run ``body(uid)``, close the run; return the uid.

    Like :func:`bluesky.preprocessors.run_wrapper`, but the body knows the uid (for file names).
    """
    uid = yield from bps.open_run(md)

    def plan() -> MsgGenerator[None]:
        yield from bps.declare_stream(tagger, name=TAGS_STREAM, collect=True)
        yield from body(uid)

    def except_plan(error: Exception) -> MsgGenerator[None]:
        if isinstance(error, RunEngineControlException):
            yield from bps.close_run(exit_status=getattr(error, "exit_status", "abort"))
        else:
            yield from bps.close_run(exit_status="fail", reason=str(error))

    yield from bpp.contingency_wrapper(plan(), except_plan=except_plan, else_plan=bps.close_run)
    return uid


def calibration_event(
    recorder: Recorder,
    *,
    passed: bool,
    reason: str,
    figures: dict[str, float],
    settings: dict[str, Any] | None = None,
) -> MsgGenerator[None]:
    """The ``calibration`` stream of the nightly contract (nothing is applied; ``settings``: what to write)."""
    yield from recorder.event(
        "calibration",
        {
            "passed": bool(passed),
            "reason": reason,
            "applied": False,
            "figures_before": json.dumps({}),
            "figures_after": json.dumps({k: float(v) for k, v in figures.items()}),
            "settings": json.dumps(settings or {}),
        },
    )


def run_metadata(plan_name: str, tagger: Any, a: Analyzer, b: Analyzer, args: dict[str, Any], md) -> dict[str, Any]:
    """Start-document metadata shared by the entanglement plans."""
    return {
        "plan_name": plan_name,
        "plan_args": {"tagger": tagger.name, "analyzers": {"A": a.describe(), "B": b.describe()}, **args},
        "detectors": [tagger.name],
        **(md or {}),
    }

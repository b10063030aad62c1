"""Time-bin interferometer phase: sweep the piezo, fit the fringe, set the phase of maximum visibility.

One run: Alice sends X0 time-bin states only (restored after). At each piezo voltage the
interferometer outputs X0 and X1 are streamed briefly and only their middle (interfering)
arrival bin is counted (the side bins do not interfere and would halve the visibility):
the clicks' arrival phase in the pulse period is centred on the middle bin, as the side
bins lie symmetrically at ± the bin separation. Each point is an event of stream
``primary`` (piezo voltage, X0 and X1 counts, contrast), so a live plot shows the fringe
as it is scanned. The fringe of X0 is fitted
(:func:`qnetlab.analysis.calibration.fringe.fit_fringe`), the piezo set to the fringe
maximum nearest the middle of the scan, and the contrast measured there (stream
``check``) is the step's figure. :func:`timebin_phase_hold_step` keeps it there during a run.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.calibration.fringe import fit_fringe, phase_hold_step
from qnetlab.plans._arguments import PlanArgumentError, chosen_channels, plan_arguments
from qnetlab.plans.calibration._alice import reference_transmission
from qnetlab.plans.calibration._record import (
    ReadablePositioner,
    acquire_tags,
    readables,
    record_outcome,
    step_metadata,
)
from qnetlab.plans.protocols import StreamingTagger

STEP = "timebin_phase"
X0_PATTERN = np.array([2], np.uint8)  # basis X, bit 0, signal level
PIEZO_STEP_V = 0.1  # MDT693B setting resolution: a set to a finer value never reads back equal (its Status hangs)


def _on_grid(voltage_v: float) -> float:
    return round(round(float(voltage_v) / PIEZO_STEP_V) * PIEZO_STEP_V, 3)


def middle_bin_counts(t: np.ndarray, c: np.ndarray, channels, period_ps: float, gate_ps: float) -> list[int]:
    """Clicks per channel within ± ``gate_ps`` of the middle arrival bin (centre of the clicks' phase)."""
    phase = 2 * np.pi * np.mod(t.astype(np.float64), period_ps) / period_ps
    if t.size == 0:
        return [0 for _ in channels]
    centre = np.angle(np.mean(np.exp(1j * phase)))
    offset = np.angle(np.exp(1j * (phase - centre))) / (2 * np.pi) * period_ps
    inside = np.abs(offset) <= gate_ps
    return [int(np.count_nonzero(inside & (c == ch))) for ch in channels]


class FringePoint:
    """Signals of one scan point (same objects each event)."""

    def __init__(self) -> None:
        self.x0 = Signal(name="x0_counts", value=0)
        self.x1 = Signal(name="x1_counts", value=0)
        self.contrast = Signal(name="contrast", value=0.0)

    def put(self, x0: int, x1: int) -> float:
        contrast = (x0 - x1) / max(x0 + x1, 1)
        self.x0.put(x0)
        self.x1.put(x1)
        self.contrast.put(contrast)
        return contrast

    @property
    def signals(self) -> list[Signal]:
        return [self.x0, self.x1, self.contrast]


def _measure(tagger, channels, duration_s, period_ps, gate_ps) -> MsgGenerator[tuple[int, int]]:
    t, c = yield from acquire_tags(tagger, duration_s, channels, None)
    x0, x1 = middle_bin_counts(t, c, channels, period_ps, gate_ps)
    return x0, x1


@plan_arguments
def timebin_phase(
    tagger: StreamingTagger,
    transmitter: Readable,
    piezo: ReadablePositioner,
    *,
    x0_channel: int = 7,
    x1_channel: int = 8,
    start_v: Annotated[float, Field(ge=0, description="scan start (V)")] = 0.0,
    stop_v: Annotated[float, Field(gt=0, description="scan end (V)")] = 75.0,
    num: Annotated[int, Field(ge=7, le=200, description="scan points")] = 16,
    duration_s: Annotated[float, Field(gt=0, le=10, description="acquisition per point (s)")] = 0.02,
    gate_ps: Annotated[float, Field(gt=0, description="half width of the middle-bin gate (ps)")] = 500.0,
    v_2pi_v: Annotated[float | None, Field(gt=0, description="piezo 2-pi voltage if known (V)")] = None,
    min_visibility: Annotated[float, Field(gt=0, le=1, description="contrast at the lock to pass")] = 0.9,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Scan the piezo, fit the X0 fringe, lock at its maximum; passed if the contrast there >= ``min_visibility``.

    Parameters
    ----------
    tagger : time tagger with Bob's interferometer outputs on ``x0_channel`` and ``x1_channel``
    transmitter : Alice's laser; it sends X0 time-bin states during the run (then as before)
    piezo : the interferometer's phase shifter (Movable in V)
    start_v, stop_v, num : the scan (V); it should span more than one V_2π
    duration_s : acquisition per point (s)
    gate_ps : half width of the middle-bin gate (ps), below the time-bin separation / 2
    v_2pi_v : the piezo's 2π voltage if known (else fitted)
    min_visibility : the contrast (N0 − N1)/(N0 + N1) measured at the lock must reach it
    apply : leave the piezo at the lock (else put it back)
    """
    if not stop_v > start_v:
        raise PlanArgumentError(f"{STEP}: stop_v must be above start_v, got {start_v}..{stop_v} V")
    tag: Any = tagger
    chosen_channels(STEP, tag, [x0_channel, x1_channel])  # raises on unknown inputs
    channels = [x0_channel, x1_channel]
    piezo_any: Any = piezo
    _md = step_metadata(
        STEP,
        {
            "tagger": tag.name,
            "piezo": piezo_any.name,
            "x0_channel": x0_channel,
            "x1_channel": x1_channel,
            "start_v": start_v,
            "stop_v": stop_v,
            "num": num,
            "duration_s": duration_s,
            "gate_ps": gate_ps,
            "v_2pi_v": v_2pi_v,
            "min_visibility": min_visibility,
        },
        md,
    )
    voltages = np.array([_on_grid(v) for v in np.linspace(start_v, stop_v, num)])

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        start = float((yield from bps.rd(piezo)))
        keep = [False]

        def scan() -> MsgGenerator[None]:
            period_ps = 1e12 / float((yield from bps.rd(cast(Any, transmitter).rep_rate_hz)))
            point = FringePoint()
            x0_before, x1_before = yield from _measure(tagger, channels, duration_s, period_ps, gate_ps)
            contrast_before = point.put(x0_before, x1_before)
            yield from bps.trigger_and_read(readables(piezo, *point.signals), name="start")
            counts, read_v = [], []
            for voltage in voltages:
                yield from bps.checkpoint()
                yield from bps.mv(piezo, float(voltage))
                x0, x1 = yield from _measure(tagger, channels, duration_s, period_ps, gate_ps)
                point.put(x0, x1)
                counts.append(x0)
                read_v.append(float((yield from bps.rd(piezo))))  # the fit uses the voltages recorded
                yield from bps.trigger_and_read(readables(piezo, *point.signals))
            fit = fit_fringe(np.array(read_v), np.array(counts, float), v_2pi_v)
            lock_v = _on_grid(fit.maximum_voltage_v((start_v, stop_v), near_v=(start_v + stop_v) / 2))
            yield from bps.mv(piezo, lock_v)
            x0, x1 = yield from _measure(tagger, channels, duration_s, period_ps, gate_ps)
            contrast = point.put(x0, x1)
            yield from bps.trigger_and_read(readables(piezo, *point.signals), name="check")
            before = {"contrast": contrast_before}
            after = {"contrast": contrast, "visibility_fit": fit.visibility, "v_2pi_v": fit.v_2pi_v}
            passed = contrast >= min_visibility
            reason = "" if passed else f"contrast {contrast:.3f} at the lock {lock_v:.2f} V is below {min_visibility}"
            applied = passed and apply
            keep[0] = applied
            voltage_key = f"{piezo_any.name}.voltage_v"
            yield from record_outcome(
                passed=passed,
                reason=reason,
                applied=applied,
                figures_before=before,
                figures_after=after,
                settings={voltage_key: lock_v if applied else start},
            )

        def restore() -> MsgGenerator[None]:
            if not keep[0]:
                yield from bps.mv(piezo, start)

        sending = reference_transmission(transmitter, "TBIN", X0_PATTERN)
        yield from bpp.finalize_wrapper(sending(scan()), restore())

    uid = yield from inner()
    return cast("str", uid)


def timebin_phase_hold_step(
    tagger: StreamingTagger,
    piezo: ReadablePositioner,
    *,
    v_2pi_v: float,
    period_ps: float,
    x0_channel: int = 7,
    x1_channel: int = 8,
    dither_v: float = 3.0,
    duration_s: float = 0.02,
    gate_ps: float = 500.0,
    max_step_v: float = 2.0,
) -> MsgGenerator[float]:
    """One hold step inside an open run (a stub): contrast at V ± dither, then a clipped step to the maximum.

    Alice must be sending X states. Returns the new piezo voltage (V).
    """
    voltage = float((yield from bps.rd(piezo)))
    contrasts = []
    for sign in (-1, 1):
        yield from bps.mv(piezo, _on_grid(voltage + sign * dither_v))
        x0, x1 = yield from _measure(tagger, [x0_channel, x1_channel], duration_s, period_ps, gate_ps)
        contrasts.append((x0 - x1) / max(x0 + x1, 1))
    new_v, _ = phase_hold_step(voltage, contrasts[0], contrasts[1], dither_v, v_2pi_v, max_step_v)
    new_v = _on_grid(new_v)
    yield from bps.mv(piezo, new_v)
    return new_v

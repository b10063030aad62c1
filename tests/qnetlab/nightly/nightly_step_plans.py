"""Calibration step plans that follow the calibration contract, for testing the nightly job.

The real steps come from the calib-plans branch; these two are small but real: they
measure on the sim lab, decide by a threshold and (the paddle step) move and restore a
device.
"""

from __future__ import annotations

import json
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from ophyd import Signal

from qnetlab.instruments.timetagger import TagAcquisition


def _outcome_stream(passed, reason, applied, before, after, settings):
    signals = [
        Signal(name="passed", value=bool(passed)),
        Signal(name="reason", value=str(reason)),
        Signal(name="applied", value=bool(applied)),
        Signal(name="figures_before", value=json.dumps(before)),
        Signal(name="figures_after", value=json.dumps(after)),
        Signal(name="settings", value=json.dumps(settings)),
    ]
    yield from bps.trigger_and_read(signals, name="calibration")


def _rates(tagger, channels):
    reading = yield from bps.trigger_and_read([tagger])
    return {f"ch{c}_rate_hz": float(reading[f"{tagger.name}_ch{c}_rate_hz"]["value"]) for c in channels}


def detector_rates(
    tagger,
    *,
    channels=(2, 3, 4, 5),
    min_rate_hz: float = 1.0,
    duration_s: float = 0.2,
    readings: int = 1,
    apply: bool = True,
    md: dict[str, Any] | None = None,
):
    """Step ``detector_dark_counts`` stand-in: each channel's last rate of ``readings`` must reach ``min_rate_hz``."""
    yield from bps.prepare(tagger, TagAcquisition(duration_s, list(channels)), wait=True)

    @bpp.stage_decorator([tagger])
    @bpp.run_decorator(md={"plan_name": "detector_rates", "calibration_step": "detector_dark_counts", **(md or {})})
    def inner():
        for _ in range(readings):
            yield from bps.checkpoint()
            rates = yield from _rates(tagger, channels)
        low = {k: v for k, v in rates.items() if v < min_rate_hz}
        reason = f"rates below {min_rate_hz:g} Hz: {sorted(low)}" if low else ""
        yield from _outcome_stream(not low, reason, False, rates, rates, {})

    return (yield from inner())


def paddle_step(
    tagger,
    bob_pc,
    *,
    paddle1_deg: float = 30.0,
    max_h_fraction: float = 1.0,
    duration_s: float = 0.2,
    apply: bool = True,
    md: dict[str, Any] | None = None,
):
    """Step ``polarization_compensation`` stand-in: set paddle 1; pass if the H fraction of H+V is low enough."""
    yield from bps.prepare(tagger, TagAcquisition(duration_s, [2, 3]), wait=True)

    @bpp.stage_decorator([tagger])
    @bpp.run_decorator(md={"plan_name": "paddle_step", "calibration_step": "polarization_compensation", **(md or {})})
    def inner():
        start_deg = yield from bps.rd(bob_pc.paddle1_deg)
        before = _h_fraction((yield from _rates(tagger, (2, 3))))
        yield from bps.mv(bob_pc.paddle1_deg, paddle1_deg)
        after = _h_fraction((yield from _rates(tagger, (2, 3))))
        passed = after["h_fraction"] <= max_h_fraction
        if not (passed and apply):
            yield from bps.mv(bob_pc.paddle1_deg, start_deg)
        reason = "" if passed else f"h_fraction {after['h_fraction']:.3f} above {max_h_fraction:g}"
        settings = {"bob_pc.paddle1_deg": paddle1_deg}
        yield from _outcome_stream(passed, reason, passed and apply, before, after, settings)

    return (yield from inner())


def _h_fraction(rates):
    h, v = rates["ch2_rate_hz"], rates["ch3_rate_hz"]
    return {"h_fraction": h / (h + v) if h + v else float("nan")}


def broken_step(tagger, *, apply: bool = True, md: dict[str, Any] | None = None):
    """A step whose measurement fails (raises inside the run): the job must retry, then record the failure."""

    @bpp.run_decorator(md={"plan_name": "broken_step", "calibration_step": "tagger_delays", **(md or {})})
    def inner():
        yield from bps.null()
        raise RuntimeError("tagger: simulated instrument error")

    return (yield from inner())

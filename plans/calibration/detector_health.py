"""Detector health: dark counts with Alice's light off; the SNSPD bias sweep, with latch recovery.

:func:`detector_dark_counts` counts each channel with the transmitter's output off (put
back after): one event per reading in ``primary``; passed when every channel's rate is
within ``max_dark_hz``. The pair source has no shutter on the sim bench, so its channels
are not in the default set.

:func:`snspd_bias` sweeps the bias of the chosen SNSPD channels together; at each bias
the tagger counts them with Alice's plain pulses on (``light``) and off (``dark``), both
in stream ``primary``. A latched wire (``latched`` reads true after a setting) is reset
(bias to zero and back) and counted again; resets are recorded (``resets``). Each
channel's bias is then chosen by :func:`qnetlab.analysis.calibration.detector_health.choose_bias`
(lowest bias on 95 % of the efficiency plateau within the dark budget); if any channel has
no admissible bias (or too little light: at most 20 times its dark rate) the old biases
are put back and the step fails naming it. The light must reach every swept detector
(on the polarization receiver: a state away from all four analyzer axes, e.g. circular).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.calibration.detector_health import choose_bias, dark_rate_hz
from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.calibration._record import record_outcome, step_metadata
from qnetlab.plans.protocols import CountingTagger

POLARIZATION_SNSPDS = {1: 2, 2: 3, 3: 4, 4: 5}  # sim lab: SNSPD channel -> tagger input


def _rates(
    tagger: Any, channels: Sequence[int], stream: str, extra: Sequence[Any] = ()
) -> MsgGenerator[dict[int, float]]:
    yield from bps.trigger_and_read([tagger, *extra], name=stream)
    reading = tagger.read()
    return {ch: float(reading[f"{tagger.name}_ch{ch}_rate_hz"]["value"]) for ch in channels}


def light_off(transmitter: Any, plan: MsgGenerator[Any]) -> MsgGenerator[Any]:
    """Run ``plan`` with the transmitter's output off; its output state is put back after."""
    was_on = yield from bps.rd(transmitter.output)
    yield from bps.mv(transmitter.output, False)
    return (yield from bpp.finalize_wrapper(plan, bps.mv(transmitter.output, was_on)))


@plan_arguments
def detector_dark_counts(
    tagger: CountingTagger,
    transmitter: Readable,
    *,
    channels: Sequence[int] = (2, 3, 4, 5, 6, 7, 8),
    duration_s: Annotated[float, Field(gt=0, le=600, description="integration time (s)")] = 1.0,
    max_dark_hz: Annotated[float, Field(gt=0, description="largest dark rate of a healthy channel (Hz)")] = 1000.0,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Dark count rate of each channel with Alice's output off; passed when all are within ``max_dark_hz``.

    ``apply`` has nothing to write (the step only measures); it is accepted for a uniform call.
    """
    chosen = chosen_channels("detector_dark_counts", tagger, channels)
    tag: Any = tagger
    _md = step_metadata(
        "detector_dark_counts",
        {"tagger": tag.name, "channels": chosen, "duration_s": duration_s, "max_dark_hz": max_dark_hz},
        md,
    )

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        def measure() -> MsgGenerator[dict[int, float]]:
            yield from bps.prepare(tagger, TagAcquisition(duration_s, chosen), wait=True)
            return (yield from _rates(tag, chosen, "primary"))

        rates = yield from light_off(transmitter, measure())
        figures: dict[str, float] = {}
        for ch, rate in rates.items():
            _, low, high = dark_rate_hz(int(round(rate * duration_s)), duration_s)
            figures |= {f"ch{ch}_dark_hz": rate, f"ch{ch}_dark_low_hz": low, f"ch{ch}_dark_high_hz": high}
        loud = [f"ch{ch}: {rate:.0f} Hz" for ch, rate in rates.items() if rate > max_dark_hz]
        reason = f"dark counts above {max_dark_hz:g} Hz: {', '.join(loud)}" if loud else ""
        yield from record_outcome(
            passed=not loud, reason=reason, applied=False, figures_before={}, figures_after=figures, settings={}
        )

    uid = yield from inner()
    return cast("str", uid)


SWEEP_UA = tuple(float(b) for b in np.round(np.arange(6.0, 11.51, 0.5), 2))  # plain floats: the queue lists them


@plan_arguments
def snspd_bias(
    tagger: CountingTagger,
    transmitter: Readable,
    snspd: Readable,
    *,
    channels: dict[int, int] | None = None,
    biases_ua: Annotated[Sequence[float], Field(min_length=4)] = tuple(
        float(b) for b in np.round(np.arange(6.0, 11.51, 0.5), 2)
    ),  # plain floats: queueserver shows defaults
    duration_s: Annotated[float, Field(gt=0, le=60, description="integration per reading (s)")] = 0.05,
    plateau_fraction: Annotated[float, Field(gt=0, le=1)] = 0.95,
    dark_budget_hz: Annotated[float, Field(gt=0, description="largest dark rate at the chosen bias (Hz)")] = 1000.0,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Sweep the SNSPD bias, choose each channel's bias on its efficiency plateau within the dark budget.

    Parameters
    ----------
    tagger : counts the detectors
    transmitter : Alice's laser: output on (plain pulses, as configured) for ``light``, off for ``dark``
    snspd : the bias controller (``channel(n).bias_ua``, ``.latched``, ``reset(n)``)
    channels : SNSPD channel -> tagger input (default the sim lab's polarization receiver)
    biases_ua : the sweep (µA), within the controller's safe limits
    duration_s : integration per reading (s)
    plateau_fraction, dark_budget_hz : the rule of ``choose_bias``
    apply : write the chosen biases (else put the old ones back)
    """
    wiring = dict(channels or POLARIZATION_SNSPDS)
    ctrl: Any = snspd
    tag: Any = tagger
    inputs = chosen_channels("snspd_bias", tagger, list(wiring.values()))
    _md = step_metadata(
        "snspd_bias",
        {
            "tagger": tag.name,
            "snspd": ctrl.name,
            "channels": {str(n): ch for n, ch in wiring.items()},
            "biases_ua": list(biases_ua),
            "duration_s": duration_s,
            "plateau_fraction": plateau_fraction,
            "dark_budget_hz": dark_budget_hz,
        },
        md,
    )
    bias_signal = Signal(name="bias_ua", value=0.0)
    resets = Signal(name="resets", value=0)

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        old = {}
        for n in wiring:
            old[n] = float((yield from bps.rd(ctrl.channel(n).bias_ua)))
        keep = [False]

        def set_biases(biases: dict[int, float]) -> MsgGenerator[None]:
            for n, bias in biases.items():  # one at a time: the channels share one SCPI link
                yield from bps.mv(ctrl.channel(n).bias_ua, float(bias))

        def unlatch() -> MsgGenerator[int]:
            count = 0
            for n in wiring:
                if (yield from bps.rd(ctrl.channel(n).latched)):
                    yield from bps.null()
                    ctrl.reset(n)
                    count += 1
            return count

        def sweep() -> MsgGenerator[None]:
            yield from bps.prepare(tagger, TagAcquisition(duration_s, inputs), wait=True)
            light = {n: [] for n in wiring}
            dark = {n: [] for n in wiring}
            total_resets = 0
            was_on = yield from bps.rd(cast(Any, transmitter).output)
            for bias in biases_ua:
                yield from bps.checkpoint()
                yield from set_biases(dict.fromkeys(wiring, bias))
                bias_signal.put(float(bias))
                yield from bps.mv(cast(Any, transmitter).output, True)
                total_resets += yield from unlatch()
                resets.put(total_resets)
                on = yield from _rates(tag, inputs, "light", [bias_signal, resets])
                yield from bps.mv(cast(Any, transmitter).output, False)
                off = yield from _rates(tag, inputs, "dark", [bias_signal, resets])
                for n, ch in wiring.items():
                    light[n].append(on[ch])
                    dark[n].append(off[ch])
            yield from bps.mv(cast(Any, transmitter).output, was_on)
            chosen: dict[int, float] = {}
            failures = []
            after: dict[str, float] = {"resets": float(total_resets)}
            for n in wiring:
                signal = np.array(light[n]) - np.array(dark[n])
                if signal.max() < 20 * max(min(dark[n]), 1.0):
                    failures.append(f"SNSPD ch{n}: too little light to see a plateau ({signal.max():.0f} Hz at most)")
                    continue
                efficiency = signal / max(signal.max(), 1.0)
                choice = choose_bias(
                    biases_ua, efficiency, dark[n], plateau_fraction=plateau_fraction, dark_budget_hz=dark_budget_hz
                )
                if choice.bias_ua is None:
                    failures.append(f"SNSPD ch{n}: {choice.reason}")
                    continue
                chosen[n] = choice.bias_ua
                after |= {f"ch{n}_bias_ua": choice.bias_ua, f"ch{n}_dark_hz": choice.dark_hz}
                after[f"ch{n}_efficiency_rel"] = choice.efficiency
            passed = not failures
            applied = passed and apply
            if applied:
                yield from set_biases(chosen)
                keep[0] = True
            final = chosen if applied else old
            yield from record_outcome(
                passed=passed,
                reason="; ".join(failures),
                applied=applied,
                figures_before={f"ch{n}_bias_ua": b for n, b in old.items()},
                figures_after=after,
                settings={f"{ctrl.name}.ch{n}.bias_ua": float(b) for n, b in final.items()},
            )

        def restore() -> MsgGenerator[None]:
            if not keep[0]:
                yield from set_biases(old)

        yield from bpp.finalize_wrapper(sweep(), restore())

    uid = yield from inner()
    return cast("str", uid)

"""Tagger input delays from the pair source: coincidence peaks put at zero, to a fraction of a bin.

One run: the tags of the pair detectors are streamed (stream ``timetags``, linked), the
correlation peak of each (start, stop) pair is fitted
(:func:`qnetlab.analysis.calibration.delays.channel_delays_ps`), one event per pair in
stream ``peaks``; the stop channel's delay is moved by −centre (pairs are taken in order,
so a chain such as (9, 11), (11, 12) moves 12 with 11's correction). The default pairs are
the sim lab's strongly correlated ones with the analyzers parallel (A_T-B_T, A_R-B_R); a
pair the state barely correlates (A_T-B_R: (1 - V)/2 of the pairs) gives a peak too weak
to place to a few ps in seconds, and the step fails on ``max_error_ps`` rather than guess. Applied
delays are checked by a second acquisition (stream ``timetags_after``): every peak must
then sit within ``tolerance_ps`` of zero, else the old delays are put back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.calibration.delays import channel_delays_ps
from qnetlab.plans._arguments import PlanArgumentError, chosen_channels, plan_arguments
from qnetlab.plans.calibration._record import acquire_tags, readables, record_outcome, step_metadata
from qnetlab.plans.protocols import StreamingTagger

STEP = "tagger_delays"


def _peaks(t, c, pairs, bin_width_ps: int, corrections: dict[int, int] | None = None):
    """(start, stop) -> fitted peak, at the delays in force (plus ``corrections`` applied in analysis)."""
    out = {}
    for start, stop in pairs:
        ((_, peak),) = channel_delays_ps(
            t, c, start, [stop], bin_width_ps=bin_width_ps, delays_ps=corrections or None
        ).values()
        out[(start, stop)] = peak
    return out


@plan_arguments
def tagger_delays(
    tagger: StreamingTagger,
    *,
    pairs: Sequence[tuple[int, int]] = ((9, 11), (10, 12)),
    duration_s: Annotated[float, Field(gt=0, le=60, description="acquisition (s)")] = 2.0,
    bin_width_ps: Annotated[int, Field(ge=1, le=1000, description="correlation bin (ps)")] = 10,
    tolerance_ps: Annotated[float, Field(gt=0, description="largest |peak| after applying (ps)")] = 10.0,
    max_error_ps: Annotated[float, Field(gt=0, description="largest 1-sigma error of a peak centre (ps)")] = 5.0,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Set the tagger's input delays so that the coincidence peak of each pair sits at zero.

    Parameters
    ----------
    tagger : the time tagger (``input_delay_ps``, ``set_input_delay``)
    pairs : (start, stop) channels with correlated tags; each stop channel is moved once, in order
    duration_s : acquisition (s) of the measurement and of the check
    bin_width_ps : correlation histogram bin (ps); peaks are fitted to a fraction of it
    tolerance_ps : after applying, every peak within this of zero (ps), else the old delays return
    max_error_ps : a peak whose centre is known worse than this fails the step (ps)
    apply : write the new delays (checked by a second acquisition)
    """
    tag: Any = tagger
    stops = [int(b) for _, b in pairs]
    if len(set(stops)) != len(stops):
        raise PlanArgumentError(f"{STEP}: pairs: each stop channel may be moved once, got {list(pairs)}")
    channels = chosen_channels(STEP, tag, sorted({int(x) for pair in pairs for x in pair}))
    plan_args = {"tagger": tag.name, "pairs": [list(p) for p in pairs], "duration_s": duration_s}
    _md = step_metadata(STEP, plan_args | {"bin_width_ps": bin_width_ps, "tolerance_ps": tolerance_ps}, md)
    keys = {pair: f"peak_{pair[0]}_{pair[1]}_ps" for pair in pairs}

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        old = {ch: tag.input_delay_ps(ch) for ch in channels}
        t, c = yield from acquire_tags(tagger, duration_s, channels, "timetags")
        peaks = _peaks(t, c, pairs, bin_width_ps)
        signals = {name: Signal(name=name, value=0.0) for name in ("start", "stop", "centre_ps", "centre_err_ps")}
        signals |= {name: Signal(name=name, value=0.0) for name in ("sigma_ps", "coincidences")}
        for (start, stop), peak in peaks.items():
            for name, value in zip(
                signals, (start, stop, peak.centre_ps, peak.centre_err_ps, peak.sigma_ps, peak.counts), strict=True
            ):
                signals[name].put(float(value))
            yield from bps.trigger_and_read(readables(*signals.values()), name="peaks")
        corrections: dict[int, int] = {}
        for start, stop in pairs:  # chained: the stop moves with its start's correction
            corrections[stop] = corrections.get(start, 0) - int(round(peaks[(start, stop)].centre_ps))
        new = {ch: old[ch] + corrections.get(ch, 0) for ch in channels}
        before = {keys[p]: peak.centre_ps for p, peak in peaks.items()}
        bad = [f"{p}: ±{peak.centre_err_ps:.1f} ps" for p, peak in peaks.items() if peak.centre_err_ps > max_error_ps]
        settings = {f"{tag.name}.input{ch}_delay_ps": new[ch] for ch in channels}
        if bad:
            reason = f"peak centres not known to {max_error_ps} ps: {', '.join(bad)}"
            yield from record_outcome(
                passed=False,
                reason=reason,
                applied=False,
                figures_before=before,
                figures_after={},
                settings={f"{tag.name}.input{ch}_delay_ps": old[ch] for ch in channels},
            )
            return
        if not apply:
            predicted = _peaks(t, c, pairs, bin_width_ps, corrections)
            after = {keys[p]: peak.centre_ps for p, peak in predicted.items()}
            yield from record_outcome(
                passed=True, reason="", applied=False, figures_before=before, figures_after=after, settings=settings
            )
            return
        for ch in channels:
            yield from bps.null()
            tag.set_input_delay(ch, new[ch])
        t2, c2 = yield from acquire_tags(tagger, duration_s, channels, "timetags_after")
        checked = _peaks(t2, c2, pairs, bin_width_ps)
        after = {keys[p]: peak.centre_ps for p, peak in checked.items()}
        off = {p: peak.centre_ps for p, peak in checked.items() if abs(peak.centre_ps) > tolerance_ps}
        if off:
            for ch in channels:
                tag.set_input_delay(ch, old[ch])
            reason = f"after applying, peaks off zero by more than {tolerance_ps} ps: " + ", ".join(
                f"{p}: {v:.1f} ps" for p, v in off.items()
            )
            yield from record_outcome(
                passed=False,
                reason=reason,
                applied=False,
                figures_before=before,
                figures_after=after,
                settings={f"{tag.name}.input{ch}_delay_ps": old[ch] for ch in channels},
            )
            return
        yield from record_outcome(
            passed=True, reason="", applied=True, figures_before=before, figures_after=after, settings=settings
        )

    uid = yield from inner()
    return cast("str", uid)

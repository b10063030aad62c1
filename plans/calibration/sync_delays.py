"""Tagger input delays of Bob's receiver from Alice's sync and reference pattern: slot 0 put on the sync.

One run: Alice sends the H/D reference pattern (:mod:`._reference`; its first slots at the
decoy level) on the polarization link, her previous pattern, encoding and output restored
after. The sync and the detectors are streamed (stream ``timetags``, linked); each
channel's pulse phase and marker slot are found
(:func:`qnetlab.analysis.calibration.sync_delays.sync_offsets_ps`), one event per channel
in stream ``offsets`` (with the pulse period); every detector's delay is moved by −offset, so the clicks of slot k
arrive k pulses after the sync on every channel (a whole pulse or cable difference
included, which a phase alone could not tell). Applied delays are checked by a second
acquisition (``timetags_after``): every offset must then be within ``tolerance_ps`` of
zero, else the old delays are put back. The sync's own delay is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.calibration.sync_delays import sync_offsets_ps, wrapped_offset_ps
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.calibration._alice import reference_transmission
from qnetlab.plans.calibration._record import acquire_tags, readables, record_outcome, step_metadata
from qnetlab.plans.calibration._reference import MARKER_SLOTS, PATTERN_SLOTS
from qnetlab.plans.protocols import StreamingTagger

STEP = "tagger_sync_delays"
OFFSET_FIELDS = ("channel", "slot", "phase_ps", "offset_ps", "offset_err_ps", "sigma_ps", "clicks", "marker_depth")


@plan_arguments
def tagger_sync_delays(
    tagger: StreamingTagger,
    transmitter: Readable,
    *,
    channels: Annotated[Sequence[int], Field(min_length=1, max_length=16)] = (2, 3, 4, 5),
    sync_channel: int = 1,
    duration_s: Annotated[float, Field(gt=0, le=60, description="acquisition (s)")] = 0.1,
    bin_width_ps: Annotated[int, Field(ge=1, le=1000, description="phase histogram bin (ps)")] = 10,
    tolerance_ps: Annotated[float, Field(gt=0, description="largest |offset| after applying (ps)")] = 10.0,
    max_error_ps: Annotated[float, Field(gt=0, description="largest 1-sigma error of an offset (ps)")] = 5.0,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Set each receiver input's delay so that slot 0 of Alice's pattern arrives on her sync.

    Parameters
    ----------
    tagger : the time tagger (``input_delay_ps``, ``set_input_delay``), Alice's sync on ``sync_channel``
    transmitter : Alice's laser (pattern memory, ``rep_rate_hz``); restored after
    channels : Bob's detector inputs (default the sim lab's H, V, D, A)
    duration_s : acquisition (s) of the measurement and of the check
    bin_width_ps : phase histogram bin (ps); offsets are fitted to a fraction of it
    tolerance_ps : after applying, every offset within this of zero (ps), else the old delays return
    max_error_ps : an offset known worse than this fails the step (ps)
    apply : write the new delays (checked by a second acquisition)
    """
    tag: Any = tagger
    inputs = chosen_channels(STEP, tag, [int(c) for c in channels])
    chosen_channels(STEP, tag, [sync_channel])  # raises on an unknown sync input
    _md = step_metadata(
        STEP,
        {
            "tagger": tag.name,
            "transmitter": cast(Any, transmitter).name,
            "channels": inputs,
            "sync_channel": sync_channel,
            "duration_s": duration_s,
            "bin_width_ps": bin_width_ps,
            "tolerance_ps": tolerance_ps,
            "pattern_slots": PATTERN_SLOTS,
            "marker_slots": MARKER_SLOTS,
        },
        md,
    )
    signals = {name: Signal(name=name, value=0.0) for name in OFFSET_FIELDS}
    period = Signal(name="period_ps", value=0.0)

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        old = {ch: tag.input_delay_ps(ch) for ch in inputs}
        keep = [False]

        def measure(stream: str, period_ps: float) -> MsgGenerator[dict]:
            t, c = yield from acquire_tags(tagger, duration_s, [sync_channel, *inputs], stream)
            return sync_offsets_ps(
                t,
                c,
                sync_channel,
                inputs,
                period_ps=period_ps,
                slots=PATTERN_SLOTS,
                marker_slots=MARKER_SLOTS,
                bin_width_ps=bin_width_ps,
            )

        def calibrate() -> MsgGenerator[None]:
            period_ps = 1e12 / float((yield from bps.rd(cast(Any, transmitter).rep_rate_hz)))
            found = yield from measure("timetags", period_ps)
            for offset in found.values():
                for name in OFFSET_FIELDS:
                    signals[name].put(float(getattr(offset, name)))
                period.put(period_ps)
                yield from bps.trigger_and_read(readables(*signals.values(), period), name="offsets")
            before = {f"ch{ch}_offset_ps": o.offset_ps for ch, o in found.items()}
            kept = {f"{tag.name}.input{ch}_delay_ps": old[ch] for ch in inputs}
            bad = [f"ch{ch}: ±{o.offset_err_ps:.1f} ps" for ch, o in found.items() if o.offset_err_ps > max_error_ps]
            if bad:
                reason = f"offsets not known to {max_error_ps} ps: {', '.join(bad)}"
                yield from record_outcome(
                    passed=False, reason=reason, applied=False, figures_before=before, figures_after={}, settings=kept
                )
                return
            new = {ch: old[ch] - int(round(found[ch].offset_ps)) for ch in inputs}
            settings = {f"{tag.name}.input{ch}_delay_ps": new[ch] for ch in inputs}
            if not apply:
                predicted = {f"ch{ch}_offset_ps": o.offset_ps - round(o.offset_ps) for ch, o in found.items()}
                yield from record_outcome(
                    passed=True,
                    reason="",
                    applied=False,
                    figures_before=before,
                    figures_after=predicted,
                    settings=settings,
                )
                return
            for ch in inputs:
                yield from bps.null()
                tag.set_input_delay(ch, new[ch])
            checked = yield from measure("timetags_after", period_ps)
            left = {ch: wrapped_offset_ps(o.offset_ps, PATTERN_SLOTS, period_ps) for ch, o in checked.items()}
            after = {f"ch{ch}_offset_ps": v for ch, v in left.items()}
            off = [f"ch{ch}: {v:.1f} ps" for ch, v in left.items() if abs(v) > tolerance_ps]
            if off:
                reason = f"after applying, offsets from the sync above {tolerance_ps} ps: {', '.join(off)}"
                yield from record_outcome(
                    passed=False,
                    reason=reason,
                    applied=False,
                    figures_before=before,
                    figures_after=after,
                    settings=kept,
                )
                return
            keep[0] = True
            yield from record_outcome(
                passed=True, reason="", applied=True, figures_before=before, figures_after=after, settings=settings
            )

        def restore() -> MsgGenerator[None]:
            if not keep[0]:
                yield from bps.null()
                for ch in inputs:
                    tag.set_input_delay(ch, old[ch])

        sending = reference_transmission(transmitter, "POL")
        yield from bpp.finalize_wrapper(sending(calibrate()), restore())

    uid = yield from inner()
    return cast("str", uid)

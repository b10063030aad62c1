"""Polarization compensation: Alice's H/D references, Bob's paddles driven until both QBERs are at the floor.

One run: Alice's pattern memory is loaded with the reference pattern
(:mod:`._reference`) and her previous pattern, encoding and output are restored at the
end, whatever happens. Each round moves the paddles to the angles the
:class:`~qnetlab.analysis.calibration.PolarizationCompensator` asks for, streams the tags of
Bob's four detectors and Alice's sync, sorts them into the (2, 4) count table and tells
it back; every round is an event of stream ``primary`` (angles, counts, QBERs, method).
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

from qnetlab.analysis.calibration.compensation import PolarizationCompensator
from qnetlab.analysis.calibration.paddles import PaddleModel
from qnetlab.analysis.calibration.tracking import PolarizationTracker
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.calibration._alice import reference_transmission
from qnetlab.plans.calibration._record import acquire_tags, readables, record_outcome, step_metadata
from qnetlab.plans.calibration._reference import reference_counts
from qnetlab.plans.protocols import StreamingTagger

STEP = "polarization_compensation"


def paddle_angles(controller: Any) -> MsgGenerator[np.ndarray]:
    """The three paddle angles now (deg)."""
    angles = []
    for paddle in controller.paddles:
        angles.append(float((yield from bps.rd(paddle))))
    return np.array(angles)


def move_paddles(controller: Any, angles_deg) -> MsgGenerator[None]:
    """Move the three paddles to ``angles_deg`` (deg) and wait for the moves to end."""
    args: list[Any] = []
    for paddle, angle in zip(controller.paddles, angles_deg, strict=True):
        args += [paddle, float(angle)]
    yield from bps.mv(*args)


def measure_references(
    tagger: StreamingTagger,
    channels: Sequence[int],
    sync_channel: int,
    duration_s: float,
    period_ps: float,
    dead_time_ps: float,
    stream: str | None,
) -> MsgGenerator[np.ndarray]:
    """Stream the receiver and sync for ``duration_s`` (linked as ``stream`` unless None); the (2, 4) count table."""
    t, c = yield from acquire_tags(tagger, duration_s, [sync_channel, *channels], stream)
    return reference_counts(
        t,
        c,
        sync_channel=sync_channel,
        detector_channels=channels,
        period_ps=period_ps,
        duration_ps=int(round(duration_s * 1e12)),
        dead_time_ps=dead_time_ps,
    )


class RoundRecorder:
    """The signals of one compensation round, read into stream ``primary`` each round (same objects each time)."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self.number = Signal(name="round", value=0)
        self.method = Signal(name="method", value="")
        self.counts = {
            (i, j): Signal(name=f"counts_{sent}_{seen}", value=0.0)
            for i, sent in enumerate("HD")
            for j, seen in enumerate("HVDA")
        }
        self.qber_z = Signal(name="qber_z", value=0.0)
        self.qber_x = Signal(name="qber_x", value=0.0)

    def record(self, number: int, counts: np.ndarray, qber: tuple[float, float], method: str) -> MsgGenerator[None]:
        """One event: paddle angles, round number, method, the (2, 4) counts, both QBERs."""
        self.number.put(number)
        self.method.put(method)
        for (i, j), signal in self.counts.items():
            signal.put(float(counts[i, j]))
        self.qber_z.put(float(qber[0]))
        self.qber_x.put(float(qber[1]))
        signals = [self.number, self.method, *self.counts.values(), self.qber_z, self.qber_x]
        yield from bps.trigger_and_read(readables(self.controller, *signals))


@plan_arguments
def polarization_compensation(
    tagger: StreamingTagger,
    transmitter: Readable,
    controller: Readable,
    *,
    detector_channels: Annotated[Sequence[int], Field(min_length=4, max_length=4)] = (2, 3, 4, 5),
    sync_channel: int = 1,
    duration_s: Annotated[float, Field(gt=0, le=10, description="acquisition per round (s)")] = 0.05,
    target_qber: Annotated[float, Field(gt=0, lt=0.5, description="goal in each basis")] = 0.015,
    misalignment: Annotated[float, Field(ge=0, lt=0.25, description="receiver QBER floor")] = 0.01,
    dead_time_ps: Annotated[float, Field(ge=0, description="detector dead time (ps)")] = 20_000,
    fallback_rounds: Annotated[int, Field(ge=0, le=1000, description="measurements the fallback may use")] = 60,
    seed: int = 0,
    keep_tags: bool = False,
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Compensate the fiber's polarization rotation with Bob's paddles (one run).

    Parameters
    ----------
    tagger : time tagger streaming Bob's detectors (H, V, D, A in ``detector_channels``) and Alice's sync
    transmitter : Alice's laser (pattern memory); its pattern, encoding and output are restored
    controller : Bob's MPC320 (``paddles``)
    duration_s : acquisition per round (s)
    target_qber : passed when both bases are below it (fraction)
    misalignment : the receiver's QBER floor (fraction), the fit's starting contrast
    dead_time_ps : detector dead time (ps), for the count correction
    fallback_rounds : measurements the model-free fallback may add after 3 analytical rounds
    seed : the fallback's random restarts
    keep_tags : link each round's raw tags from stream ``tags_round<n>`` (else only the count
        table of each round is recorded, in ``primary``: what the solver was told)
    apply : keep the new paddle angles (else restore the old ones even when passed)

    Returns
    -------
    The run uid; stream ``calibration`` says whether both bases reached ``target_qber``.
    """
    chosen_channels(STEP, cast(Any, tagger), [*detector_channels, sync_channel])  # raises on unknown inputs
    channels = [int(c) for c in detector_channels]  # in the order H, V, D, A
    _md = step_metadata(
        STEP,
        {
            "tagger": tagger.name,
            "transmitter": transmitter.name,
            "controller": controller.name,
            "detector_channels": channels,
            "sync_channel": sync_channel,
            "duration_s": duration_s,
            "target_qber": target_qber,
            "misalignment": misalignment,
        },
        md,
    )
    pc: Any = controller
    names = [f"{pc.name}.paddle{k}_deg" for k in (1, 2, 3)]

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        start = yield from paddle_angles(pc)
        keep = [False]

        def compensate() -> MsgGenerator[None]:
            period_ps = 1e12 / float((yield from bps.rd(cast(Any, transmitter).rep_rate_hz)))
            solver = PolarizationCompensator(
                PaddleModel(),
                np.clip(start, 0.0, 170.0),
                target_qber=target_qber,
                misalignment=misalignment,
                fallback_evaluations=fallback_rounds,
                seed=seed,
            )
            recorder = RoundRecorder(pc)
            while (angles := solver.ask()) is not None:
                yield from bps.checkpoint()
                yield from move_paddles(pc, angles)
                number = len(solver.rounds) + 1
                counts = yield from measure_references(
                    tagger,
                    channels,
                    sync_channel,
                    duration_s,
                    period_ps,
                    dead_time_ps,
                    f"tags_round{number}" if keep_tags else None,
                )
                solver.tell(counts)
                last = solver.rounds[-1]
                yield from recorder.record(number, counts, (last.qber_z, last.qber_x), last.method)
            result = solver.result
            before: dict[str, float] = dict(zip(("qber_z", "qber_x"), result.qber_before, strict=True))
            after: dict[str, float] = dict(zip(("qber_z", "qber_x"), result.qber_after, strict=True))
            after["measurements"] = float(result.measurements)
            passed = result.converged
            reason = (
                ""
                if passed
                else f"QBER {max(result.qber_after):.4f} not below {target_qber} after {result.measurements} rounds"
            )
            applied = passed and apply
            if applied:
                yield from move_paddles(pc, result.angles_deg)
                keep[0] = True
            settings = dict(zip(names, (float(a) for a in (result.angles_deg if applied else start)), strict=True))
            yield from record_outcome(
                passed=passed,
                reason=reason,
                applied=applied,
                figures_before=before,
                figures_after=after,
                settings=settings,
            )

        def restore_paddles() -> MsgGenerator[None]:
            if not keep[0]:
                yield from move_paddles(pc, start)

        sending = reference_transmission(transmitter, "POL")
        yield from bpp.finalize_wrapper(sending(compensate()), restore_paddles())

    uid = yield from inner()
    return cast("str", uid)


def polarization_tracking_step(
    tagger: StreamingTagger,
    transmitter: Readable,
    controller: Readable,
    tracker: PolarizationTracker,
    *,
    detector_channels: Sequence[int] = (2, 3, 4, 5),
    sync_channel: int = 1,
    duration_s: float = 0.02,
    dead_time_ps: float = 20_000,
) -> MsgGenerator[np.ndarray]:
    """One tracking step inside an open run (a stub, no run of its own): 4 short measurements, a small move.

    For use between the blocks of a QKD run while Alice's pattern holds the references
    (the caller has loaded it): the tracker's centre and three dithered probes are
    measured (their count tables are the tracker's; no tags are kept), then the paddles go to the tracker's new angles,
    never more than its ``max_step_deg`` away. Returns the new angles (deg).
    """
    pc: Any = controller
    period_ps = 1e12 / float((yield from bps.rd(cast(Any, transmitter).rep_rate_hz)))
    channels = [int(c) for c in detector_channels]
    for _ in range(4):
        probe = tracker.ask()
        yield from move_paddles(pc, probe)
        counts = yield from measure_references(
            tagger, channels, sync_channel, duration_s, period_ps, dead_time_ps, None
        )
        tracker.tell(counts)
    yield from move_paddles(pc, tracker.angles_deg)
    return tracker.angles_deg.copy()

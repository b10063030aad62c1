"""Decoy-state BB84 on the bench (polarization or time-bin), distilled while acquiring.

The plan streams Bob's tags to HDF5 (as :func:`qnetlab.plans.record_tags`), uploads a
fresh random pattern to Alice's transmitter for every frame (:mod:`._frames`), cuts each
frame out of the stream by Alice's sync, gathers frames into blocks and distils each
block on a worker thread (:mod:`._distiller`) while the tagger keeps acquiring. Keys go to
``key_sink`` only; the run gets stream ``frames`` (one event per upload: SHA-256 of the
pattern, detections) and stream ``blocks`` (one event per block: QBER per basis, decoy
bounds, leakage, key length, the key's SHA-256, or the reason there is no key).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, cast, runtime_checkable

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator, short_uid
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.qkd.decoy import Intensities
from qnetlab.analysis.qkd.distill import DistillParams
from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans._arguments import PlanArgumentError, chosen_channels, plan_arguments
from qnetlab.plans.protocols import StreamingTagger
from qnetlab.plans.qkd._alice import PatternRecord, pattern_generator, random_pattern
from qnetlab.plans.qkd._detections import Receiver
from qnetlab.plans.qkd._distiller import BlockDistiller, BlockOutcome, KeySink
from qnetlab.plans.qkd._frames import FrameCollector

logger = logging.getLogger(__name__)

STREAM = "timetags"
ENCODING_COMMAND = {"polarization": "POL", "time-bin": "TBIN"}
SIM_LAB_CHANNELS = {
    "polarization": {"sync": 1, "H": 2, "V": 3, "D": 4, "A": 5},
    "time-bin": {"sync": 1, "Z": 6, "X0": 7, "X1": 8},
}
"""Tagger inputs of config/sim_lab.yaml, used when ``channels`` is not given."""


@runtime_checkable
class PatternTransmitter(Protocol):
    """Alice's laser: pattern memory, encoding switch, output (:class:`qnetlab.instruments.laser.PulsedLaser`)."""

    name: str
    encoding: Any
    output: Any
    pattern_running: Any
    rep_rate_hz: Any

    def load_pattern(self, codes, *, decoy_ratio: float | None = None, vacuum_ratio: float | None = None) -> Any:
        """Upload ``codes`` and read them back."""
        ...


Triple = tuple[float, float, float]


@plan_arguments
def bb84(
    tagger: StreamingTagger,
    transmitter: PatternTransmitter,
    *,
    encoding: Literal["polarization", "time-bin"] = "polarization",
    duration_s: Annotated[float, Field(gt=0, description="acquisition time (s)")],
    intensities: Annotated[Triple, Field(description="mean photon numbers (signal, decoy, vacuum)")],
    probabilities: Annotated[Triple, Field(description="probabilities of the three intensities")] = (0.7, 0.2, 0.1),
    block_size: Annotated[int, Field(ge=10_000, description="sifted key-basis bits per block")] = 200_000,
    key_sink: Callable[[np.ndarray, str], object],
    link: Annotated[str, Field(min_length=1, description="QKD link the keys belong to")] = "alice-bob",
    key_basis_probability: Annotated[float, Field(gt=0, lt=1, description="Alice's P(X basis)")] = 0.75,
    channels: dict[str, int] | None = None,
    frame_slots: Annotated[int, Field(ge=1024, le=1 << 20, description="slots per pattern upload")] = 1 << 20,
    time_bin_separation_ps: Annotated[float, Field(gt=0, description="early-late separation (ps)")] = 2000.0,
    gate_ps: Annotated[float, Field(gt=0, description="half-width of each arrival gate (ps)")] = 500.0,
    qber_abort: Annotated[float, Field(gt=0, lt=0.5, description="QBER above which a block gives no key")] = 0.11,
    eps_sec: Annotated[float, Field(gt=0, lt=1)] = 1e-10,
    eps_cor: Annotated[float, Field(gt=0, lt=1)] = 1e-15,
    collect_every_s: Annotated[float, Field(gt=0, description="how often the catalog hears of new tags (s)")] = 2.0,
    poll_every_s: Annotated[float, Field(gt=0, description="how often the plan looks for cut frames (s)")] = 0.05,
    monitor: Any = None,
    seed: int | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Run decoy BB84 for ``duration_s`` and distil blocks of ``block_size`` key bits as they fill.

    Parameters
    ----------
    tagger : streaming time tagger recording Alice's sync and Bob's detectors
    transmitter : Alice's laser with a pattern memory
    encoding : "polarization" (roles H, V, D, A) or "time-bin" (roles Z, X0, X1)
    duration_s : acquisition time (s)
    intensities : calibrated mean photon numbers (mu1 signal, mu2 decoy, mu3 vacuum)
    probabilities : probabilities of the three intensities
    block_size : sifted key-basis (X) bits per block, > 10000
    key_sink : ``key_sink(bits, key_id)`` stores each key (e.g. a link's KME pool); nothing else sees it
    link : the QKD link's name (recorded)
    key_basis_probability : Alice's probability of the key basis X
    channels : role -> tagger input, with "sync"; the sim lab's cabling if None
    frame_slots : pattern slots per upload (alternating with one fewer)
    monitor : a :class:`qnetlab.plans.qkd.monitor.QberMonitor` (suspends key output when the QBER
        drifts, compensates between frames, resumes; stream ``monitor``), or None
    seed : seeds Alice's pattern and the distillation (tests only; None: the OS's CSPRNG)

    Returns
    -------
    The run uid. Stream ``blocks``: one event per block (see :meth:`BlockOutcome.event`).
    """
    wiring = dict(channels or SIM_LAB_CHANNELS[encoding])
    if "sync" not in wiring:
        raise PlanArgumentError(f"bb84: channels {wiring} name no 'sync' input")
    sync = wiring.pop("sync")
    try:
        mu = Intensities(tuple(intensities), tuple(probabilities))  # pyright: ignore[reportArgumentType]
        receiver = Receiver(encoding, wiring, 1e12 / float(transmitter.rep_rate_hz.get()), time_bin_separation_ps)
    except ValueError as error:
        raise PlanArgumentError(f"bb84: {error}") from None
    receiver = Receiver(encoding, wiring, receiver.period_ps, time_bin_separation_ps, gate_ps)
    inputs = chosen_channels("bb84", tagger, [sync, *receiver.inputs])
    rng_alice = pattern_generator(seed)
    rng_post = pattern_generator(None if seed is None else seed + 1)
    run_id = uuid.uuid4().hex[:12]
    params = DistillParams(mu, eps_sec=eps_sec, eps_cor=eps_cor, qber_abort=qber_abort)
    distiller = BlockDistiller(params, block_size, cast(KeySink, key_sink), run_id, receiver.period_ps, rng_post)
    collector = FrameCollector(receiver, sync, distiller.add, rng_post)
    if monitor is not None:
        monitor.attach(distiller, collector)
    directory = Path(getattr(tagger, "stream_directory", None) or ".").parent / "qkd" / time.strftime("%Y/%m/%d")
    record = PatternRecord(directory / f"{run_id}-alice.h5")
    _md = {
        "plan_name": "bb84",
        "plan_args": {
            "tagger": tagger.name,
            "transmitter": transmitter.name,
            "encoding": encoding,
            "duration_s": duration_s,
            "intensities": list(intensities),
            "probabilities": list(probabilities),
            "block_size": block_size,
            "link": link,
            "key_basis_probability": key_basis_probability,
            "channels": {"sync": sync, **wiring},
            "frame_slots": frame_slots,
            "qber_abort": qber_abort,
            "eps_sec": eps_sec,
            "eps_cor": eps_cor,
        },
        "qkd_run_id": run_id,
        "alice_pattern_file": str(record.path),
        "qkd_monitor": monitor.describe() if monitor is not None else None,
        **(md or {}),
    }
    frame_keys = ["index", "slots", "pattern_sha256", "detections", "calibration", "suspended", "sync_ps"]
    frame_signals = _signals("frame", frame_keys)
    block_signals: dict[str, Signal] = {}
    state = {"uploads": 0, "started": False, "blocks": 0, "keys": 0, "key_bits": 0}
    uploaded: dict[int, str] = {}

    def upload() -> None:
        index = state["uploads"]
        codes = random_pattern(rng_alice, frame_slots - (index % 2), key_basis_probability, probabilities)
        distiller.codes[index] = codes
        began = time.monotonic()
        transmitter.load_pattern(codes, decoy_ratio=mu.mu[1] / mu.mu[0], vacuum_ratio=mu.mu[2] / mu.mu[0])
        uploaded[index] = record.add(index, codes)
        collector.expect(index, codes)
        state["uploads"] += 1
        logger.debug(
            "bb84 %s: pattern %d uploaded (%d slots, %.2f s)", run_id, index, codes.size, time.monotonic() - began
        )

    def report_blocks(outcomes: list[BlockOutcome]) -> MsgGenerator[None]:
        for outcome in outcomes:
            event = outcome.event()
            if not block_signals:
                block_signals.update(_signals("", list(event)))
            for key, value in event.items():
                block_signals[key].put(value)
            state["blocks"] += 1
            state["keys"] += int(event["accepted"])
            state["key_bits"] += int(event["key_bits"])
            logger.info("%s", block_line(event))
            if monitor is not None:
                monitor.saw_block(event)
            yield from bps.trigger_and_read(_readables(block_signals), name="blocks")

    def report_frames(done: int) -> MsgGenerator[None]:
        while frames_reported[0] < done:
            index = frames_reported[0]
            info = collector.cut_info.get(index, {})
            values = {
                "index": index,
                "slots": frame_slots - (index % 2),
                "pattern_sha256": uploaded.get(index, ""),
                "detections": info.get("detections", -1),
                "calibration": info.get("calibration", False),
                "suspended": info.get("suspended", False),
                "sync_ps": info.get("sync_ps", -1),
            }
            for key, value in values.items():
                frame_signals[key].put(value)
            yield from bps.trigger_and_read(_readables(frame_signals), name="frames")
            frames_reported[0] += 1

    frames_reported = [0]

    def acquire() -> MsgGenerator[None]:
        yield from bps.mv(transmitter.pattern_running, False)
        yield from bps.kickoff(tagger, wait=True)
        state["started"] = True
        upload()
        yield from bps.mv(transmitter.pattern_running, True)
        group = short_uid("complete")
        collected = [time.monotonic()]
        yield from bps.complete(tagger, wait=False, group=group)
        done = False
        while not done:
            yield from bps.checkpoint()
            done = yield from bps.wait(group=group, timeout=poll_every_s, error_on_timeout=False)
            if done or time.monotonic() - collected[0] > collect_every_s:
                yield from bps.collect(tagger, name=STREAM)
                collected[0] = time.monotonic()
            for error in (collector.error, distiller.error):
                if error is not None:
                    raise error
            cut = collector.frames_cut
            if monitor is not None:
                yield from monitor.check(distiller, collector, between_frames=not done and cut >= state["uploads"])
            if not done and cut >= state["uploads"]:
                upload()  # first: the light of the next frame goes out while the catalog hears of this one
            yield from report_frames(cut)
            yield from report_blocks(distiller.finished())

    def finish() -> MsgGenerator[None]:
        if state["started"]:
            yield from bps.stop(tagger)
            yield from bps.collect(tagger, name=STREAM)
        record.close()

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        yield from bps.prepare(tagger, TagAcquisition(duration_s, inputs, (collector,)), wait=True)
        yield from bps.mv(transmitter.encoding, ENCODING_COMMAND[encoding])  # one at a time: one SCPI link
        yield from bps.mv(transmitter.output, True)
        yield from bps.declare_stream(tagger, name=STREAM, collect=True)
        try:
            yield from bpp.finalize_wrapper(acquire(), finish())
            distiller.flush()
            yield from report_blocks(distiller.close(wait=True))
        finally:
            if distiller.alive:  # an error or abort: drop the blocks not yet distilled
                distiller.close(wait=False)
        yield from bps.trigger_and_read(tagger.stream_summary(), name="summary")
        logger.info(
            "bb84 %s: %d blocks, %d with key, %d secret bits", run_id, state["blocks"], state["keys"], state["key_bits"]
        )

    uid = yield from inner()
    return cast("str", uid)


def block_line(event: dict[str, Any]) -> str:
    """One line per block for logs and the CLI (public facts only)."""
    head = (
        f"block {event['block']}: QBER X {event['qber_x']:.4f} Z {event['qber_z']:.4f}, "
        f"sifted {event['sifted_key_bits']} bits ({event['sifted_rate_hz']:.3g} bit/s)"
    )
    if event["accepted"]:
        rate = f"{event['secret_rate_hz']:.3g} bit/s"
        return f"{head}, key {event['key_bits']} bits ({rate}) sha256 {event['key_sha256'][:12]}"
    return f"{head}, no key: {event['reason']}"


def _signals(prefix: str, names: Sequence[str]) -> dict[str, Signal]:
    return {name: Signal(name=f"{prefix}_{name}" if prefix else name, value=0) for name in names}


def _readables(signals: dict[str, Signal]) -> list[Readable]:
    return cast("list[Readable]", list(signals.values()))

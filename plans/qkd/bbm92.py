"""BBM92 on the bench: entanglement-based QKD with the pair source and the two motorized analyzers.

The bench has no beam splitter before the analyzers, so the basis choice is active: the run
is cut into segments of ``segment_s``; for each, Alice and Bob each draw their basis (X
with ``key_basis_probability``, else Z) from a cryptographic source, turn their QWP and HWP
to it (Z: T port H, X: T port D), and the tagger records the four detectors for the
segment. Coincidences within ``window_ps`` are the raw key (:mod:`._pairs`); segments in
which the bases agree are sifted, the others dropped. Blocks of ``block_size`` key-basis
(X) bits are distilled on bb84's worker while acquisition goes on (:mod:`._pair_blocks`):
Cascade, verification, finite-key length by Tomamichel et al. Eq. (2), privacy
amplification of both ends' keys; keys go to ``key_sink`` only.

Recorded: raw tags (stream ``timetags``, one HDF5 file per segment); stream ``segments``
(both bases, mounts, singles, coincidences, offset-window accidentals: the bases are public
in BBM92); stream ``blocks`` (QBER per basis, finite-key terms, leakage, key length, the
key's SHA-256 or why there is no key, and MFL's rate at the block's figures).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

import bluesky.plan_stubs as bps
import numpy as np
from bluesky.utils import MsgGenerator
from pydantic import Field

from qnetlab.analysis.qkd.pair_distill import PairParams
from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans._arguments import PlanArgumentError, chosen_channels, plan_arguments
from qnetlab.plans.entanglement._counting import TAGS_STREAM, Recorder, entanglement_run, run_metadata
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.protocols import StreamingTagger
from qnetlab.plans.qkd._alice import pattern_generator
from qnetlab.plans.qkd._distiller import KeySink
from qnetlab.plans.qkd._pair_blocks import BASES, PairDistiller, PairOutcome, Segment
from qnetlab.plans.qkd._pairs import SegmentTags, coincidences, squashed_bits
from qnetlab.plans.qkd.bb84 import block_line
from qnetlab.plans.stubs import stream_tags_linked

logger = logging.getLogger(__name__)

ANALYZER_STATE = {0: "H", 1: "D"}
"""The state each basis's T port projects on (Z: H, X: D)."""


@plan_arguments
def bbm92(
    tagger: StreamingTagger,
    analyzer_a: Analyzer,
    analyzer_b: Analyzer,
    *,
    duration_s: Annotated[float, Field(gt=0, le=86_400, description="acquisition time (s)")],
    block_size: Annotated[int, Field(ge=1000, description="sifted key-basis bits per block")] = 10_000,
    key_sink: Callable[[np.ndarray, str], object],
    segment_s: Annotated[float, Field(gt=0, le=3600, description="time each basis choice is held (s)")] = 1.0,
    key_basis_probability: Annotated[float, Field(gt=0, lt=1, description="each side's P(X basis)")] = 0.5,
    window_ps: Annotated[int, Field(ge=1, le=1_000_000, description="largest |t_B - t_A| of a pair (ps)")] = 1000,
    delay_b_ps: Annotated[int, Field(ge=-(10**9), le=10**9, description="Bob's tags' delay from Alice's (ps)")] = 0,
    accidental_offset_ps: Annotated[int, Field(description="shift of Bob's tags for the accidentals (ps)")] = 100_000,
    flip_bob: tuple[Literal["Z", "X"], ...] = (),
    link: Annotated[str, Field(min_length=1, description="QKD link the keys belong to")] = "alice-bob",
    qber_abort: Annotated[float, Field(gt=0, lt=0.5, description="QBER above which a block gives no key")] = 0.11,
    eps_sec: Annotated[float, Field(gt=0, lt=1)] = 1e-10,
    eps_cor: Annotated[float, Field(gt=0, lt=1)] = 1e-15,
    seed: int | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Run BBM92 for ``duration_s`` and distil blocks of ``block_size`` key bits as they fill.

    Parameters
    ----------
    tagger : streaming time tagger recording both analyzers' detectors
    analyzer_a, analyzer_b : Alice's and Bob's analyzers (:func:`qnetlab.plans.entanglement.pair_analyzers`)
    duration_s : acquisition time (s), cut into segments of ``segment_s``
    block_size : sifted key-basis (X) bits per block; a block also waits for half the test-basis (Z) bits
        expected beside them, block_size ((1 - q) / q)^2 / 2 (whole segments come in one basis)
    key_sink : ``key_sink(bits, key_id)`` stores each key (e.g. a link's KME pool); nothing else sees it
    segment_s : time each pair of basis choices is held (s)
    key_basis_probability : each side's probability of X (the key basis)
    window_ps : coincidence window, largest |t_B - delay_b_ps - t_A| (ps)
    delay_b_ps : Bob's detection delay relative to Alice's (ps)
    accidental_offset_ps : Bob's tags shifted by this much count the accidentals (ps), > 4 windows
    flip_bob : bases in which Bob inverts his bit (the source's state: () for Phi+, ("Z", "X") for Psi-)
    link : the QKD link's name (recorded)
    qber_abort : QBER above which a block gives no key
    eps_sec, eps_cor : secrecy and correctness of each key
    seed : seeds the basis choices and the distillation (tests only; None: the OS's CSPRNG)

    Returns
    -------
    The run uid. Streams ``segments``, ``blocks`` (see :meth:`PairOutcome.event`) and ``summary``
    (tags per analyzer input, blocks, secret bits).
    """
    if abs(accidental_offset_ps) <= 4 * window_ps:
        raise PlanArgumentError(
            f"bbm92: accidental_offset_ps={accidental_offset_ps} must be beyond 4 x window_ps = {4 * window_ps}"
        )
    channels = (analyzer_a.channel_t, analyzer_a.channel_r, analyzer_b.channel_t, analyzer_b.channel_r)
    chosen_channels("bbm92", tagger, channels)
    rng_bases = pattern_generator(seed)
    rng_post = pattern_generator(None if seed is None else seed + 1)  # the worker thread's alone
    rng_squash = pattern_generator(None if seed is None else seed + 2)  # double clicks, on the plan's thread
    run_id = uuid.uuid4().hex[:12]
    params = PairParams(eps_sec=eps_sec, eps_cor=eps_cor, qber_abort=qber_abort)
    q = key_basis_probability
    test_bits = math.ceil(block_size * ((1 - q) / q) ** 2 / 2)  # half the test bits expected beside block_size
    distiller = PairDistiller(params, block_size, cast(KeySink, key_sink), run_id, rng_post, test_bits)
    n_segments = max(1, math.ceil(duration_s / segment_s - 1e-9))
    args = {
        "duration_s": duration_s,
        "block_size": block_size,
        "segment_s": segment_s,
        "segments": n_segments,
        "key_basis_probability": key_basis_probability,
        "window_ps": window_ps,
        "delay_b_ps": delay_b_ps,
        "accidental_offset_ps": accidental_offset_ps,
        "flip_bob": list(flip_bob),
        "link": link,
        "basis_choice": "active (segments)",
        "qber_abort": qber_abort,
        "eps_sec": eps_sec,
        "eps_cor": eps_cor,
    }
    _md = run_metadata("bbm92", tagger, analyzer_a, analyzer_b, args, {"qkd_run_id": run_id, **(md or {})})
    recorder, block_recorder = Recorder(), Recorder()
    mounts = [analyzer_a.qwp, analyzer_a.hwp, analyzer_b.qwp, analyzer_b.hwp]
    state = {"blocks": 0, "keys": 0, "key_bits": 0}
    tag_totals = dict.fromkeys(channels, 0)

    def report_blocks(outcomes: list[Any]) -> MsgGenerator[None]:
        for outcome in cast(list[PairOutcome], outcomes):
            event = outcome.event()
            state["blocks"] += 1
            state["keys"] += int(event["accepted"])
            state["key_bits"] += int(event["key_bits"])
            logger.info("%s", block_line(event))
            yield from block_recorder.event("blocks", event)

    def segment(index: int, duration: float) -> MsgGenerator[None]:
        basis_a, basis_b = (int(rng_bases.random() < key_basis_probability) for _ in range(2))
        q_a, h_a = analyzer_a.motor_positions(ANALYZER_STATE[basis_a])
        q_b, h_b = analyzer_b.motor_positions(ANALYZER_STATE[basis_b])
        yield from bps.checkpoint()
        yield from bps.mv(analyzer_a.qwp, q_a, analyzer_a.hwp, h_a, analyzer_b.qwp, q_b, analyzer_b.hwp, h_b)
        tags = SegmentTags(channels)
        yield from stream_tags_linked(tagger, TagAcquisition(duration, list(channels), (tags,)), TAGS_STREAM)
        if distiller.error is not None:
            raise distiller.error
        t, c = tags.tags()
        pairs = coincidences(t, c, channels, window_ps, delay_b_ps)
        accidentals = coincidences(t, c, channels, window_ps, delay_b_ps + accidental_offset_ps).size
        sifted = basis_a == basis_b
        bits_a, bits_b = squashed_bits(pairs, rng_squash, BASES[basis_b] in flip_bob)
        if not sifted:
            bits_a = bits_b = np.empty(0, np.uint8)
        distiller.add(Segment(index, basis_a, basis_b, duration, pairs.size, bits_a, bits_b))
        for ch in channels:
            tag_totals[ch] += int(np.count_nonzero(c == ch))
        singles = {
            f"singles_{p}": int(np.count_nonzero(c == ch))
            for p, ch in zip(("a_t", "a_r", "b_t", "b_r"), channels, strict=True)
        }
        values = {
            "segment": index,
            "basis_a": BASES[basis_a],
            "basis_b": BASES[basis_b],
            "sifted": bool(sifted),
            "duration_s": float(duration),
            "coincidences": pairs.size,
            "accidentals": int(accidentals),
            "double_clicks_a": int(np.count_nonzero(pairs.a_double)),
            "double_clicks_b": int(np.count_nonzero(pairs.b_double)),
            **singles,
        }
        yield from recorder.event("segments", values, devices=mounts)
        yield from report_blocks(distiller.finished())

    def body(uid: str) -> MsgGenerator[None]:
        try:
            for index in range(n_segments):
                yield from segment(index, min(segment_s, duration_s - index * segment_s))
            distiller.flush()
            yield from report_blocks(distiller.close(wait=True))
        finally:
            if distiller.alive:  # an error or abort: drop the blocks not yet distilled
                distiller.close(wait=False)
        if distiller.error is not None:
            raise distiller.error
        summary = {f"{tagger.name}_ch{ch}_tags": n for ch, n in tag_totals.items()}
        summary.update(blocks=state["blocks"], blocks_with_key=state["keys"], secret_key_bits=state["key_bits"])
        yield from Recorder().event("summary", summary)
        logger.info(
            "bbm92 %s: %d blocks, %d with key, %d secret bits",
            run_id,
            state["blocks"],
            state["keys"],
            state["key_bits"],
        )

    uid = yield from entanglement_run(body, _md, tagger)
    return cast("str", uid)

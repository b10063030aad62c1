"""Blocks of frames distilled on a worker thread while the tagger keeps acquiring.

Frames (Alice's pattern of one upload + Bob's detections in its one pass) are gathered
until a block holds ``block_size`` sifted key-basis bits; the block then goes to
:func:`qnetlab.analysis.qkd.distill.distill_block` on a worker thread. An accepted key is
taken out of a scratch owner-only key store and handed to ``key_sink(bits, key_id)``
(e.g. :func:`qnetlab.kms.pool.deposit_link_key` bound to a link); only the block's public
facts (:meth:`BlockOutcome.event`) come back to the plan.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qnetlab.analysis.qkd.distill import BlockResult, DistillParams, distill_block
from qnetlab.analysis.qkd.keystore import KeyStore
from qnetlab.analysis.qkd.sifting import AliceRecord, BobRecord
from qnetlab.plans.qkd._frames import Frame

KeySink = Callable[[np.ndarray, str], object]
LEVELS = ("signal", "decoy", "vacuum")


@dataclass(frozen=True)
class BlockOutcome:
    """One block's public facts: the distillation result and what went in."""

    index: int
    result: BlockResult
    frames: int
    slots: int
    detections: int
    acquired_s: float
    suspended: bool = False
    withheld: str = ""  # why an accepted key was not handed out (key output suspended by the monitor)
    per_level: dict[str, list[int]] | None = None  # slots sent and Bob's detections per intensity level

    def level_counts(self) -> dict[str, int]:
        """Public counts per intensity level: slots, detections, sifted bits and errors per basis (-1: not known)."""
        counts = self.result.counts
        per = {**(self.per_level or {}), "sifted_x": counts.get("n_key"), "errors_x": counts.get("m_key")}
        per |= {"sifted_z": counts.get("n_test"), "errors_z": counts.get("m_test")}
        return {
            f"{what}_{level}": int(values[i]) if values is not None else -1
            for what, values in per.items()
            for i, level in enumerate(LEVELS)
        }

    def event(self) -> dict[str, Any]:
        """Scalars for one event of the ``blocks`` stream (no key bits: length and SHA-256 only)."""
        r = self.result
        q_key, q_test, fk = r.qber_key, r.qber_test, r.finite_key
        nan = float("nan")
        counts = r.counts
        accepted = bool(r.accepted) and not self.withheld
        return {
            "block": self.index,
            "accepted": accepted,
            "reason": (r.reason or self.withheld) or "key",
            "frames": self.frames,
            "slots": self.slots,
            "acquired_s": self.acquired_s,
            "detections": self.detections,
            "sifted_key_bits": r.sifted_key_bits,
            "sifted_test_bits": int(sum(counts.get("n_test", [0]))),
            "qber_x": q_key.value if q_key else nan,
            "qber_z": q_test.value if q_test else nan,
            "qber_z_upper": q_test.upper if q_test else nan,
            "s_x0": fk.s_x0 if fk else nan,
            "s_x1": fk.s_x1 if fk else nan,
            "phi_x": fk.phi_x if fk else nan,
            "leaked_ec_bits": r.leaked_ec_bits,
            "verification_bits": r.verification_bits,
            "key_bits": r.length if accepted else 0,
            "key_sha256": (r.sha256 or "") if accepted else "",
            "sifted_rate_hz": r.sifted_key_bits / self.acquired_s if self.acquired_s else 0.0,
            "secret_rate_hz": r.length / self.acquired_s if self.acquired_s and accepted else 0.0,
            "suspended": self.suspended,
            **self.level_counts(),
        }


def block_records(frames: list[Frame], codes: dict[int, np.ndarray]) -> tuple[AliceRecord, BobRecord]:
    """Alice's and Bob's records of consecutive frames (slots numbered through the block)."""
    offsets = np.cumsum([0] + [f.slots for f in frames[:-1]])
    pattern = np.concatenate([codes[f.index] for f in frames])
    alice = AliceRecord(np.arange(pattern.size, dtype=np.int64), (pattern >> 1) & 1, pattern & 1, (pattern >> 2) & 3)
    bob = BobRecord(
        np.concatenate([f.bob_slot + o for f, o in zip(frames, offsets, strict=True)]),
        np.concatenate([f.bob_basis for f in frames]),
        np.concatenate([f.bob_bit for f in frames]),
        np.concatenate([f.bob_double for f in frames]),
    )
    return alice, bob


class BlockDistiller:
    """Gathers frames into blocks and distils them on a worker thread.

    Parameters
    ----------
    params : the protocol's parameters (intensities, security, abort threshold)
    block_size : sifted key-basis bits per block
    key_sink : where accepted keys go, ``key_sink(bits, key_id)``
    run_id : prefix of the key ids
    period_ps : Alice's pulse period (ps), for the acquisition time of a block
    rng : the distillation's randomness (Cascade shuffles, hash seeds)
    """

    def __init__(
        self,
        params: DistillParams,
        block_size: int,
        key_sink: KeySink,
        run_id: str,
        period_ps: float,
        rng: np.random.Generator,
    ):
        self.params, self.block_size, self.key_sink = params, block_size, key_sink
        self.run_id, self.period_ps, self.rng = run_id, period_ps, rng
        self.codes: dict[int, np.ndarray] = {}
        self._frames: list[Frame] = []
        self._key_bits = 0
        self._blocks = 0
        self._todo: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self.suspended = False  # frames taken while suspended are dropped (the monitor says why)
        self.suspend_reason = ""
        self._suspensions = 0
        self.error: BaseException | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix="qnetlab-bb84-")
        self._store = KeyStore(Path(self._scratch.name) / "distilled")
        self._worker = threading.Thread(target=self._work, name="bb84-distiller", daemon=True)
        self._worker.start()

    def add(self, frame: Frame) -> None:
        """Take a frame (the calibration frame is public and dropped); queue a full block."""
        if frame.calibration or self.suspended:
            self.codes.pop(frame.index, None)
            return
        codes = self.codes[frame.index]
        basis_alice = (codes[frame.bob_slot] >> 1) & 1
        self._key_bits += int(
            np.count_nonzero((basis_alice == self.params.key_basis) & (frame.bob_basis == basis_alice))
        )
        self._frames.append(frame)
        if self._key_bits >= self.block_size:
            self.flush()

    def suspend(self, reason: str) -> None:
        """Stop key output: close the block being gathered; blocks distilled until :meth:`resume` keep no key."""
        self.suspended, self.suspend_reason = True, reason
        self._suspensions += 1
        self.flush()

    def resume(self) -> None:
        """Key output again, from the next frame on."""
        self.suspended = False

    def flush(self) -> None:
        """Queue the frames gathered so far as one block (nothing if none)."""
        if self._frames:
            self._todo.put((self._blocks, self._frames, self._suspensions - int(self.suspended)))
            self._blocks += 1
            self._frames, self._key_bits = [], 0

    def finished(self) -> list[BlockOutcome]:
        """Blocks distilled since the last call."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    @property
    def alive(self) -> bool:
        return self._worker.is_alive()

    def close(self, wait: bool = True) -> list[BlockOutcome]:
        """Stop the worker (after the queued blocks if ``wait``); the blocks not yet reported."""
        if not wait:
            while not self._todo.empty():
                self._todo.get_nowait()
        self._todo.put(None)
        self._worker.join()
        self._scratch.cleanup()
        return self.finished()

    def _work(self) -> None:
        while (item := self._todo.get()) is not None:
            index, frames, suspensions = item
            try:
                self._done.put(self._distil(index, frames, suspensions))
            except BaseException as error:  # reported by the plan
                self.error = error
        return

    def _hand_out(self, result, key_id: str, suspensions: int) -> tuple[bool, str]:
        """Take an accepted key from the store to the sink, unless key output was suspended while
        the block was queued or distilling; returns (suspended, why the key was withheld)."""
        suspended = self.suspended or self._suspensions != suspensions
        withheld = f"suspended: {self.suspend_reason}" if suspended and result.accepted else ""
        if result.accepted:
            key = self._store.take(key_id)
            if not withheld:
                self.key_sink(key, key_id)
        return suspended, withheld

    def _distil(self, index: int, frames: list[Frame], suspensions: int) -> BlockOutcome:
        alice, bob = block_records(frames, self.codes)
        for frame in frames:
            self.codes.pop(frame.index, None)
        key_id = f"{self.run_id}.{index:05d}"
        result = distill_block(alice, bob, self.params, self._store, self.rng, key_id=key_id)
        suspended, withheld = self._hand_out(result, key_id, suspensions)
        slots = int(alice.slot.size)
        seconds = slots * self.period_ps * 1e-12
        per_level = {
            "slots": np.bincount(alice.intensity, minlength=3)[:3].tolist(),
            "detections": np.bincount(alice.intensity[bob.slot], minlength=3)[:3].tolist(),  # Alice's slots are 0..n-1
        }
        return BlockOutcome(
            index, result, len(frames), slots, int(bob.slot.size), seconds, suspended, withheld, per_level
        )

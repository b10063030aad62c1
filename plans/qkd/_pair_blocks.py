"""BBM92 blocks: sifted segments gathered and distilled on bb84's worker thread.

:class:`PairDistiller` is bb84's :class:`~._distiller.BlockDistiller` (worker thread,
owner-only scratch key store, ``key_sink``) fed with segments instead of frames: a block
closes when its segments hold ``block_size`` key-basis bits and is distilled by
:func:`qnetlab.analysis.qkd.pair_distill.distill_pairs`. Only public facts come back
(:meth:`PairOutcome.event`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from qnetlab.analysis.qkd.bbm92 import BBM92FiniteKey
from qnetlab.analysis.qkd.distill import DistillParams
from qnetlab.analysis.qkd.estimation import binary_entropy
from qnetlab.analysis.qkd.pair_distill import PairParams, distill_pairs
from qnetlab.plans.qkd._distiller import BlockDistiller, BlockOutcome, KeySink

BASES = ("Z", "X")
KEY_BASIS = 1
"""X gives the key and Z the test, as in bb84."""


@dataclass(frozen=True)
class Segment:
    """One analyzer setting held for ``duration_s``: both bases, and the sifted bits if they agree."""

    index: int
    basis_a: int
    basis_b: int
    duration_s: float
    coincidences: int
    bits_a: np.ndarray
    bits_b: np.ndarray

    @property
    def sifted(self) -> bool:
        return self.basis_a == self.basis_b


@dataclass(frozen=True)
class PairOutcome(BlockOutcome):
    """A block's distillation result, its finite-key terms and what went in."""

    finite: BBM92FiniteKey | None = None
    coincidences: int = 0

    def event(self) -> dict[str, Any]:
        """Scalars for one event of the ``blocks`` stream (no key bits: length and SHA-256 only)."""
        r, fk, nan = self.result, self.finite, float("nan")
        q_key, q_test = r.qber_key, r.qber_test
        t = self.acquired_s
        n_key, n_test = int(r.counts.get("n_key", 0)), int(r.counts.get("n_test", 0))
        e_test = q_test.value if q_test else nan
        mfl = nan
        if q_test and n_key:  # R = q Q [1 - f h(E) - h(E_p)] at the block's figures, f h(E) = leak / n
            mfl = n_key / t * (1 - r.leaked_ec_bits / n_key - float(binary_entropy(min(e_test, 0.5))))
        return {
            "block": self.index,
            "accepted": bool(r.accepted),
            "reason": r.reason or "key",
            "segments": self.frames,
            "acquired_s": t,
            "coincidences": self.coincidences,
            "sifted_key_bits": n_key,
            "sifted_test_bits": n_test,
            "qber_x": q_key.value if q_key else nan,
            "qber_z": e_test,
            "qber_z_upper": q_test.upper if q_test else nan,
            "tlgr_mu": fk.mu if fk else nan,
            "tlgr_bits": fk.bits if fk else nan,
            "leaked_ec_bits": r.leaked_ec_bits,
            "verification_bits": r.verification_bits,
            "key_bits": r.length,
            "key_sha256": r.sha256 or "",
            "gain_hz": self.coincidences / t if t else 0.0,
            "sifted_rate_hz": n_key / t if t else 0.0,
            "secret_rate_hz": r.length / t if t else 0.0,
            "mfl_rate_hz": mfl if math.isfinite(mfl) else nan,
            "suspended": self.suspended,
        }


class PairDistiller(BlockDistiller):
    """Gathers segments into blocks of ``block_size`` key-basis bits and distils them on the worker."""

    def __init__(
        self,
        params: PairParams,
        block_size: int,
        key_sink: KeySink,
        run_id: str,
        rng: np.random.Generator,
        test_bits: int = 0,
    ):
        # the base keeps ``params`` for its frame-taking add(), which this class replaces
        super().__init__(cast(DistillParams, params), block_size, key_sink, run_id, 0.0, rng)
        self.pair_params = params
        self.test_bits = max(test_bits, params.min_test_bits)
        self._segments: list[Segment] = []
        self._pending_bits = [0, 0]  # test (Z), key (X)

    def add(self, frame: Any) -> None:
        """Take one :class:`Segment` (dropped while suspended); queue the block once it holds
        ``block_size`` key-basis bits and ``test_bits`` test-basis bits."""
        if self.suspended:
            return
        segment = cast(Segment, frame)
        self._segments.append(segment)
        if segment.sifted:
            self._pending_bits[segment.basis_a] += int(segment.bits_a.size)
        if self._pending_bits[KEY_BASIS] >= self.block_size and self._pending_bits[1 - KEY_BASIS] >= self.test_bits:
            self.flush()

    def flush(self) -> None:
        """Queue the segments gathered so far as one block (nothing if none holds a sifted bit)."""
        if any(s.sifted and s.bits_a.size for s in self._segments):
            self._todo.put((self._blocks, self._segments, self._suspensions - int(self.suspended)))
            self._blocks += 1
            self._segments, self._pending_bits = [], [0, 0]

    def _distil(self, index: int, frames: list[Any], suspensions: int) -> BlockOutcome:
        segments = cast(list[Segment], frames)
        key = [s for s in segments if s.sifted and s.basis_a == KEY_BASIS]
        test = [s for s in segments if s.sifted and s.basis_a != KEY_BASIS]

        def joined(chosen: list[Segment], side: str) -> np.ndarray:
            parts = [getattr(s, f"bits_{side}") for s in chosen]
            return np.concatenate(parts) if parts else np.empty(0, np.uint8)

        key_id = f"{self.run_id}.{index:05d}"
        result, finite = distill_pairs(
            joined(key, "a"), joined(key, "b"), joined(test, "a"), joined(test, "b"),
            self.pair_params, self._store, self.rng, key_id=key_id,
        )  # fmt: skip
        suspended, withheld = self._hand_out(result, key_id, suspensions)
        acquired = float(sum(s.duration_s for s in segments))
        coincidences = int(sum(s.coincidences for s in segments))
        detections = int(sum(s.bits_a.size for s in segments))
        return PairOutcome(
            index, result, len(segments), 0, detections, acquired, suspended, withheld,
            finite=finite, coincidences=coincidences,
        )  # fmt: skip

"""Alice's side of Cascade: answers Bob's messages on her fixed key (private; published by ``cascade``)."""

from __future__ import annotations

import numpy as np

from . import _cascade_kernels as _k
from . import _cascade_syndrome as _syn
from ._cascade_messages import ParityBatch, ParityReply, ParityRequest, PassBatch, PassSpec, SyndromeRequest
from ._cascade_passes import _EMPTY_U8, _pack, _PassGeometry

Message = PassSpec | PassBatch | ParityRequest | SyndromeRequest | ParityBatch


class CascadeAlice:
    """Alice's side: answers parity and syndrome requests on her (fixed) key and counts leakage.

    Parameters
    ----------
    key : ndarray of uint8 (0/1)
        Alice's sifted key. Never shown in repr.
    """

    def __init__(self, key: np.ndarray):
        self._key = np.ascontiguousarray(key, dtype=np.uint8)
        self._words = _pack(self._key)
        self._passes: dict[int, _PassGeometry] = {}
        self.leaked_bits = 0
        self.messages = 0

    def __repr__(self) -> str:
        return f"CascadeAlice(n={self._key.size}, leaked_bits={self.leaked_bits})"

    def handle(self, msg: Message) -> ParityReply:
        """Answer one message from Bob (one round trip)."""
        if isinstance(msg, ParityBatch):
            parts = [self._one(r) for r in msg.requests]
            par = np.concatenate(parts) if parts else _EMPTY_U8
        else:
            par = self._one(msg)
        self.leaked_bits += int(par.size)
        self.messages += 1
        return ParityReply(par)

    def _one(self, msg: Message) -> np.ndarray:
        if type(msg) is ParityRequest:
            return self._answer(msg)
        if isinstance(msg, PassSpec):
            return self._open(msg)
        if isinstance(msg, PassBatch):
            return np.concatenate([self._open(spec) for spec in msg.specs])
        if isinstance(msg, SyndromeRequest):
            return self._syndromes(msg)
        if isinstance(msg, ParityRequest):
            return self._answer(msg)
        raise TypeError(f"Cascade: unknown message type {type(msg).__name__} (inside a ParityBatch: no nesting)")

    def _open(self, spec: PassSpec) -> np.ndarray:
        n = self._key.size
        g = _PassGeometry(spec, n)
        g.pref = _EMPTY_U8 if g.kind == _k.HALVES else _k.prefix_parities(g.kind, self._key, self._words, n, g.a, g.c)
        self._passes[spec.index] = g
        return _k.block_parities(g.kind, self._words, g.mask, g.pref, n, g.k)

    def _pass(self, index: int) -> _PassGeometry:
        g = self._passes.get(index)
        if g is None:
            raise ValueError(f"Cascade: request for pass {index}, which Bob never opened")
        return g

    def _answer(self, req: ParityRequest) -> np.ndarray:
        g = self._pass(req.pass_index)
        return g.answer(
            self._words,
            g.mask,
            g.pref,
            _EMPTY_U8,
            np.asarray(req.block, np.int64),
            np.asarray(req.lo, np.int64),
            np.asarray(req.hi, np.int64),
        )

    def _syndromes(self, req: SyndromeRequest) -> np.ndarray:
        self._pass(req.pass_index)  # raises if never opened
        blk, lo, hi = (np.asarray(v, np.int64) for v in (req.block, req.lo, req.hi))
        if not (blk.size == lo.size == hi.size):
            raise ValueError(f"Cascade: syndrome request for pass {req.pass_index} with unequal block/lo/hi lengths")
        if blk.size and (np.any(lo < 0) or np.any(hi <= lo) or np.any(hi > self._key.size)):
            raise ValueError(f"Cascade: syndrome request for pass {req.pass_index} with an empty or outside range")
        return _syn.to_bits(lo, hi, self._syndrome_values(req.pass_index, blk, lo, hi))

    def _syndrome_values(self, pass_index: int, blk: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Syndromes (int64) of ranges of an opened pass; the in-process search reads them directly."""
        g = self._passes[pass_index]
        return _syn.syndromes(g.kind, self._words, g.mask, self._key.size, g.a, g.c, blk, lo, hi)

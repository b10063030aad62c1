"""Cascade's passes as both parties see them: packed keys and each pass's layout (private)."""

from __future__ import annotations

import numpy as np

from . import _cascade_kernels as _k
from ._cascade_messages import PassSpec

_EMPTY_MASK = np.zeros(1, np.uint64)
_EMPTY_U8 = np.zeros(0, np.uint8)


def _pack(key: np.ndarray) -> np.ndarray:
    n_words = (key.size + 63) // 64
    packed = np.packbits(key, bitorder="little")
    buf = np.zeros(n_words * 8, np.uint8)
    buf[: packed.size] = packed
    return buf.view(np.uint64).copy()


def _halves_mask(seed: int, n: int) -> np.ndarray:
    n_words = (n + 63) // 64
    mask = np.random.Generator(np.random.PCG64(seed)).integers(0, 2**64, n_words, dtype=np.uint64, endpoint=False)
    tail = n - 64 * (n_words - 1)
    if tail < 64:
        mask[-1] &= np.uint64((1 << tail) - 1)
    return mask


class _PassGeometry:
    """What both parties derive from a PassSpec."""

    def __init__(self, spec: PassSpec, n: int):
        self.spec = spec
        self.kind = spec.kind
        self.n = n
        self.k = spec.block_size
        self.a = spec.a % n if n > 1 else 0
        self.c = spec.c % n if n > 1 else 0
        self.a_inv = pow(self.a, -1, n) if (spec.kind == _k.AFFINE and n > 1) else 1
        self.mask = _halves_mask(spec.seed, n) if spec.kind == _k.HALVES else _EMPTY_MASK
        # filled in by whoever uses the pass: prefix parities, Fenwick tree of flips, scratch marks
        self.pref: np.ndarray = _EMPTY_U8
        self.fen: np.ndarray = _EMPTY_U8
        self.mark: np.ndarray = _EMPTY_U8
        self.used: np.ndarray = np.zeros(0, np.int64)  # Bob: syndromes asked per block (each one starts deeper)
        self.answer, self.advance = _k.kernels(spec.kind)  # Alice's and Bob's kernels for this layout
        if spec.kind == _k.HALVES:
            self.n_blocks = 2
            self.root_len = n
        else:
            self.n_blocks = (n + self.k - 1) // self.k
            self.root_len = self.k

"""Error verification: both parties compare a short 2-universal hash of their keys.

The tag is ``t = ceil(log2(1/eps_cor))`` bits of ``H x`` with H a random t x n
Hankel matrix over GF(2), ``H[i, j] = s[i + j]`` (a Toeplitz matrix with its
columns reversed, hence 2-universal: two different keys collide with
probability 2^-t).  Lim et al., PRA 89, 022307 (2014), Sec. II step 5: the check
publishes ceil(log2(1/eps_hash)) bits and makes the protocol eps_cor-correct
with eps_cor = eps_hash.  A block whose tags differ is discarded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .privacy import new_seed, seed_bits

__all__ = ["VerificationTag", "check_tag", "hash_tag", "make_tag", "tag_length"]


def tag_length(eps_cor: float) -> int:
    """Tag bits for a correctness parameter ``eps_cor`` (0 < eps_cor < 1)."""
    if not 0.0 < eps_cor < 1.0:
        raise ValueError(f"verification: eps_cor={eps_cor} must lie in (0, 1)")
    return max(1, math.ceil(math.log2(1.0 / eps_cor)))


def _words(bits: np.ndarray, n_words: int) -> np.ndarray:
    packed = np.packbits(bits, bitorder="little")
    buf = np.zeros(n_words * 8, np.uint8)
    buf[: packed.size] = packed
    return buf.view(np.uint64)


def hash_tag(key: np.ndarray, seed: int, t: int) -> np.ndarray:
    """``t``-bit Hankel hash of ``key`` (uint8 0/1) for a given seed; uint8 bits."""
    key = np.asarray(key, np.uint8)
    n = key.size
    n_words = (n + 63) // 64
    x = _words(key, n_words)
    s = _words(seed_bits(seed, n + t - 1), n_words + (t + 63) // 64 + 1)
    out = np.zeros(t, np.uint8)
    for i in range(t):
        q, r = divmod(i, 64)
        row = s[q : q + n_words]
        if r:
            row = (row >> np.uint64(r)) | (s[q + 1 : q + 1 + n_words] << np.uint64(64 - r))
        acc = np.bitwise_xor.reduce(row & x)  # padding bits of x are zero
        out[i] = bin(int(acc)).count("1") & 1
    return out


@dataclass(frozen=True)
class VerificationTag:
    """Alice -> Bob: the public hash seed and tag (``t`` bits are disclosed)."""

    seed: int
    tag: bytes
    bits: int


def make_tag(key: np.ndarray, eps_cor: float, rng: np.random.Generator | None = None) -> VerificationTag:
    """Alice's side: draw a seed and hash her key."""
    t = tag_length(eps_cor)
    seed = new_seed(rng)
    return VerificationTag(seed, np.packbits(hash_tag(key, seed, t)).tobytes(), t)


def check_tag(key: np.ndarray, msg: VerificationTag) -> bool:
    """Bob's side: True when his key hashes to Alice's tag."""
    return np.packbits(hash_tag(key, msg.seed, msg.bits)).tobytes() == msg.tag

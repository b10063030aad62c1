"""One-round-trip error location in an odd Cascade range: the Hamming syndrome (private).

An order-space range ``[lo, hi)`` of a block has the syndrome
s = XOR of (i - lo) over the order positions i whose key bit is 1.  Alice sends
her s as m = ceil(log2(hi - lo)) bits (the parities of the m bit-slices of the
range); Bob XORs it with his own.  If the range holds exactly one error the
result is its offset: as many parities as a binary search of the range
discloses, in one round trip instead of m.  With three or more errors the result
is some other offset; an offset outside the range is detected, any other is a
wrong flip that later passes find like any residual error (``docs/qkd.md``).
"""

import numpy as np
from numba import njit

from ._cascade_kernels import AFFINE, HALVES

_ONE = np.uint64(1)


@njit(cache=True)
def syndrome_bits(k):
    """Bits of the syndrome of a range of ``k`` order positions (k >= 1): ceil(log2 k)."""
    m = 0
    while (1 << m) < k:
        m += 1
    return m


@njit(cache=True)
def _bit(words, x):
    return (words[x >> 6] >> np.uint64(x & 63)) & _ONE


@njit(cache=True)
def syndromes(kind, words, mask, n, a, c, blk, lo, hi):
    """Syndromes (int64) of the order-space ranges ``[lo, hi)`` of blocks ``blk`` over bit-packed ``words``.

    CONTIGUOUS/AFFINE: order position i holds key position i or (a i + c) mod n;
    HALVES: the range is in index space and holds the positions whose mask bit is ``blk``.
    """
    out = np.zeros(blk.size, np.int64)
    for j in range(blk.size):
        s = 0
        if kind == HALVES:
            for x in range(lo[j], hi[j]):
                if _bit(mask, x) == blk[j] and _bit(words, x):
                    s ^= x - lo[j]
        else:
            x = (a * lo[j] + c) % n if kind == AFFINE else lo[j]
            for r in range(hi[j] - lo[j]):
                if _bit(words, x):
                    s ^= r
                if kind == AFFINE:
                    x += a
                    if x >= n:
                        x -= n
                else:
                    x += 1
        out[j] = s
    return out


@njit(cache=True)
def leaked_bits(lo, hi):
    """Syndrome bits disclosed for the ranges ``[lo, hi)``."""
    total = 0
    for j in range(lo.size):
        total += syndrome_bits(hi[j] - lo[j])
    return total


@njit(cache=True)
def to_bits(lo, hi, values):
    """Alice's syndromes as a flat uint8 bit array, m bits per range, least significant first."""
    out = np.zeros(leaked_bits(lo, hi), np.uint8)
    p = 0
    for j in range(lo.size):
        for t in range(syndrome_bits(hi[j] - lo[j])):
            out[p] = (values[j] >> t) & 1
            p += 1
    return out


@njit(cache=True)
def from_bits(lo, hi, bits):
    """Inverse of :func:`to_bits`."""
    out = np.zeros(lo.size, np.int64)
    p = 0
    for j in range(lo.size):
        v = 0
        for t in range(syndrome_bits(hi[j] - lo[j])):
            v |= np.int64(bits[p]) << t
            p += 1
        out[j] = v
    return out


@njit(cache=True)
def locate(kind, mask, n, a, c, blk, lo, hi, alice, bob, found):
    """Error position per range from the two syndromes, or -1 when the offset is not in the range.

    Writes original key positions into ``found``.
    """
    for j in range(blk.size):
        r = alice[j] ^ bob[j]
        i = lo[j] + r
        if r >= hi[j] - lo[j] or (kind == HALVES and _bit(mask, i) != blk[j]):
            found[j] = -1
        else:
            found[j] = (a * i + c) % n if kind == AFFINE else i

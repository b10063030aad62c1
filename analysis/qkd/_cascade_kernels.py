"""Numba kernels for Cascade (private; imported only by :mod:`analysis.qkd.cascade`).

Three pass layouts share one "order space" convention: a pass lists the key
positions in some public order, blocks are ranges of that order, and binary
search splits a range ``[lo, hi)`` at ``mid = (lo + hi) // 2``.

* ``CONTIGUOUS`` (first pass): order ``i -> i``; block ``b`` is ``[b*k, (b+1)*k)``.
* ``AFFINE``: order ``i -> (a*i + c) mod n`` with ``gcd(a, n) = 1``, a
  permutation that costs no memory and no random draws per bit.
* ``HALVES`` (blocks of n/2): a public random bit mask splits the key into two
  halves; order space is the plain index space and block ``b`` holds the
  positions whose mask bit equals ``b``, so parities are word-wide XORs of
  bit-packed keys.

Binary-search nodes use heap numbering (root 1, children 2j and 2j+1) so that
the parities Alice has already disclosed are cached and never asked twice
("sub-block reuse").
"""

import numpy as np
from numba import njit

CONTIGUOUS = 0
AFFINE = 1
HALVES = 2

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True)
def _fold(w):
    w ^= w >> np.uint64(32)
    w ^= w >> np.uint64(16)
    w ^= w >> np.uint64(8)
    w ^= w >> np.uint64(4)
    w ^= w >> np.uint64(2)
    w ^= w >> np.uint64(1)
    return np.uint8(w & _ONE)


@njit(cache=True)
def _halves_parity(words, mask, b, lo, hi):
    """Parity of bits ``[lo, hi)`` of ``words`` whose mask bit equals ``b``."""
    if hi <= lo:
        return np.uint8(0)
    w0 = lo >> 6
    w1 = (hi - 1) >> 6
    acc = np.uint64(0)
    for w in range(w0, w1 + 1):
        m = mask[w] if b == 1 else ~mask[w]
        v = words[w] & m
        if w == w0:
            v &= _ALL << np.uint64(lo & 63)
        if w == w1:
            top = hi - (w1 << 6)
            if top < 64:
                v &= (_ONE << np.uint64(top)) - _ONE
        acc ^= v
    return _fold(acc)


@njit(cache=True)
def _fen_query(fen, i):
    """XOR of flip marks at order positions [0, i) (Fenwick tree; empty = no flips)."""
    acc = np.uint8(0)
    if fen.size == 0:
        return acc
    while i > 0:
        acc ^= fen[i]
        i -= i & -i
    return acc


@njit(cache=True)
def _fen_toggle(fen, i):
    i += 1
    while i < fen.size:
        fen[i] ^= 1
        i += i & -i


@njit(cache=True)
def parity_halves(words, mask, pref, fen, b, lo, hi):
    """Range parity in a HALVES pass (bit-packed key and mask)."""
    return _halves_parity(words, mask, b, lo, hi)


@njit(cache=True)
def parity_ordered(words, mask, pref, fen, b, lo, hi):
    """Range parity in a CONTIGUOUS/AFFINE pass: prefix parities ``pref`` taken
    when the pass was opened, plus a Fenwick tree ``fen`` of the bits flipped since."""
    return pref[hi] ^ pref[lo] ^ _fen_query(fen, hi) ^ _fen_query(fen, lo)


@njit(cache=True)
def prefix_parities(kind, key, words, n, a, c):
    """Prefix parities of the key in a pass's order (CONTIGUOUS/AFFINE), uint8 n+1."""
    pref = np.zeros(n + 1, np.uint8)
    if kind == CONTIGUOUS:
        acc = np.uint8(0)
        for i in range(n):
            acc ^= key[i]
            pref[i + 1] = acc
        return pref
    x = c % n
    acc64 = np.uint64(0)
    for i in range(n):
        acc64 ^= words[x >> 6] >> np.uint64(x & 63)
        pref[i + 1] = np.uint8(acc64 & _ONE)
        x += a
        if x >= n:
            x -= n
    return pref


@njit(cache=True)
def block_parities(kind, words, mask, pref, n, k):
    """Parities of all top-level blocks of a pass (uint8 array)."""
    if kind == HALVES:
        out = np.zeros(2, np.uint8)
        out[0] = _halves_parity(words, mask, 0, 0, n)
        out[1] = _halves_parity(words, mask, 1, 0, n)
        return out
    nb = (n + k - 1) // k
    out = np.zeros(nb, np.uint8)
    for b in range(nb):
        out[b] = pref[min((b + 1) * k, n)] ^ pref[b * k]
    return out


@njit(inline="always")
def _parity(halves, words, mask, pref, fen, b, lo, hi):
    if halves:
        return parity_halves(words, mask, pref, fen, b, lo, hi)
    return parity_ordered(words, mask, pref, fen, b, lo, hi)


@njit(inline="always")
def _answer(halves, words, mask, pref, fen, blk, lo, hi):
    """Alice's side: parities of the requested ranges."""
    out = np.empty(blk.size, np.uint8)
    for j in range(blk.size):
        out[j] = _parity(halves, words, mask, pref, fen, blk[j], lo[j], hi[j])
    return out


@njit(cache=True)
def block_of(kind, x, n, k, a_inv, c, mask):
    """Top-level block holding original position ``x`` in one pass."""
    if kind == HALVES:
        return np.int64((mask[x >> 6] >> np.uint64(x & 63)) & _ONE)
    if kind == CONTIGUOUS:
        return x // k
    i = (a_inv * ((x - c) % n)) % n
    return i // k


@njit(cache=True)
def toggle_blocks(kind, positions, n, k, a_inv, c, mask, odd, touched, fen):
    """Flip the odd/even state of every block holding a corrected position.

    Also marks the flip in the pass's Fenwick tree, writes the block of each
    position into ``touched`` and returns the change in the number of odd blocks.
    """
    delta = 0
    for j in range(positions.size):
        x = positions[j]
        if kind == CONTIGUOUS:
            _fen_toggle(fen, x)
        elif kind == AFFINE:
            _fen_toggle(fen, (a_inv * ((x - c) % n)) % n)
        b = block_of(kind, x, n, k, a_inv, c, mask)
        touched[j] = b
        odd[b] ^= 1
        delta += 1 if odd[b] else -1
    return delta


@njit(cache=True)
def odd_candidates(touched, odd, mark):
    """Distinct blocks in ``touched`` that are odd now (``mark``: zeroed scratch)."""
    out = np.empty(touched.size, np.int64)
    m = 0
    for b in touched:
        if odd[b] and not mark[b]:
            mark[b] = 1
            out[m] = b
            m += 1
    for j in range(m):
        mark[out[j]] = 0
    return out[:m]


@njit(cache=True)
def flip_bits(positions, key, words):
    for x in positions:
        key[x] ^= 1
        words[x >> 6] ^= _ONE << np.uint64(x & 63)


@njit(inline="always")
def _advance(
    halves,
    kind,
    words,
    mask,
    pref,
    fen,
    n,
    a,
    c,
    cache,
    blk,
    lo,
    hi,
    node,
    pending,
    found,
    answers,
    req_blk,
    req_lo,
    req_hi,
):
    """Bob's side of one round of parallel binary searches.

    Consumes Alice's ``answers`` to the previous round (in request order),
    descends every search as far as cached parities allow, and writes the
    ranges whose parity must be asked into ``req_*``.  Returns the number of
    requests; 0 means every search has found its error position
    (``found``, original key index).
    """
    r_in = 0
    r_out = 0
    for j in range(blk.size):
        if found[j] >= 0:
            continue
        b = blk[j]
        if pending[j]:
            cache[b, 2 * node[j]] = answers[r_in]
            r_in += 1
            pending[j] = False
        while hi[j] - lo[j] > 1:
            mid = (lo[j] + hi[j]) // 2
            left = 2 * node[j]
            la = cache[b, left]
            if la < 0:
                req_blk[r_out] = b
                req_lo[r_out] = lo[j]
                req_hi[r_out] = mid
                r_out += 1
                pending[j] = True
                break
            cache[b, left + 1] = cache[b, node[j]] ^ la
            if _parity(halves, words, mask, pref, fen, b, lo[j], mid) != la:
                hi[j] = mid
                node[j] = left
            else:
                lo[j] = mid
                node[j] = left + 1
        if not pending[j]:
            i = lo[j]
            if kind == AFFINE:
                found[j] = (a * i + c) % n
            else:
                found[j] = i
    return r_out


# One compiled kernel per pass layout: the layout is a constant inside each, so
# the parity branch folds away (a runtime branch there cost 40 ns per parity).


@njit(cache=True)
def answer_ordered(words, mask, pref, fen, blk, lo, hi):
    return _answer(False, words, mask, pref, fen, blk, lo, hi)


@njit(cache=True)
def answer_halves(words, mask, pref, fen, blk, lo, hi):
    return _answer(True, words, mask, pref, fen, blk, lo, hi)


@njit(cache=True)
def advance_ordered(
    kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, answers, req_blk, req_lo, req_hi
):
    return _advance(
        False,
        kind,
        words,
        mask,
        pref,
        fen,
        n,
        a,
        c,
        cache,
        blk,
        lo,
        hi,
        node,
        pending,
        found,
        answers,
        req_blk,
        req_lo,
        req_hi,
    )


@njit(cache=True)
def advance_halves(
    kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, answers, req_blk, req_lo, req_hi
):
    return _advance(
        True,
        kind,
        words,
        mask,
        pref,
        fen,
        n,
        a,
        c,
        cache,
        blk,
        lo,
        hi,
        node,
        pending,
        found,
        answers,
        req_blk,
        req_lo,
        req_hi,
    )


def kernels(kind):
    """(answer, advance) kernels for a pass kind."""
    if kind == HALVES:
        return answer_halves, advance_halves
    return answer_ordered, advance_ordered

"""Cascade error reconciliation, Alice and Bob as separate message-passing objects.

Why Cascade and not LDPC
------------------------
The issue asks for f = leaked / (n h(Q)) <= 1.06 at Q = 1..5 % on 10^5..10^6-bit
blocks, at >= 20 Mbit/s on one core of a 2-core machine, from Python.

* Cascade with optimized block sizes (Martinez-Mateo, Pacher, Peev, Ciurana and
  Martin, "Demystifying the information reconciliation protocol Cascade",
  QIC 15, 453 (2015)) reaches f of about 1.03-1.06 over this QBER range, and its
  work is a few XORs per bit plus a short binary search per error: in numba
  it runs at tens of Mbit/s (figures in ``docs/qkd.md``).
* Rate-adaptive LDPC needs belief propagation: about 3.5 edges per bit x 2
  half-iterations x 20-60 iterations, i.e. several hundred floating-point
  updates per bit, an order of magnitude below 20 Mbit/s in numba on one core,
  and at Q = 1 % practical rate-adaptive codes sit near f = 1.1 unless made
  interactive (blind).  No maintained Python LDPC library with
  rate-adaptive QKD codes exists on PyPI (``pyldpc`` is a teaching code with
  dense matrices).
So Cascade is the measured and chosen method; the price is interactivity,
which is batched here: one message opens all passes (:class:`PassBatch`), every
later round trip carries one binary-search step of every block searched at
once, and in the tail of the cascade (few odd blocks, nearly all holding one
error) a search ends with the Hamming syndrome of its odd range in one round
trip (:class:`SyndromeRequest`) instead of one per tree level.  What remains
(about 600-950 round trips per 1e6-bit block, was 700-1250; docs/qkd.md) is
set by the serial ping-pong between passes 1 and 2 that keeps f low.

Protocol as implemented
-----------------------
Pass 1 uses contiguous blocks of k1 bits; pass 2 an affine permutation
``i -> (a i + c) mod n`` (a drawn at random with gcd(a, n) = 1 and screened so
that no two bits of one pass-1 block meet again in one pass-2 block); later
passes split the key into two random halves by a public random bit mask
(block size about n/2, as in the "Demystifying" options 7 and 8).  After each
pass the cascade step repeatedly takes the pass with the smallest blocks that
has odd blocks and searches all of them in parallel (their blocks are disjoint,
so this equals one serial Cascade order).  Alice's disclosed parities are cached
and never asked twice (sub-block reuse).  Every parity Alice sends is counted
in ``CascadeAlice.leaked_bits``.

Messages
--------
``PassSpec`` (Bob -> Alice, opens a pass; Alice answers all top-level block
parities), ``ParityRequest`` (Bob -> Alice, ranges to disclose),
``SyndromeRequest`` (Bob -> Alice, ranges whose syndrome to disclose),
``ParityBatch`` (several requests in one round trip) and ``ParityReply``
(Alice -> Bob).  All are plain data (ints and numpy arrays) and
can be serialized to run across a network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _cascade_kernels as _k
from . import _cascade_search as _search
from ._cascade_alice import CascadeAlice
from ._cascade_messages import ParityBatch, ParityReply, ParityRequest, PassBatch, PassSpec, SyndromeRequest
from ._cascade_passes import _EMPTY_U8, _pack, _PassGeometry

__all__ = [
    "CascadeAlice",
    "CascadeBob",
    "CascadeStats",
    "ParityBatch",
    "ParityReply",
    "ParityRequest",
    "PassBatch",
    "PassSpec",
    "SyndromeRequest",
    "block_sizes",
    "reconcile",
]


def block_sizes(qber: float, n: int, passes: int = 14) -> list[int]:
    """Block size per pass for an expected QBER (bits).

    k1 = 2^ceil(log2(0.8/Q)), k2 = 4 k1 (8 k1 from Q = 4 %), k3 = 128 k1, then
    n/2.  A measured
    refinement of "Demystifying" option 7 (k1 = 2^ceil(log2(1/Q)), k2 = 4 k1,
    then n/2): the intermediate third pass cuts both the leakage of the
    residual errors (a search in an n/2 block costs log2(n) parities) and the
    number of round trips.  Chosen by a sweep over k1, k2/k1 and k3/k1 at
    Q = 1, 2, 3, 5 % on 3e5-bit blocks (docs/qkd.md): below 4 % k2 = 4 k1 costs
    at most 0.6 % more leakage than 8 k1 and a third of the round trips; at 5 %
    only 8 k1 stays below f = 1.06.
    """
    q = min(max(qber, 1e-4), 0.25)
    cap = max(n // 4, 4)
    k1 = int(min(max(2 ** math.ceil(math.log2(0.8 / q) - 1e-9), 4), cap))
    sizes = [k1, min((4 if q < 0.04 else 8) * k1, cap), min(128 * k1, cap)]
    return (sizes + [max(n // 2, 1)] * passes)[:passes]


@dataclass
class CascadeStats:
    """Public outcome of one reconciliation (no key bits)."""

    n: int
    leaked_bits: int
    round_trips: int
    corrected_bits: int
    block_sizes: list[int] = field(default_factory=list)
    flips: int = 0  # bits Bob flipped, counting a bit flipped back twice (>= corrected_bits)


class CascadeBob:
    """Bob's side: drives Cascade and corrects his key in place.

    Parameters
    ----------
    key : ndarray of uint8 (0/1)
        Bob's sifted key (copied). Never shown in repr.
    qber : float
        QBER estimate used to choose block sizes.
    rng : numpy Generator
        Draws the public pass parameters (permutations, masks).
    passes : int
        Number of Cascade passes (default 14).
    sizes : list of int, optional
        Block size per pass (overrides :func:`block_sizes`).
    concurrent : bool
        False (default): each cascade step searches the odd blocks of the pass
        with the smallest blocks, as serial Cascade does.  True: the odd blocks
        of all passes at once; measured: about 1 % more leakage and no fewer
        round trips, so it is off (docs/qkd.md).
    max_batch : int, optional
        At most this many blocks of a pass after the first are searched in one
        cascade step (a random choice among the odd ones); the rest wait until
        the errors found have cascaded through the smaller blocks, which often
        makes them even for free, as in serial Cascade.  Default
        max(128, n // 4000); 0 searches all at once (fewer round trips, up to
        0.6 % more leakage).
    local : bool
        True (default): when ``send`` is the ``handle`` of a :class:`CascadeAlice`
        in this process, each search step runs all its round trips in one
        kernel call (same parities, same counts of round trips and leaked
        bits, no per-message Python overhead).  False: every round trip is a
        message through ``send``.
    syndrome_blocks, syndrome_depth, syndrome_range : int
        A cascade step with at most ``syndrome_blocks`` odd blocks (the tail,
        where errors are sparse and nearly every odd block holds one) bisects
        each block at least ``syndrome_depth`` levels and down to a range of at
        most ``syndrome_range`` bits, then asks the Hamming syndrome of that odd
        range: one round trip for the rest of the tree, as many parities as
        bisection when the range holds one error (with three, a wrong flip that
        later passes undo; the small range keeps them rare).  A block searched
        this way again starts its syndrome two levels deeper.
        Defaults max(4, n / 62500) (16 at 1e6 bits), 1, 64: chosen by a sweep
        at 1e5 and 1e6 bits (docs/qkd.md).  ``syndrome_blocks=0``: bisection
        only (the previous protocol).
    """

    def __init__(
        self,
        key: np.ndarray,
        qber: float,
        rng: np.random.Generator,
        passes: int = 14,
        sizes: list[int] | None = None,
        concurrent: bool = False,
        max_batch: int | None = None,
        local: bool = True,
        syndrome_blocks: int | None = None,
        syndrome_depth: int = 1,
        syndrome_range: int = 64,
    ):
        self._key = np.array(key, dtype=np.uint8, copy=True)
        self._words = _pack(self._key)
        self._rng = rng
        n = self._key.size
        self.sizes = list(sizes) if sizes is not None else block_sizes(qber, n, passes)
        self.round_trips = 0
        self.corrected = 0
        self.flips = 0
        self.steps: list[tuple[int, int, int]] = []
        self.syndrome_blocks = max(4, n // 62_500) if syndrome_blocks is None else syndrome_blocks
        self.syndrome_depth = syndrome_depth
        self.syndrome_range_bits = max(syndrome_range - 1, 0).bit_length()
        self.leaked_bits = 0
        self.concurrent = concurrent
        self.local = local
        self.max_batch = max(128, n // 4000) if max_batch is None else max_batch

    def __repr__(self) -> str:
        return f"CascadeBob(n={self._key.size}, sizes={self.sizes[:3]}...)"

    @property
    def key(self) -> np.ndarray:
        """Bob's (corrected) key."""
        return self._key

    def _spec(self, index: int, k: int) -> PassSpec:
        n = self._key.size
        if index == 0:
            return PassSpec(index, _k.CONTIGUOUS, k)
        if k >= n // 2:
            return PassSpec(index, _k.HALVES, n // 2, seed=int(self._rng.integers(2**63)))
        return PassSpec(index, _k.AFFINE, k, *self._affine(n, k, self.sizes[0]))

    def _affine(self, n: int, k: int, k_prev: int) -> tuple[int, int]:
        """Multiplier a (gcd(a, n) = 1) keeping bits of one earlier block apart.

        Screens d = 1 .. min(k, n / (2 k_prev)) - 1 (beyond that no a can keep
        every pair apart) for |a d mod n| >= k_prev; keeps the best of 16 draws.
        """
        best, best_score = 1, -1
        d = np.arange(1, max(2, min(k, n // (2 * k_prev))), dtype=np.int64)
        for _ in range(16):
            a = int(self._rng.integers(n // 4, 3 * n // 4 + 1)) if n > 8 else 1
            if math.gcd(a, n) != 1:
                continue
            r = (a * d) % n
            score = int(np.minimum(r, n - r).min())
            if score > best_score:
                best, best_score = a, score
            if score >= k_prev:
                break
        return best, int(self._rng.integers(n))

    def reconcile(self, send: Callable[[PassSpec | ParityRequest], ParityReply]) -> CascadeStats:
        """Run all passes, sending messages through ``send`` (Alice's ``handle``)."""
        n = self._key.size
        geos: list[_PassGeometry] = []
        odd: list[np.ndarray] = []
        n_odd: list[int] = []
        caches: list[np.ndarray | None] = []
        roots: list[np.ndarray] = []
        touched: list[list[np.ndarray]] = []
        specs = [self._spec(p, k) for p, k in enumerate(self.sizes)]
        all_geos = [_PassGeometry(spec, n) for spec in specs]
        opened = _search._ask(self, send, PassBatch(tuple(specs))).astype(np.uint8)
        words0 = self._words.copy()
        ends = np.cumsum([g.n_blocks for g in all_geos])
        for p, g in enumerate(all_geos):
            alice = opened[ends[p] - g.n_blocks : ends[p]]
            if g.kind == _k.HALVES:
                g.pref, g.fen = _EMPTY_U8, _EMPTY_U8
            else:
                g.pref = _k.prefix_parities(g.kind, self._key, self._words, n, g.a, g.c)
                g.fen = np.zeros(n + 1, np.uint8)
            g.mark = np.zeros(g.n_blocks, np.uint8)
            g.used = np.zeros(g.n_blocks, np.int64)
            bob = _k.block_parities(g.kind, self._words, g.mask, g.pref, n, g.k)
            o = (alice ^ bob).astype(np.uint8)
            geos.append(g)
            odd.append(o)
            n_odd.append(int(o.sum()))
            touched.append([np.flatnonzero(o)])
            caches.append(None)
            roots.append(alice)
            while True:
                active = [i for i in range(p + 1) if n_odd[i] > 0]
                if not active:
                    break
                if not self.concurrent:
                    active = active[:1]
                jobs = []
                for q in active:
                    gq = geos[q]
                    if caches[q] is None:
                        tree = 2 * (1 << max(gq.root_len - 1, 0).bit_length())
                        cache = np.full((gq.n_blocks, tree), -1, np.int8)
                        cache[:, 1] = roots[q]
                        caches[q] = cache
                    cand = touched[q][0] if len(touched[q]) == 1 else np.concatenate(touched[q])
                    touched[q] = []
                    blocks = _k.odd_candidates(cand, odd[q], gq.mark)
                    if q > 0 and 0 < self.max_batch < blocks.size:
                        sel = self._rng.permutation(blocks.size)
                        touched[q].append(blocks[sel[self.max_batch :]])
                        blocks = np.sort(blocks[sel[: self.max_batch]])
                    if blocks.size <= self.syndrome_blocks:  # a few blocks: the tail, errors sparse
                        top = max(self.syndrome_depth, (gq.root_len - 1).bit_length() - self.syndrome_range_bits)
                        depth = top + 2 * gq.used[blocks]  # each retry descends 2 levels more
                        gq.used[blocks] += 1
                        jobs.append((q, blocks, depth))
                    else:
                        jobs.append((q, blocks, None))
                t0 = self.round_trips
                found, failed = _search.run_step(self, send, jobs, geos, caches)
                self.steps.append((active[0], sum(j[1].size for j in jobs), self.round_trips - t0))
                for q, bad in failed:
                    touched[q].append(bad)
                _k.flip_bits(found, self._key, self._words)
                self.flips += found.size
                for i, gi in enumerate(geos):
                    t = np.empty(found.size, np.int64)
                    n_odd[i] += _k.toggle_blocks(gi.kind, found, n, gi.k, gi.a_inv, gi.c, gi.mask, odd[i], t, gi.fen)
                    touched[i].append(t)
        self.corrected = int(np.bitwise_count(self._words ^ words0).sum())
        return CascadeStats(n, self.leaked_bits, self.round_trips, self.corrected, self.sizes, self.flips)


def reconcile(
    alice_key: np.ndarray, bob_key: np.ndarray, qber: float, rng: np.random.Generator, **kw
) -> tuple[np.ndarray, CascadeStats]:
    """Reconcile two keys in-process (Alice and Bob talking by direct calls).

    Returns Bob's corrected key and the public statistics; ``leaked_bits``
    is Alice's own count of disclosed parities.
    """
    alice = CascadeAlice(alice_key)
    bob = CascadeBob(bob_key, qber, rng, **kw)
    stats = bob.reconcile(alice.handle)
    stats.leaked_bits = alice.leaked_bits
    return bob.key, stats

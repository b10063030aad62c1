"""One Cascade search step on Bob's side: bisections and syndromes, batched per round trip (private).

A step takes odd blocks of one or more passes.  Every round trip carries one
tree level of every bisection still running, and the syndrome
(:mod:`analysis.qkd._cascade_syndrome`) of every search that reached its
switching depth: such a search ends in that round trip instead of descending
level by level.  Parities already disclosed are reused (heap cache per block).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from . import _cascade_kernels as _k
from . import _cascade_local as _local
from . import _cascade_syndrome as _syn
from ._cascade_alice import CascadeAlice
from ._cascade_messages import ParityBatch, ParityRequest, SyndromeRequest
from ._cascade_passes import _PassGeometry

_NO_BITS = np.zeros(0, np.uint8)


class _Bob(Protocol):
    _key: np.ndarray
    _words: np.ndarray
    local: bool
    round_trips: int
    leaked_bits: int


def _ask(bob: _Bob, send, msg) -> np.ndarray:
    reply = send(msg)
    bob.round_trips += 1
    bob.leaked_bits += int(reply.parities.size)
    return reply.parities


def _local_alice(bob: _Bob, send) -> CascadeAlice | None:
    alice = getattr(send, "__self__", None)
    if bob.local and isinstance(alice, CascadeAlice) and send == alice.handle:
        return alice
    return None


class _Search:
    """Parallel searches in ``blocks`` of one pass; a search at tree depth >= ``depth`` asks its syndrome.

    ``depth``: one int64 per block, or None for bisection only.  Found positions are original key indices;
    a syndrome that points outside its range marks the block failed.
    """

    def __init__(self, bob: _Bob, q: int, g: _PassGeometry, cache: np.ndarray, blocks: np.ndarray, depth=None):
        n = bob._key.size
        self.q, self.g, self.n, self.bob_words, self.depth = q, g, n, bob._words, depth
        # rows: block, lo, hi, tree node, pending, found; then the request buffers
        st = np.empty((9, blocks.size), np.int64)
        st[0] = blocks
        if g.kind == _k.HALVES:
            st[1], st[2] = 0, n
        else:
            np.multiply(blocks, g.k, out=st[1])
            np.minimum(st[1] + g.k, n, out=st[2])
        st[3], st[4], st[5] = 1, 0, -1
        self.st = st
        self.fixed = (g.kind, bob._words, g.mask, g.pref, g.fen, n, g.a, g.c, cache)
        self.search = (st[0], st[1], st[2], st[3], st[4], st[5])
        self.buffers = (st[6], st[7], st[8])
        self.answers = _NO_BITS
        self.syn_idx = np.zeros(0, np.int64)

    def requests(self) -> tuple[ParityRequest | None, SyndromeRequest | None]:
        """Advance on the last answers; the next round trip's requests."""
        rb, rl, rh = self.buffers
        r = self.g.advance(*self.fixed, *self.search, self.answers, rb, rl, rh)
        if r == 0 or self.depth is None:
            return (ParityRequest(self.q, rb[:r].copy(), rl[:r].copy(), rh[:r].copy()) if r else None), None
        blk, lo, hi, node, pending, found = self.search
        idx = np.flatnonzero(pending)
        deep = node[idx] >= np.left_shift(1, np.minimum(self.depth[idx], 62))
        self.syn_idx = idx[deep]
        pending[self.syn_idx] = 0
        found[self.syn_idx] = self.n  # in flight: the bisection kernel skips it
        keep = ~deep
        par = ParityRequest(self.q, rb[:r][keep], rl[:r][keep], rh[:r][keep]) if keep.any() else None
        s = self.syn_idx
        syn = SyndromeRequest(self.q, blk[s].copy(), lo[s].copy(), hi[s].copy()) if s.size else None
        return par, syn

    def receive(self, parities: np.ndarray, syndromes: np.ndarray | None) -> None:
        self.answers = parities
        if syndromes is None or not self.syn_idx.size:
            return
        g, s = self.g, self.syn_idx
        blk, lo, hi, _, _, found = self.search
        mine = _syn.syndromes(g.kind, self.bob_words, g.mask, self.n, g.a, g.c, blk[s], lo[s], hi[s])
        out = np.empty(s.size, np.int64)
        _syn.locate(g.kind, g.mask, self.n, g.a, g.c, blk[s], lo[s], hi[s], syndromes, mine, out)
        found[s] = np.where(out >= 0, out, self.n)
        self.syn_idx = np.zeros(0, np.int64)

    def results(self) -> tuple[np.ndarray, np.ndarray]:
        """(positions found, blocks whose syndrome failed)."""
        found = self.search[5]
        return found[found < self.n], self.search[0][found >= self.n]


def _rounds(searches: list[_Search], respond) -> int:
    """Run ``searches`` to the end, one message per round trip through ``respond``; returns the round trips.

    ``respond(requests)`` returns the concatenated answers (syndromes as int64 values).
    """
    trips = 0
    while True:
        reqs = [s.requests() for s in searches]
        live: list[Any] = [r for pair in reqs for r in pair if r is not None]
        if not live:
            return trips
        answers = respond(live)
        trips += 1
        j = 0
        for s, (par, syn) in zip(searches, reqs, strict=True):
            a = answers[j] if par is not None else _NO_BITS
            j += par is not None
            b = answers[j] if syn is not None else None
            j += syn is not None
            s.receive(a, b)


def run_step(bob: _Bob, send, jobs, geos: list[_PassGeometry], caches):
    """Search the odd ``jobs`` [(pass, blocks, syndrome depths or None)] of one cascade step.

    Returns the error positions found (unique) and the [(pass, blocks)] whose
    syndrome was detected wrong (they stay odd and are searched again).
    """
    searches = [_Search(bob, q, geos[q], caches[q], blocks, depth) for q, blocks, depth in jobs if blocks.size]
    alice = _local_alice(bob, send)
    fused = [s for s in searches if s.depth is None] if alice is not None else []
    if len(fused) > 1:
        fused = []
    rest = [s for s in searches if s not in fused]
    trips = 0
    if alice is not None:
        for s in fused:
            rb, rl, rh = s.buffers
            trips = _search_local(bob, alice, s.q, s.fixed + s.search, rb, rl, rh)
        if rest:
            leaked = [0]

            def respond_local(live):
                out = [_answer_local(alice, m) for m in live]
                leaked[0] += sum(_leak(m) for m in live)
                return out

            # the searches left ride in the same messages as the fused bisection: round trips overlap
            extra = _rounds(rest, respond_local)
            bob.leaked_bits += leaked[0]
            alice.leaked_bits += leaked[0]
            alice.messages += max(extra - trips, 0)
            bob.round_trips += max(extra - trips, 0)
    else:

        def respond_wire(live):
            reply = _ask(bob, send, live[0] if len(live) == 1 else ParityBatch(tuple(live)))
            out, start = [], 0
            for m in live:
                size = _leak(m)
                bits = reply[start : start + size]
                start += size
                out.append(_syn.from_bits(m.lo, m.hi, bits) if isinstance(m, SyndromeRequest) else bits)
            return out

        _rounds(rest, respond_wire)
    found, failed = [], []
    for s in searches:
        pos, bad = s.results()
        found.append(pos)
        if bad.size:
            failed.append((s.q, bad))
    return _unique(found), failed


def _leak(m) -> int:
    return int(_syn.leaked_bits(m.lo, m.hi)) if isinstance(m, SyndromeRequest) else int(m.lo.size)


def _answer_local(alice: CascadeAlice, m):
    if isinstance(m, SyndromeRequest):
        return alice._syndrome_values(m.pass_index, m.block, m.lo, m.hi)
    return alice._answer(m)


def _unique(found: list[np.ndarray]) -> np.ndarray:
    if not found:
        return np.zeros(0, np.int64)
    return found[0] if len(found) == 1 else np.unique(np.concatenate(found))


def _search_local(bob: _Bob, alice: CascadeAlice, q: int, args: tuple, rb, rl, rh) -> int:
    """All round trips of one bisection in one kernel call (Alice in this process); returns them."""
    kernel: Any = _local.search_local_halves if args[0] == _k.HALVES else _local.search_local_ordered
    trips, leaked = kernel(*args, rb, rl, rh, alice._words, alice._passes[q].pref)
    bob.round_trips += trips
    bob.leaked_bits += leaked
    alice.leaked_bits += leaked
    alice.messages += trips
    return trips

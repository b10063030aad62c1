"""Numba kernels for Cascade with Alice in the same process (private; used by :mod:`analysis.qkd.cascade`).

When Alice's object lives in the same process (the bench computer holds both
records), one kernel call runs every round trip of a cascade step, Bob's
advance and Alice's answer in turn, counting round trips and disclosed
parities exactly as the message path does.
"""

import numpy as np
from numba import njit

from ._cascade_kernels import _advance, _answer


@njit(inline="always")
def _search_local(
    halves, kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, rb, rl, rh, a_words, a_pref
):
    trips = 0
    leaked = 0
    no_flips = np.zeros(0, np.uint8)
    ans = np.zeros(0, np.uint8)
    while True:
        r = _advance(
            halves, kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, ans, rb, rl, rh
        )
        if r == 0:
            return trips, leaked
        ans = _answer(halves, a_words, mask, a_pref, no_flips, rb[:r], rl[:r], rh[:r])
        trips += 1
        leaked += r


@njit(cache=True)
def search_local_ordered(
    kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, rb, rl, rh, a_words, a_pref
):
    return _search_local(
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
        rb,
        rl,
        rh,
        a_words,
        a_pref,
    )


@njit(cache=True)
def search_local_halves(
    kind, words, mask, pref, fen, n, a, c, cache, blk, lo, hi, node, pending, found, rb, rl, rh, a_words, a_pref
):
    return _search_local(
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
        rb,
        rl,
        rh,
        a_words,
        a_pref,
    )

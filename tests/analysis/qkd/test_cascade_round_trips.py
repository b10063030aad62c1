"""Cascade's round trips: the syndrome tail, the per-step accounting, and keys equal for many seeds."""

import math

import numpy as np
import pytest

from qnetlab.analysis.qkd import _cascade_kernels as _k
from qnetlab.analysis.qkd import _cascade_syndrome as _syn
from qnetlab.analysis.qkd._cascade_passes import _pack
from qnetlab.analysis.qkd.cascade import CascadeAlice, CascadeBob, SyndromeRequest, block_sizes, reconcile
from qnetlab.analysis.qkd.estimation import binary_entropy


def _pair(n, q, rng):
    a = rng.integers(0, 2, n, dtype=np.uint8)
    e = (rng.random(n) < q).astype(np.uint8)
    return a, a ^ e, int(e.sum())


def _block_parity_bits(n, sizes):
    return sum(-(-n // k) if k < n // 2 else 2 for k in sizes)


@pytest.mark.parametrize("syndrome_blocks", [16, 0])
def test_one_error_costs_the_parities_of_bisection(syndrome_blocks):
    """One error: bisection needs log2 k1 round trips; one level then the syndrome needs 2, same parities."""
    rng = np.random.default_rng(3)
    n, pos = 40_000, 12_345
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a.copy()
    b[pos] ^= 1
    kb, st = reconcile(a, b, 0.02, rng, syndrome_blocks=syndrome_blocks)
    assert np.array_equal(kb, a) and st.corrected_bits == 1 and st.flips == 1
    k1 = block_sizes(0.02, n)[0]
    assert st.leaked_bits == _block_parity_bits(n, st.block_sizes) + int(math.log2(k1))
    assert st.round_trips == 1 + (2 if syndrome_blocks else int(math.log2(k1)))


def test_syndrome_locates_one_error_and_points_elsewhere_for_three():
    """Closed form: the offset is the XOR of the error offsets inside the range."""
    rng = np.random.default_rng(4)
    n, k = 4096, 512
    a = rng.integers(0, 2, n, dtype=np.uint8)
    for kind, mult, c in ((_k.CONTIGUOUS, 1, 0), (_k.AFFINE, 1237, 99)):
        order = (mult * np.arange(n) + c) % n  # order position i holds key position order[i]
        for offsets in ((77,), (5, 300, 41)):
            b = a.copy()
            b[order[1024 + np.array(offsets)]] ^= 1
            blk, lo, hi = np.array([2]), np.array([1024]), np.array([1024 + k])
            sa = _syn.syndromes(kind, _pack(a), np.zeros(1, np.uint64), n, mult, c, blk, lo, hi)
            sb = _syn.syndromes(kind, _pack(b), np.zeros(1, np.uint64), n, mult, c, blk, lo, hi)
            out = np.empty(1, np.int64)
            _syn.locate(kind, np.zeros(1, np.uint64), n, mult, c, blk, lo, hi, sa, sb, out)
            r = int(np.bitwise_xor.reduce(np.array(offsets)))
            assert out[0] == order[1024 + r]
    assert int(_syn.leaked_bits(np.array([0, 0]), np.array([512, 300]))) == 9 + 9


def test_syndrome_in_a_halves_pass_detects_an_offset_outside_its_half():
    rng = np.random.default_rng(5)
    n = 5000
    mask_bits = rng.integers(0, 2, n, dtype=np.uint8)
    mask = _pack(mask_bits)
    a = rng.integers(0, 2, n, dtype=np.uint8)
    half1 = np.flatnonzero(mask_bits == 1)
    blk, lo, hi = np.array([1]), np.array([0]), np.array([n])
    for errors, expect_found in (([half1[10]], True), (list(half1[[3, 7, 20]]), None)):
        b = a.copy()
        b[errors] ^= 1
        sa = _syn.syndromes(_k.HALVES, _pack(a), mask, n, 1, 0, blk, lo, hi)
        sb = _syn.syndromes(_k.HALVES, _pack(b), mask, n, 1, 0, blk, lo, hi)
        out = np.empty(1, np.int64)
        _syn.locate(_k.HALVES, mask, n, 1, 0, blk, lo, hi, sa, sb, out)
        x = int(np.bitwise_xor.reduce(np.array(errors)))
        if expect_found:
            assert out[0] == errors[0]
        else:  # three errors: the XOR of their positions if it lies in half 1, else detected (-1)
            assert out[0] == (x if x < n and mask_bits[x] == 1 else -1)


@pytest.mark.parametrize("q", [0.01, 0.02, 0.03, 0.05, 0.08])
def test_keys_equal_for_many_seeds_and_round_trips_add_up(q):
    """20 seeds per QBER on 2e4-bit keys; every step costs at most one round trip per tree level of its pass."""
    for seed in range(20):
        rng = np.random.default_rng(1000 * seed + int(q * 100))
        a, b, errors = _pair(20_000, q, rng)
        alice = CascadeAlice(a)
        bob = CascadeBob(b, q, rng)
        st = bob.reconcile(alice.handle)
        assert np.array_equal(bob.key, a), f"seed {seed}"
        assert st.corrected_bits == errors and st.flips >= errors
        assert st.leaked_bits == alice.leaked_bits and st.round_trips == alice.messages
        assert st.round_trips == 1 + sum(t for _, _, t in bob.steps)
        for p, blocks, trips in bob.steps:
            k = st.block_sizes[p]
            height = math.ceil(math.log2(a.size if k >= a.size // 2 else k))
            assert 0 < blocks and trips <= height + 1, (p, blocks, trips)


def test_syndrome_tail_cuts_round_trips_at_the_same_efficiency():
    """1e5-bit blocks, 3 per QBER: the syndrome tail against bisection only (same keys, same seeds)."""
    for q in (0.01, 0.05):
        rng = np.random.default_rng(int(q * 1000))
        trips, effs = {16: [], 0: []}, {16: [], 0: []}
        for _ in range(3):
            a, b, errors = _pair(100_000, q, rng)
            seed = int(rng.integers(2**32))
            for sb in (16, 0):
                kw = {} if sb else {"syndrome_blocks": 0}  # the default (4 blocks at 1e5 bits) against bisection
                kb, st = reconcile(a, b, q, np.random.default_rng(seed), **kw)
                assert np.array_equal(kb, a)
                trips[sb].append(st.round_trips)
                effs[sb].append(st.leaked_bits / (a.size * binary_entropy(errors / a.size)))
        assert np.mean(trips[16]) < 0.85 * np.mean(trips[0]), (q, trips)
        assert np.mean(effs[16]) < np.mean(effs[0]) + 0.002, (q, effs)


def test_alice_refuses_bad_syndrome_requests():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 2, 1000, dtype=np.uint8)
    alice = CascadeAlice(a)
    one = np.array([0])
    with pytest.raises(ValueError, match="pass 0, which Bob never opened"):
        alice.handle(SyndromeRequest(0, one, one, one + 8))
    bob = CascadeBob(a.copy(), 0.02, rng)
    bob.reconcile(alice.handle)
    with pytest.raises(ValueError, match="empty or outside range"):
        alice.handle(SyndromeRequest(0, one, one, one + 5000))
    with pytest.raises(ValueError, match="unequal"):
        alice.handle(SyndromeRequest(0, one, np.array([0, 1]), one + 8))

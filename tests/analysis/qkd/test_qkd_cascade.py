import pickle

import numpy as np
import pytest

from qnetlab.analysis.qkd.cascade import CascadeAlice, CascadeBob, block_sizes, reconcile
from qnetlab.analysis.qkd.estimation import binary_entropy


def _pair(n, q, rng):
    a = rng.integers(0, 2, n, dtype=np.uint8)
    e = (rng.random(n) < q).astype(np.uint8)
    return a, a ^ e, int(e.sum())


@pytest.mark.parametrize("q", [0.01, 0.02, 0.03, 0.05])
def test_keys_identical_and_leakage_counted(q):
    rng = np.random.default_rng(int(q * 1000))
    effs = []
    for _ in range(4):
        a, b, errors = _pair(30_000, q, rng)
        alice = CascadeAlice(a)
        bob = CascadeBob(b, q, rng)
        stats = bob.reconcile(alice.handle)
        assert np.array_equal(bob.key, a)
        assert stats.corrected_bits == errors  # every error found, nothing else flipped
        assert stats.leaked_bits == alice.leaked_bits  # both sides count the same parities
        effs.append(alice.leaked_bits / (a.size * binary_entropy(errors / a.size)))
    # 3e4-bit blocks: efficiency is a little worse than at 1e5..1e6 (benchmark)
    assert 1.0 < np.mean(effs) < 1.12


@pytest.mark.parametrize("q", [0.02, 0.05])
def test_efficiency_on_1e5_blocks(q):
    rng = np.random.default_rng(7)
    effs = []
    for _ in range(4):
        a, b, errors = _pair(100_000, q, rng)
        kb, st = reconcile(a, b, q, rng)
        assert np.array_equal(kb, a)
        effs.append(st.leaked_bits / (a.size * binary_entropy(errors / a.size)))
    assert np.mean(effs) <= 1.07


def test_messages_survive_serialization():
    """Bob and Alice only exchange plain messages: run them through pickle."""
    rng = np.random.default_rng(1)
    a, b, _ = _pair(20_000, 0.03, rng)
    alice = CascadeAlice(a)
    bob = CascadeBob(b, 0.03, rng)
    sent = []

    def wire(msg):
        msg = pickle.loads(pickle.dumps(msg))
        sent.append(type(msg).__name__)
        return pickle.loads(pickle.dumps(alice.handle(msg)))

    bob.reconcile(wire)
    assert np.array_equal(bob.key, a)
    assert set(sent) == {"PassBatch", "ParityRequest"}


def test_error_free_key_leaks_only_block_parities():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 50_000, dtype=np.uint8)
    kb, st = reconcile(a, a.copy(), 0.02, rng)
    assert np.array_equal(kb, a)
    sizes = block_sizes(0.02, a.size)
    expected = sum(-(-a.size // k) if k < a.size // 2 else 2 for k in sizes)
    assert st.leaked_bits == expected
    assert st.corrected_bits == 0


def test_block_sizes_follow_qber():
    assert block_sizes(0.01, 10**6)[:3] == [128, 512, 16384]
    assert block_sizes(0.05, 10**6)[:3] == [16, 128, 2048]
    assert len(block_sizes(0.02, 10**5)) == 14


def test_reprs_hold_no_bits():
    rng = np.random.default_rng(3)
    a = np.ones(4096, np.uint8)
    assert "1, 1" not in repr(CascadeAlice(a)) and "[" not in repr(CascadeAlice(a))
    assert "1, 1" not in repr(CascadeBob(a, 0.02, rng))

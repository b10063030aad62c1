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
        inner = msg.requests if type(msg).__name__ == "ParityBatch" else (msg,)
        sent.extend(type(m).__name__ for m in inner)
        return pickle.loads(pickle.dumps(alice.handle(msg)))

    stats = bob.reconcile(wire)
    assert np.array_equal(bob.key, a)
    assert set(sent) == {"PassBatch", "ParityRequest", "SyndromeRequest"}
    assert stats.round_trips == alice.messages


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


@pytest.mark.parametrize("q", [0.01, 0.05])
def test_in_process_search_equals_message_path(q):
    """The fused in-process search discloses the same parities in the same round trips as messages do."""
    rng = np.random.default_rng(11)
    a, b, _ = _pair(60_000, q, rng)
    results = []
    for local in (True, False):
        alice = CascadeAlice(a)
        bob = CascadeBob(b, q, np.random.default_rng(5), local=local)
        stats = bob.reconcile(alice.handle)
        results.append((bob.key.copy(), stats.leaked_bits, stats.round_trips, alice.leaked_bits, alice.messages))
    (k1, *c1), (k2, *c2) = results
    assert np.array_equal(k1, a) and np.array_equal(k2, a)
    assert c1 == c2


def test_pass_batch_leaks_what_pass_by_pass_opening_would():
    rng = np.random.default_rng(12)
    a = rng.integers(0, 2, 40_000, dtype=np.uint8)
    alice = CascadeAlice(a)
    bob = CascadeBob(a.copy(), 0.02, rng)
    stats = bob.reconcile(alice.handle)
    assert stats.round_trips == 1  # an error-free key: one message opens all 14 passes and nothing is searched
    assert alice.leaked_bits == sum(-(-a.size // k) if k < a.size // 2 else 2 for k in bob.sizes)


@pytest.mark.parametrize(
    "q,max_trips,max_f", [(0.01, 600, 1.045), (0.02, 750, 1.05), (0.03, 500, 1.055), (0.05, 650, 1.065)]
)
def test_round_trips_and_efficiency_bounds(q, max_trips, max_f):
    """1e5-bit blocks (sweep: 310-540 round trips on average, f 1.029-1.049); bounds leave room for spread."""
    rng = np.random.default_rng(int(q * 1e4))
    trips, effs = [], []
    for _ in range(3):
        a, b, errors = _pair(100_000, q, rng)
        kb, st = reconcile(a, b, q, rng)
        assert np.array_equal(kb, a)
        trips.append(st.round_trips)
        effs.append(st.leaked_bits / (a.size * binary_entropy(errors / a.size)))
    assert max(trips) <= max_trips
    assert 1.0 < np.mean(effs) <= max_f

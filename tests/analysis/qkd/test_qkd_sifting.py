import numpy as np
import pytest

from qnetlab.analysis.qkd.sifting import AliceRecord, BobRecord, basis_codes, sift


def _alice(n=8):
    return AliceRecord(np.arange(n), ["Z", "X"] * (n // 2), [0, 1] * (n // 2), [0] * n)


def test_keeps_matching_bases_and_bits():
    alice = AliceRecord([10, 11, 12, 13], ["Z", "X", "Z", "X"], [1, 0, 1, 1], [0, 1, 2, 0])
    bob = BobRecord([13, 10, 12], ["X", "Z", "X"], [1, 1, 0])
    s = sift(alice, bob, np.random.default_rng(0))
    assert s.basis.tolist() == [1, 0]  # slots 13 (X) and 10 (Z); slot 12 bases differ
    assert s.alice_bit.tolist() == [1, 1] and s.bob_bit.tolist() == [1, 1]
    assert s.intensity.tolist() == [0, 0]
    assert s.counts(0).tolist() == [1, 0, 0]


def test_time_bin_and_polarization_labels():
    assert basis_codes(["time", "phase", "H/V", "D/A"]).tolist() == [0, 1, 0, 1]
    assert basis_codes(np.array([0, 1, 1])).tolist() == [0, 1, 1]


def test_unknown_basis_label_is_an_error():
    with pytest.raises(ValueError, match="unknown basis label 'Y'"):
        AliceRecord([0, 1], ["Z", "Y"], [0, 1], [0, 0])
    with pytest.raises(ValueError, match="unknown basis code 2"):
        BobRecord([0], [2], [0])


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="different lengths"):
        AliceRecord([0, 1, 2], ["Z", "X"], [0, 1, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="different lengths"):
        BobRecord([0, 1], ["Z", "X"], [0])


def test_bob_slot_not_sent_is_an_error():
    with pytest.raises(ValueError, match="slot 99"):
        sift(_alice(), BobRecord([1, 99], ["X", "Z"], [0, 0]), np.random.default_rng(0))


def test_double_clicks_get_random_bits():
    n = 4000
    alice = AliceRecord(np.arange(n), np.zeros(n, int), np.zeros(n, int), np.zeros(n, int))
    bob = BobRecord(np.arange(n), np.zeros(n, int), np.zeros(n, int), np.ones(n, bool))
    s = sift(alice, bob, np.random.default_rng(1))
    assert s.double_clicks == n
    assert abs(s.bob_bit.mean() - 0.5) < 5 * 0.5 / np.sqrt(n)


def test_record_reprs_hold_no_bits():
    assert repr(_alice()) == "AliceRecord(slots=8)"


def test_unsorted_and_gapped_alice_slots_match_the_same_events():
    rng = np.random.default_rng(2)
    slots = np.arange(0, 3000, 3)  # gapped: uses the search path
    alice = AliceRecord(
        slots, rng.integers(0, 2, slots.size), rng.integers(0, 2, slots.size), np.zeros(slots.size, int)
    )
    pick = np.sort(rng.choice(slots.size, 300, replace=False))
    bob = BobRecord(slots[pick], alice.basis[pick], alice.bit[pick])
    s = sift(alice, bob, rng)
    assert s.basis.size == 300 and np.array_equal(s.alice_bit, s.bob_bit)
    perm = rng.permutation(slots.size)
    shuffled = AliceRecord(slots[perm], alice.basis[perm], alice.bit[perm], np.zeros(slots.size, int))
    s2 = sift(shuffled, bob, rng)
    assert np.array_equal(s2.alice_bit, s.alice_bit)
    with pytest.raises(ValueError, match="slot 1 that Alice did not send"):
        sift(alice, BobRecord([1], [0], [0]), rng)


def test_records_listing_a_slot_twice_are_refused_when_built():
    with pytest.raises(ValueError, match="Alice's record lists a slot twice"):
        AliceRecord([3, 1, 3], ["Z", "X", "Z"], [0, 1, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="Bob's record lists a slot twice"):
        BobRecord([5, 2, 5], ["Z", "X", "Z"], [0, 1, 1])
    assert AliceRecord([7, 8, 9], ["Z", "X", "Z"], [0, 1, 0], [0, 1, 2]).contiguous
    assert not AliceRecord([9, 7, 8], ["Z", "X", "Z"], [0, 1, 0], [0, 1, 2]).contiguous


def test_packed_selection_equals_plain_selection():
    rng = np.random.default_rng(8)
    n = 5000
    alice = AliceRecord(np.arange(n), rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 3, n))
    pick = np.sort(rng.choice(n, 2000, replace=False))
    bob = BobRecord(pick, rng.integers(0, 2, pick.size), rng.integers(0, 2, pick.size), rng.random(pick.size) < 0.05)
    s = sift(alice, bob, rng)
    keep = alice.basis[pick] == bob.basis
    assert np.array_equal(s.alice_bit, alice.bit[pick][keep])
    assert np.array_equal(s.intensity, alice.intensity[pick][keep])
    for b in (0, 1):
        m = s.basis == b
        packed = s.select(b)
        assert np.array_equal(packed[0], s.alice_bit[m]) and np.array_equal(packed[1], s.bob_bit[m])
        assert np.array_equal(packed[2], s.intensity[m])

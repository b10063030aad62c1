"""Bob's tags to detections: gates, time-bin positions, double clicks; frame delay by correlation."""

from __future__ import annotations

import numpy as np
import pytest

from qnetlab.plans.qkd._detections import Receiver, decode, find_phase_ps
from qnetlab.plans.qkd._frames import AlignmentError, Frame, find_delay_slots

T = 12_500.0
POL = Receiver("polarization", {"H": 2, "V": 3, "D": 4, "A": 5}, T)
TB = Receiver("time-bin", {"Z": 6, "X0": 7, "X1": 8}, T, separation_ps=2000.0)


def test_polarization_roles_gate_and_double_clicks():
    phase = 3_000
    t = np.array([0, 1, 2, 2, 3, 3, 4], dtype=np.int64) * 12_500 + phase
    t[-1] += 900  # outside the 500 ps gate
    c = np.array([2, 3, 4, 5, 2, 2, 2], dtype=np.int8)  # H, V, D+A (double), H+H (one click), late H
    slot, basis, bit, double = decode(POL, t, c, 0, phase, np.random.default_rng(0))
    assert slot.tolist() == [0, 1, 2, 3]
    assert basis.tolist()[:2] == [0, 0] and bit.tolist()[:2] == [0, 1]
    assert double.tolist() == [False, False, True, False] and basis[2] == 1


def test_time_bin_positions_and_side_peaks():
    phase = 1_000
    base = np.arange(5, dtype=np.int64) * 12_500 + phase
    t = base + np.array([0, 2000, 2000, 2000, 0])
    c = np.array([6, 6, 7, 8, 7], dtype=np.int8)  # Z early, Z late, X0 middle, X1 middle, X0 side peak
    slot, basis, bit, _ = decode(TB, t, c, 0, phase, np.random.default_rng(0))
    assert slot.tolist() == [0, 1, 2, 3]
    assert basis.tolist() == [0, 0, 1, 1] and bit.tolist() == [0, 1, 0, 1]


def test_time_bin_phase_is_the_early_peak():
    rng = np.random.default_rng(1)
    slots = rng.integers(0, 10**6, 5000)
    late = rng.random(5000) < 0.5
    t = (slots * 12_500 + 4_200 + 2_000 * late + rng.normal(0, 30, 5000)).astype(np.int64)
    c = np.full(5000, 6, np.int8)
    assert abs(find_phase_ps(TB, t, c, 0) - 4_200) < 10


def test_delay_found_by_correlation_and_refused_without_one():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 12, 1 << 16).astype(np.uint8)
    delay = 777
    sent = np.flatnonzero(rng.random(codes.size) < 0.2)
    basis = ((codes[sent] >> 1) & 1).astype(np.uint8)
    bit = (codes[sent] & 1) ^ (rng.random(sent.size) < 0.02)
    frame = Frame(0, codes.size, 0, sent + delay, basis, bit.astype(np.uint8), np.zeros(sent.size, bool))
    assert find_delay_slots(codes, frame, 4096) == delay
    noise = Frame(
        0, codes.size, 0, sent + delay, basis, rng.integers(0, 2, sent.size, dtype=np.uint8), frame.bob_double
    )
    with pytest.raises(AlignmentError, match="do not correlate"):
        find_delay_slots(codes, noise, 4096)

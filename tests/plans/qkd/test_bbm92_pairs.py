"""BBM92's coincidence pairing on hand-made streams: ports to bits, double clicks, delay, one pair per event."""

from __future__ import annotations

import numpy as np

from qnetlab.plans.qkd._pairs import SegmentTags, coincidences, squashed_bits

CH = (9, 10, 11, 12)  # A_T, A_R, B_T, B_R


def _stream(*tags):
    order = sorted(tags)
    return np.array([t for t, _ in order], np.int64), np.array([c for _, c in order], np.int32)


def test_ports_become_bits_and_double_clicks_are_flagged():
    t, c = _stream(
        (1_000, 9), (1_300, 11),  # T/T: 0, 0
        (50_000, 10), (49_500, 12),  # R/R: 1, 1 (Bob earlier, inside the window)
        (90_000, 9), (90_400, 10), (90_200, 12),  # Alice clicks both ports: a double click
        (200_000, 9), (202_000, 11),  # 2 ns apart: outside a 1 ns window
        (300_000, 3), (300_100, 11),  # a channel of no analyzer
    )  # fmt: skip
    pairs = coincidences(t, c, CH, window_ps=1000)
    assert pairs.size == 3
    assert pairs.a_bit.tolist() == [0, 1, 1] and pairs.b_bit.tolist() == [0, 1, 1]
    assert pairs.a_double.tolist() == [False, False, True] and not pairs.b_double.any()
    # Bob's detectors 5 ns late: the pairs line up only with the delay given
    t_late = np.where(np.isin(c, (11, 12)), t + 5000, t)
    order = np.argsort(t_late, kind="stable")
    assert coincidences(t_late[order], c[order], CH, 1000).size == 0
    assert coincidences(t_late[order], c[order], CH, 1000, delay_b_ps=5000).size == 3


def test_each_event_pairs_once():
    # two of Alice's events within one window of a single Bob event, apart by more than the window
    t, c = _stream((10_000, 9), (11_500, 10), (10_800, 11))
    pairs = coincidences(t, c, CH, window_ps=1000)
    assert pairs.size == 1 and pairs.a_bit.tolist() == [0]


def test_squashing_and_bob_flip():
    t, c = _stream(*[(k * 10_000, 9) for k in range(400)], *[(k * 10_000 + 10, 10) for k in range(400)],
                   *[(k * 10_000 + 5, 11) for k in range(400)])  # fmt: skip
    pairs = coincidences(t, c, CH, 1000)
    assert pairs.size == 400 and pairs.a_double.all()
    a, b = squashed_bits(pairs, np.random.default_rng(0), flip_b=True)
    assert 150 < a.sum() < 250  # random bits for double clicks
    assert (b == 1).all()  # Bob's T (0) flipped


def test_segment_tags_keeps_only_the_analyzer_inputs_in_order():
    tags = SegmentTags(CH)
    tags.process(np.array([1, 2, 3]), np.array([9, 1, 12]))
    tags.process(np.array([7, 8]), np.array([5, 10]))
    t, c = tags.tags()
    assert t.tolist() == [1, 3, 8] and c.tolist() == [9, 12, 10]

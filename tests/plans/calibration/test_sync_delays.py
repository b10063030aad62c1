"""Receiver delays from Alice's sync and pattern: injected offsets (sub-pulse and whole pulses) recovered in one bin."""

from __future__ import annotations

import numpy as np
import pytest

from qnetlab import plans
from qnetlab.analysis.calibration.sync_delays import sync_offsets_ps, wrapped_offset_ps
from qnetlab.plans.calibration._reference import MARKER_SLOTS, PATTERN_SLOTS

BIN_PS = 10
PERIOD_PS = 12_500.0
REPETITION_PS = PATTERN_SLOTS * PERIOD_PS


def synthetic_tags(offsets_ps: dict[int, float], *, marker_level=0.2, repetitions=3000, seed=0):
    """Sync on input 1 every repetition; per channel clicks (p = 0.03 per pulse, decoy marker at 0.2) + dark."""
    rng = np.random.default_rng(seed)
    sync = np.arange(repetitions, dtype=np.int64) * int(REPETITION_PS)
    t, c = [sync], [np.ones(sync.size, np.int32)]
    pulses = np.arange(repetitions * PATTERN_SLOTS)
    level = np.where(pulses % PATTERN_SLOTS < MARKER_SLOTS, marker_level, 1.0)
    for channel, offset in offsets_ps.items():
        fired = pulses[rng.random(pulses.size) < 0.03 * level]
        times = fired * PERIOD_PS + offset + rng.normal(0, 30, fired.size)
        dark = rng.uniform(0, repetitions * REPETITION_PS, 200)
        t.append(np.concatenate([times, dark]).astype(np.int64))
        c.append(np.full(fired.size + 200, channel, np.int32))
    order = np.argsort(np.concatenate(t), kind="stable")
    return np.concatenate(t)[order], np.concatenate(c)[order]


def test_synthetic_offsets_are_recovered_within_a_bin_with_whole_pulses_from_the_marker():
    offsets = {2: 3 * PERIOD_PS + 1234.5, 3: 3 * PERIOD_PS + 1234.5 - 2718, 4: 5 * PERIOD_PS + 77.0, 5: -40.0}
    t, c = synthetic_tags(offsets)
    found = sync_offsets_ps(t, c, 1, list(offsets), period_ps=PERIOD_PS, slots=PATTERN_SLOTS, marker_slots=MARKER_SLOTS)
    for channel, offset in offsets.items():
        assert abs(found[channel].offset_ps - offset) < BIN_PS, (channel, found[channel], offset)
        assert found[channel].offset_err_ps < 2.0
        assert 0.1 < found[channel].marker_depth < 0.35  # the decoy's 0.2, diluted by a few dark counts
    # channel 5 sits 40 ps before the sync: one repetition later mod the pattern, kept beside the others
    assert found[5].offset_ps < 0


def test_no_marker_or_a_wrong_sync_says_what_is_missing():
    t, c = synthetic_tags({2: 500.0}, marker_level=1.0, repetitions=1500)
    with pytest.raises(ValueError, match="channel 2: no decoy marker dip"):
        sync_offsets_ps(t, c, 1, [2], period_ps=PERIOD_PS, slots=PATTERN_SLOTS, marker_slots=MARKER_SLOTS)
    with pytest.raises(ValueError, match="not every 32 pulses"):
        sync_offsets_ps(t, c, 1, [2], period_ps=PERIOD_PS, slots=32, marker_slots=MARKER_SLOTS)
    with pytest.raises(ValueError, match="0 sync tags on channel 9"):
        sync_offsets_ps(t, c, 9, [2], period_ps=PERIOD_PS, slots=PATTERN_SLOTS, marker_slots=MARKER_SLOTS)


def _fiber_offset_ps(world) -> float:
    """Closed form: slot 0 reaches Bob the fiber's group delay after the sync, modulo the pattern."""
    link = next(link for link in world.links if type(link).__name__ == "PolarizationBB84Link")
    return wrapped_offset_ps(link.delay_ps(world), PATTERN_SLOTS, PERIOD_PS)


def test_injected_offsets_are_recovered_within_one_bin_on_the_sim_lab(recording):
    s = recording
    tagger = s.lab.tagger
    injected = {2: 0, 3: -2_718, 4: 3_141, 5: 2 * 12_500 + 417}  # ps; channel 5 two whole pulses late
    fiber = _fiber_offset_ps(s.lab.world)  # -25 000 ps on the sim lab (25 km, 64-slot pattern)
    try:
        for channel, delay in injected.items():
            tagger.set_input_delay(channel, delay)
        (uid,) = s.RE(plans.tagger_sync_delays(tagger, s.lab.laser, duration_s=0.05, bin_width_ps=BIN_PS))
        result = plans.outcome(s.catalog[uid])
        assert result["passed"] and result["applied"], result["reason"]
        for channel, delay in injected.items():
            assert abs(result["figures_before"][f"ch{channel}_offset_ps"] - (fiber + delay)) <= BIN_PS
            assert abs(tagger.input_delay_ps(channel) + fiber) <= BIN_PS  # every input now delays by -fiber
            assert result["settings"][f"tagger.input{channel}_delay_ps"] == tagger.input_delay_ps(channel)
        assert all(abs(v) <= BIN_PS for v in result["figures_after"].values())
        offsets = s.table(uid, "offsets")
        assert list(offsets["channel"]) == [2, 3, 4, 5] and (offsets["offset_err_ps"] < BIN_PS / 2).all()
        assert "timetags" in s.catalog[uid] and "timetags_after" in s.catalog[uid]
        assert tagger.input_delay_ps(1) == 0  # the sync is the reference
    finally:
        for channel in injected:
            tagger.set_input_delay(channel, 0)


def test_an_unreachable_precision_fails_and_keeps_the_delays(recording):
    s = recording
    tagger = s.lab.tagger
    try:
        tagger.set_input_delay(3, 700)
        (uid,) = s.RE(plans.tagger_sync_delays(tagger, s.lab.laser, duration_s=0.02, max_error_ps=0.001))
        result = plans.outcome(s.catalog[uid])
        assert not result["passed"] and not result["applied"] and "not known to 0.001 ps" in result["reason"]
        assert tagger.input_delay_ps(3) == 700 and result["settings"]["tagger.input3_delay_ps"] == 700
    finally:
        tagger.set_input_delay(3, 0)

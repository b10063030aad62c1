"""Tagger delay calibration on the sim lab's pair source: injected offsets recovered within one bin."""

from __future__ import annotations

from qnetlab import plans

BIN_PS = 10


def test_injected_offsets_are_recovered_within_one_bin(recording):
    s = recording
    tagger = s.lab.tagger
    injected = {11: -2_718, 12: 3_141}  # ps: B's cables relative to A's
    for channel, delay in injected.items():
        tagger.set_input_delay(channel, delay)
    # 5 s of pairs (default 2 s): the check's own peak error then sits well inside the 10 ps tolerance
    # (at 2 s a fresh world's seed put one check 11 ps off in about one suite run of a dozen)
    (uid,) = s.RE(plans.tagger_delays(tagger, bin_width_ps=BIN_PS, duration_s=5.0))
    result = plans.outcome(s.catalog[uid])
    assert result["passed"] and result["applied"], result["reason"]
    for channel, delay in injected.items():
        assert abs(tagger.input_delay_ps(channel) - 0) <= BIN_PS, (channel, tagger.input_delay_ps(channel), delay)
        assert result["settings"][f"tagger.input{channel}_delay_ps"] == tagger.input_delay_ps(channel)
    assert abs(result["figures_before"]["peak_9_11_ps"] - injected[11]) <= BIN_PS
    assert all(abs(v) <= BIN_PS for v in result["figures_after"].values())
    peaks = s.table(uid, "peaks")
    assert len(peaks) == 2 and (peaks["centre_err_ps"] < BIN_PS / 2).all()
    assert "timetags" in s.catalog[uid] and "timetags_after" in s.catalog[uid]


def test_an_unreachable_precision_fails_and_keeps_the_delays(recording):
    s = recording
    tagger = s.lab.tagger
    tagger.set_input_delay(11, 500)
    (uid,) = s.RE(plans.tagger_delays(tagger, duration_s=0.2, max_error_ps=0.001))
    result = plans.outcome(s.catalog[uid])
    assert not result["passed"] and not result["applied"] and "not known to" in result["reason"]
    assert tagger.input_delay_ps(11) == 500
    assert s.catalog[uid].metadata["stop"]["exit_status"] == "success"
    tagger.set_input_delay(11, 0)

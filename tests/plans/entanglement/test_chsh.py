"""CHSH on the simulated pair source: S = 2√2·V within error; a separable source stays below 2."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qnetlab import plans
from qnetlab.plans.entanglement import pair_analyzers
from qnetlab.plans.entanglement.chsh import SETTING_PAIRS

OUTCOMES = ("tt", "tr", "rt", "rr")


def _chsh_run(s, analyzers=None, **kwargs):
    a, b = analyzers or pair_analyzers(s.lab)
    (uid,) = s.RE(plans.chsh(s.lab.tagger, a, b, **kwargs))
    return uid, s.table(uid), s.table(uid, "results").iloc[0]


def test_s_matches_werner_visibility_raw_and_corrected(bell_session):
    s = bell_session
    uid, points, result = _chsh_run(s, duration_s=0.2, min_s=2.2)
    expected = 2 * math.sqrt(2) * s.visibility
    # corrected: the Werner state itself; 3 sigma
    assert abs(result["s_corrected"] - expected) < 3 * result["s_corrected_std"]
    # raw: diluted by the accidentals actually measured in the offset windows
    coincidences = points[[f"coincidences_{o}" for o in OUTCOMES]].to_numpy(float)
    accidentals = points[[f"accidentals_{o}" for o in OUTCOMES]].to_numpy(float)
    assert coincidences.sum(axis=1).min() > 300 and accidentals.sum() > 0
    dilution = 1 - accidentals.sum() / coincidences.sum()
    assert abs(result["s_raw"] - expected * dilution) < 3 * result["s_raw_std"]
    assert result["s_raw"] < result["s_corrected"]
    assert result["sigmas_above_2_corrected"] == pytest.approx((result["s_corrected"] - 2) / result["s_corrected_std"])
    assert result["sigmas_above_2_corrected"] > 5
    # Poisson error of S ~ sqrt(sum (1 - E^2)/N) over the four pairs
    e = np.array([result[f"correlations_raw_{i}"] for i in range(4)])
    assert result["s_raw_std"] == pytest.approx(math.sqrt(np.sum((1 - e**2) / coincidences.sum(axis=1))), rel=1e-6)
    # the four setting pairs and their mounts were recorded; raw tags linked
    assert list(points["pair"]) == ["ab", "ab'", "a'b", "a'b'"]
    a, _ = pair_analyzers(s.lab)  # Alice's HWP at a/2, a'/2 plus its configured zero
    expected_hwp = [(angle + a.hwp_zero_deg) % 180 for angle in (0, 0, 22.5, 22.5)]
    assert points["ent_a_hwp_angle_deg"].tolist() == pytest.approx(expected_hwp, abs=1e-3)
    assert s.catalog[uid]["timetags"]["tagger_tag_channel"].shape[0] == points.filter(like="singles_").sum().sum()
    # nightly pair_source step: calibration stream per the contract
    run = s.catalog[uid]
    assert run.metadata["start"]["calibration_step"] == "pair_source"
    outcome = s.table(uid, "calibration").iloc[0]
    assert bool(outcome["passed"]) and outcome["reason"] == "" and not bool(outcome["applied"])
    assert json.loads(outcome["figures_after"])["chsh_s"] == pytest.approx(result["s_corrected"])
    assert json.loads(outcome["settings"]) == {}


def test_threshold_miss_is_a_completed_run_that_did_not_pass(bell_session):
    s = bell_session
    uid, _, _ = _chsh_run(s, duration_s=0.05, min_s=3.9)
    outcome = s.table(uid, "calibration").iloc[0]
    assert not bool(outcome["passed"]) and "below the pass mark 3.9" in outcome["reason"]
    assert s.catalog[uid].metadata["stop"]["exit_status"] == "success"


def test_bad_arguments_are_refused_before_anything_moves(bell_session):
    s = bell_session
    a, b = pair_analyzers(s.lab)
    with pytest.raises(plans.PlanArgumentError, match="window_ps"):
        plans.chsh(s.lab.tagger, a, b, window_ps=0)
    with pytest.raises(plans.PlanArgumentError, match="min_s"):
        plans.chsh(s.lab.tagger, a, b, min_s=5)
    with pytest.raises(ValueError, match="accidental_offsets_ps"):
        list(plans.chsh(s.lab.tagger, a, b, accidental_offsets_ps=(1000,)))


def test_a_wrong_mount_offset_turns_the_analyzer_as_jones_calculus_says(bell_session):
    """Claiming a zero on Bob's HWP 20 deg past its true (configured) one turns his polarizer by
    -40 deg, so E(α, β) = V cos 2(α − β + 40°) and S falls to ~0.49 V."""
    s = bell_session
    true_zero = s.lab.world.actuators["ent_b_hwp"].mount_zero_deg
    a, b = pair_analyzers(s.lab, zero_offsets_deg={"ent_b_hwp": true_zero + 20.0})
    _, _, result = _chsh_run(s, (a, b), duration_s=0.1)
    angles = {"a": 0.0, "a'": 45.0, "b": 22.5 - 40.0, "b'": -22.5 - 40.0}
    e = [s.visibility * math.cos(math.radians(2 * (angles[x] - angles[y]))) for x, y in SETTING_PAIRS]
    expected = e[0] + e[1] + e[2] - e[3]
    assert expected == pytest.approx(0.49 * s.visibility, abs=0.01)
    assert abs(result["s_corrected"] - expected) < 3 * result["s_corrected_std"]

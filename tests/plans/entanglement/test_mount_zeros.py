"""Mount zero offsets: the world's plates sit off their mounts' zero, the config's K10CR1 entries hold the
calibrated zeros, plans use them by default, a wrong zero costs S as the Jones calculus says, and
``mount_zeros`` measures them from the pair source."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from scipy.stats import chi2 as chi2_dist

from qnetlab import plans
from qnetlab.analysis.entanglement import chsh as chsh_value
from qnetlab.analysis.entanglement.mount_zeros import predicted_counts
from qnetlab.instruments.config import ConfigError, load_config
from qnetlab.plans.entanglement import mount_zeros, pair_analyzers

from .conftest import SHIPPED_VISIBILITY, SIM_LAB

MOUNTS = ("ent_a_qwp", "ent_a_hwp", "ent_b_qwp", "ent_b_hwp")
OUTCOMES = ("tt", "tr", "rt", "rr")
LARGE_ZEROS = {"ent_a_qwp": -15.0, "ent_a_hwp": 8.0, "ent_b_qwp": 10.0, "ent_b_hwp": 25.0}


def test_shipped_config_holds_the_world_mounts_zeros():
    config = load_config(SIM_LAB)
    zeros = {name: config.instruments[name].zero_offset_deg for name in MOUNTS}  # pyright: ignore[reportAttributeAccessIssue]
    assert zeros == {name: config.world.actuators[name].mount_zero_deg for name in MOUNTS}  # pyright: ignore[reportOptionalMemberAccess,reportAttributeAccessIssue]
    assert all(zero != 0 for zero in zeros.values())


@pytest.mark.parametrize(
    ("table", "key", "value", "message"),
    [
        (
            "instruments",
            "zero_offset_deg",
            120.0,
            r"instruments\.ent_b_hwp\.zero_offset_deg: .*less than or equal to 90",
        ),
        ("instruments", "zero_offset_deg", "north", r"instruments\.ent_b_hwp\.zero_offset_deg: .*valid number"),
        ("world", "mount_zero_deg", -95.0, r"world\.actuators\.ent_b_hwp\.mount_zero_deg: .*greater than or equal"),
    ],
)
def test_out_of_range_zeros_are_refused_naming_the_key(tmp_path, table, key, value, message):
    config = yaml.safe_load(SIM_LAB.read_text())
    (config["instruments"] if table == "instruments" else config["world"]["actuators"])["ent_b_hwp"][key] = value
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_mount_reading_holds_the_axis_off_by_the_world_zero(bell_session):
    s = bell_session
    mount, plate = s.lab.ent_b_hwp, s.lab.world.actuators["ent_b_hwp"]
    assert float(mount.locate()["readback"]) == pytest.approx(0.0, abs=1e-5)  # the mounts read 0 at power-on
    mount.set(30.0).wait(10)
    assert plate.angle_deg == pytest.approx(30.0 - plate.mount_zero_deg, abs=1e-5)
    assert float(mount.locate()["readback"]) == pytest.approx(30.0, abs=1e-5)
    configuration = mount.read_configuration()
    assert configuration["ent_b_hwp_zero_offset_deg"]["value"] == plate.mount_zero_deg
    mount.set(0.0).wait(10)


def test_mount_zeros_refuses_steps_that_do_not_span_a_fringe(bell_session):
    a, b = pair_analyzers(bell_session.lab)
    with pytest.raises(ValueError, match="steps_deg needs >= 4 distinct"):
        list(mount_zeros(bell_session.lab.tagger, a, b, steps_deg=(0.0, 90.0, 180.0, 45.0)))
    with pytest.raises(plans.PlanArgumentError, match="max_std_deg"):
        mount_zeros(bell_session.lab.tagger, a, b, max_std_deg=0)


def _expected_s(points, zeros_deg, visibility):
    """S that the Jones calculus predicts for the motor positions recorded, the plates at ``zeros_deg``."""
    motors = points[[f"{m}_angle_deg" for m in MOUNTS]].to_numpy(float)
    return chsh_value(predicted_counts(motors, zeros_deg, pairs=1e9, visibility=visibility)).s


@pytest.fixture(scope="module")
def large_offsets(lab_sessions):
    """The sim lab with plates 8-25 deg off their mounts' zero, the config calibrated to match."""
    return lab_sessions.get(SHIPPED_VISIBILITY, LARGE_ZEROS)


def test_wrong_zeros_degrade_s_and_the_configured_ones_restore_it(large_offsets):
    s = large_offsets
    true = [LARGE_ZEROS[m] for m in MOUNTS]
    a, b = pair_analyzers(s.lab)  # zeros from the config entries
    assert (a.qwp_zero_deg, b.hwp_zero_deg, a.qwp_zero_from) == (-15.0, 25.0, "config")
    (uid,) = s.RE(plans.chsh(s.lab.tagger, a, b, duration_s=0.2))
    good = s.table(uid, "results").iloc[0]
    assert abs(good["s_corrected"] - 2 * math.sqrt(2) * s.visibility) < 3 * good["s_corrected_std"]
    # zeros ignored (all 0): the analyzers measure other states; S is what the Jones calculus predicts
    a0, b0 = pair_analyzers(s.lab, zero_offsets_deg=dict.fromkeys(MOUNTS, 0.0))
    (uid,) = s.RE(plans.chsh(s.lab.tagger, a0, b0, duration_s=0.2))
    bad, points = s.table(uid, "results").iloc[0], s.table(uid)
    expected = _expected_s(points, true, s.visibility)
    assert expected < 2.0  # no violation left
    assert abs(bad["s_corrected"] - expected) < 3 * bad["s_corrected_std"]
    assert good["s_corrected"] - bad["s_corrected"] > 5 * math.hypot(good["s_corrected_std"], bad["s_corrected_std"])
    recorded = s.catalog[uid].metadata["start"]["plan_args"]["analyzers"]
    assert recorded["A"]["qwp_zero_deg"] == 0.0 and recorded["A"]["qwp_zero_from"] == "argument"


@pytest.mark.slow  # 12 settings of 2.5 s: ~25 s on the shared machine, mostly the catalog
def test_mount_zeros_finds_the_world_zeros_from_a_wrong_start(large_offsets):
    s = large_offsets
    true = np.array([LARGE_ZEROS[m] for m in MOUNTS])
    start = {"ent_a_hwp": 0.0, "ent_b_qwp": 0.0, "ent_b_hwp": 0.0}  # Alice's QWP, the reference, from the config
    a, b = pair_analyzers(s.lab, zero_offsets_deg=start)
    steps = (0.0, 22.5, 45.0, 67.5)
    (uid,) = s.RE(mount_zeros(s.lab.tagger, a, b, steps_deg=steps, duration_s=2.5))
    points, result = s.table(uid), s.table(uid, "results").iloc[0]
    assert list(points["swept_mount"]) == [m for m in MOUNTS[1:] for _ in steps]
    found = np.array([result[f"zero_{m}_deg"] for m in MOUNTS])
    std = np.array([result[f"zero_{m}_std_deg"] for m in MOUNTS])
    covariance = np.array([[result[f"zeros_covariance_deg2_{i}{j}"] for j in range(4)] for i in range(4)])
    assert found[0] == true[0] and std[0] == 0.0
    assert np.all(np.abs(found - true)[1:] < 4 * std[1:]) and np.all(std[1:] < 1.0)
    # the errors are correlated: the joint deviation against chi2 with 3 dof (p = 0.999)
    delta = (found - true)[1:]
    assert delta @ np.linalg.solve(covariance[1:, 1:], delta) < chi2_dist.ppf(0.999, 3)
    assert abs(result["visibility"] - s.visibility) < 4 * result["visibility_std"]
    assert result["chi2"] < chi2_dist.ppf(0.999, result["dof"])
    # reported for the config, nothing applied; the PNG saved with the run
    outcome = s.table(uid, "calibration").iloc[0]
    assert bool(outcome["passed"]) and not bool(outcome["applied"])
    settings = json.loads(outcome["settings"])
    assert settings["ent_b_hwp"]["zero_offset_deg"] == pytest.approx(found[3], abs=1e-3)
    assert f"ent_b_hwp: {{zero_offset_deg: {found[3]:.2f}}}" in result["config_update"]
    with open(result["figure"], "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    assert s.lab.ent_b_hwp.zero_offset_deg.get() == LARGE_ZEROS["ent_b_hwp"]  # the device was not changed

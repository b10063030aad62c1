"""The calibration store (atomic, history, provenance, bad files named) and the nightly config's validation."""

from __future__ import annotations

import json
import os

import pytest

from qnetlab.calibration_store import CalibrationStore, Provenance, apply_settings
from qnetlab.nightly.config import NightlyConfigError, load_nightly_config
from qnetlab.nightly.job import resolve_plan


def test_store_keeps_history_and_the_newest_value_is_in_force(tmp_path):
    store = CalibrationStore(tmp_path)
    assert store.current() == {} and store.provenance("x.y") is None
    store.record({"bob_pc.paddle1_deg": 10.0}, Provenance("pol", "uid-1", 1.0, {"qber_z": 0.2}, {"qber_z": 0.01}))
    store.record({"bob_pc.paddle1_deg": 12.5, "bob_piezo.voltage_v": 3.0}, Provenance("pol", "uid-2", 2.0))
    assert store.current() == {"bob_pc.paddle1_deg": 12.5, "bob_piezo.voltage_v": 3.0}
    assert [e["value"] for e in store.history("bob_pc.paddle1_deg")] == [10.0, 12.5]
    assert store.history("bob_pc.paddle1_deg")[0]["figures_after"] == {"qber_z": 0.01}
    assert store.provenance("bob_piezo.voltage_v") == Provenance("pol", "uid-2", 2.0)
    assert store.current(step="other") == {}
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.json"]  # no temporary left behind


def test_store_write_is_atomic(tmp_path, monkeypatch):
    store = CalibrationStore(tmp_path)
    store.record({"a.b": 1}, Provenance("s", "u", 0.0))
    good = store.path.read_text()

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.record({"a.b": 2}, Provenance("s", "u2", 1.0))
    assert store.path.read_text() == good and store.current() == {"a.b": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.json"]


def test_store_names_a_corrupt_file(tmp_path):
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"calibration.json: calibration store is not valid JSON"):
        CalibrationStore(tmp_path).current()
    (tmp_path / "calibration.json").write_text(json.dumps({"version": 1}))
    with pytest.raises(ValueError, match="no 'settings' table"):
        CalibrationStore(tmp_path).current()


def test_apply_settings_names_unknown_devices_and_signals():
    class Lab:
        def __init__(self):
            self.devices = {"bob_pc": object()}

    with pytest.raises(ValueError, match=r"'laser.power_dbm': the lab has no device 'laser'"):
        apply_settings(Lab(), {"laser.power_dbm": -10})
    with pytest.raises(ValueError, match=r"'bob_pc.paddle9_deg': bob_pc has no 'paddle9_deg'"):
        apply_settings(Lab(), {"bob_pc.paddle9_deg": 1})


def test_nightly_config_errors_name_file_and_key(write_nightly):
    path = write_nightly("steps:\n  - {name: a, plan: x, depends_on: [b]}\n  - {name: b, plan: y, retries: 9}\n")
    with pytest.raises(NightlyConfigError) as error:
        load_nightly_config(path)
    message = str(error.value)
    assert "nightly.yaml" in message and "steps.1.retries" in message
    path = write_nightly("steps:\n  - {name: a, plan: x, depends_on: [b]}\n  - {name: b, plan: y}\n")
    with pytest.raises(NightlyConfigError, match=r"steps.0 \(a\).depends_on: \['b'\] is not a step listed before it"):
        load_nightly_config(path)
    with pytest.raises(NightlyConfigError, match="no such nightly config"):
        load_nightly_config(path.parent / "missing.yaml")


def test_shipped_nightly_config_is_valid():
    from conftest import HERE

    config = load_nightly_config(HERE.parents[2] / "config" / "nightly.yaml")
    assert {s.name for s in config.steps} >= {"tagger_delays", "polarization_compensation"}


def test_unknown_plan_is_named():
    with pytest.raises(LookupError, match=r"plan 'teleport' is not in qnetlab.plans \(it has: .*count_rates"):
        resolve_plan("teleport")
    assert resolve_plan("count_rates").__name__ == "count_rates"

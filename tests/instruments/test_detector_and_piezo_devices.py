"""Piezo, SNSPD-controller and SPAD devices built from config entries, over their twins.

A stand-in ``lab`` carries the world's parts the builders need (actuators, detectors,
lock) and collects the emulators, as ``instruments.lab.Lab`` does.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from bluesky.protocols import Configurable, Locatable, Movable, Readable
from pydantic import ValidationError

from qnetlab.drivers.errors import LimitError
from qnetlab.instruments.config import (
    ConfigError,
    ScpiFreeRunningSpadConfig,
    ScpiSnspdControllerConfig,
    ThorlabsMdt693bConfig,
)
from qnetlab.instruments.registry import build_device
from qnetlab.sim_backends.world.actuators import PhaseShifter
from qnetlab.sim_backends.world.detectors import DetectorModel, SnspdModel, SpadModel


@pytest.fixture
def lab():
    world = SimpleNamespace(
        actuators={"bob_phase": PhaseShifter(v_2pi_v=60.0)},
        detectors={
            "snspd_a": SnspdModel(),
            "snspd_b": SnspdModel(),
            "spad": SpadModel(),
            "plain": DetectorModel(),
        },
        lock=threading.RLock(),
    )
    stand_in = SimpleNamespace(world=world, emulators={}, devices={})
    yield stand_in
    for device in stand_in.devices.values():
        device.close()
    for emulator in stand_in.emulators.values():
        emulator.close()


def _build(lab, config_class, name, **fields):
    entry = config_class.model_validate({"sim": True, "timeout_s": 0.5, **fields})
    device = build_device(name, entry, lab)
    lab.devices[name] = device
    return device


# --- piezo -------------------------------------------------------------------------------
def test_piezo_voltage_moves_the_interferometer_phase(lab):
    piezo = _build(lab, ThorlabsMdt693bConfig, "piezo", kind="thorlabs_mdt693b", actuator="bob_phase")
    shifter = lab.world.actuators["bob_phase"]
    assert isinstance(piezo, Movable) and isinstance(piezo, Locatable)
    piezo.set(15.0).wait(timeout=5)
    assert shifter.phase_rad() == pytest.approx(np.pi / 2)
    piezo.voltage_v.set(30.0).wait(timeout=5)
    assert shifter.phase_rad() == pytest.approx(np.pi)
    assert piezo.locate() == {"setpoint": 30.0, "readback": 30.0}
    assert piezo.read()["piezo_voltage_v"]["value"] == 30.0
    assert piezo.read_configuration()["piezo_voltage_limit_v"]["value"] == 150.0


def test_piezo_safety_limit_names_the_limit_and_sends_nothing(lab):
    piezo = _build(
        lab,
        ThorlabsMdt693bConfig,
        "piezo",
        kind="thorlabs_mdt693b",
        actuator="bob_phase",
        voltage_v=10.0,
        limits={"voltage_v": {"min": 0.0, "max": 60.0}},
    )
    emulator = lab.emulators["piezo"]
    assert lab.world.actuators["bob_phase"].voltage_v == 10.0  # the start-up setting
    emulator.exchanges.clear()
    with pytest.raises(LimitError, match=r"piezo: 'voltage_v': 75.0 is outside the safe range \[0.0, 60.0\]"):
        piezo.set(75.0).wait(timeout=5)
    assert emulator.exchanges == []
    assert lab.world.actuators["bob_phase"].voltage_v == 10.0


def test_piezo_config_errors_name_the_key(lab):
    with pytest.raises(ValidationError, match="actuator"):
        ThorlabsMdt693bConfig.model_validate({"kind": "thorlabs_mdt693b", "sim": True})
    with pytest.raises(ValidationError, match="only axis x"):
        ThorlabsMdt693bConfig.model_validate(
            {"kind": "thorlabs_mdt693b", "address": "ASRL1::INSTR", "model": "MDT694B", "axis": "z"}
        )
    with pytest.raises(ConfigError, match=r"instruments.piezo.actuator: 'alice_phase' is not an actuator of the world"):
        _build(lab, ThorlabsMdt693bConfig, "piezo", kind="thorlabs_mdt693b", actuator="alice_phase")


# --- SNSPD controller ------------------------------------------------------------------------
def _snspd(lab, **fields):
    return _build(
        lab,
        ScpiSnspdControllerConfig,
        "snspd",
        kind="scpi_snspd_controller",
        channels={1: "snspd_a", 2: "snspd_b"},
        limits={"bias_ua": {"min": 0.0, "max": 12.5}},
        **fields,
    )


def test_bias_through_ophyd_sets_the_wire_and_its_efficiency(lab):
    snspd = _snspd(lab, bias_ua={2: 8.0})
    wire_a, wire_b = lab.world.detectors["snspd_a"], lab.world.detectors["snspd_b"]
    assert wire_b.bias_ua == 8.0  # start-up setting
    assert wire_a.detection_efficiency() == 0.0
    snspd.ch1.bias_ua.set(10.0).wait(timeout=5)
    assert wire_a.bias_ua == 10.0
    assert wire_a.detection_efficiency() == pytest.approx(0.85 / (1 + np.exp(-2.0 / 0.6)))
    assert snspd.ch1.bias_ua.locate() == {"setpoint": 10.0, "readback": 10.0}
    assert isinstance(snspd.ch1.bias_ua, Movable)


def test_switching_current_latches_and_reset_unlatches(lab):
    snspd = _snspd(lab)
    wire = lab.world.detectors["snspd_a"]
    snspd.ch1.bias_ua.set(12.2).wait(timeout=5)  # above the 12 µA switching current
    assert wire.latched and snspd.ch1.latched.get() is True
    assert wire.detection_efficiency() == 0.0
    snspd.ch1.bias_ua.set(9.0).wait(timeout=5)  # lowering the bias alone keeps it latched
    assert snspd.ch1.latched.get() is True
    snspd.reset(1)
    assert not wire.latched and snspd.ch1.latched.get() is False
    assert wire.bias_ua == 9.0 and wire.detection_efficiency() > 0.5


def test_light_latched_channel_reads_latched_until_reset(lab):
    snspd = _snspd(lab, bias_ua={1: 9.0, 2: 9.0})
    wire = lab.world.detectors["snspd_b"]
    wire.expose(1e9)  # a flash far above the latching rate
    reading = snspd.read()
    assert reading["snspd_ch2_latched"]["value"] is True and reading["snspd_ch1_latched"]["value"] is False
    assert reading["snspd_ch2_voltage_v"]["value"] > 10 * reading["snspd_ch1_voltage_v"]["value"]
    snspd.ch2.reset()
    assert snspd.ch2.latched.get() is False and wire.bias_ua == 9.0


def test_bias_limit_names_the_limit_and_sends_nothing(lab):
    snspd = _snspd(lab)
    emulator = lab.emulators["snspd"]
    emulator.exchanges.clear()
    with pytest.raises(LimitError, match=r"snspd_ch2: 'bias_ua': 13.0 is outside the safe range \[0.0, 12.5\]"):
        snspd.ch2.bias_ua.set(13.0).wait(timeout=5)
    assert emulator.exchanges == []
    assert lab.world.detectors["snspd_b"].bias_ua == 0.0


def test_snspd_device_follows_bluesky_protocols(lab):
    snspd = _snspd(lab)
    assert isinstance(snspd, Readable) and isinstance(snspd, Configurable)
    assert (
        set(snspd.describe())
        == set(snspd.read())
        == {
            "snspd_ch1_latched",
            "snspd_ch1_voltage_v",
            "snspd_ch2_latched",
            "snspd_ch2_voltage_v",
        }
    )
    assert set(snspd.read_configuration()) == {"snspd_ch1_bias_ua", "snspd_ch2_bias_ua"}
    assert snspd.describe_configuration()["snspd_ch1_bias_ua"]["units"] == "uA"
    with pytest.raises(KeyError, match=r"no channel 3; channels are \[1, 2\]"):
        snspd.reset(3)


def test_snspd_config_errors_name_the_key(lab):
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        ScpiSnspdControllerConfig.model_validate(
            {"kind": "scpi_snspd_controller", "sim": True, "channels": {0: "snspd_a"}}
        )
    with pytest.raises(ValidationError, match=r"bias_ua names channels \[3\]"):
        ScpiSnspdControllerConfig.model_validate(
            {"kind": "scpi_snspd_controller", "sim": True, "channels": {1: "snspd_a"}, "bias_ua": {3: 9.0}}
        )
    with pytest.raises(ConfigError, match=r"instruments.snspd.channels.2: 'plain' is a DetectorModel, not an SNSPD"):
        channels = {1: "snspd_a", 2: "plain"}
        _build(lab, ScpiSnspdControllerConfig, "snspd", kind="scpi_snspd_controller", channels=channels)


# --- SPAD --------------------------------------------------------------------------------
def test_spad_settings_through_ophyd_change_the_detector(lab):
    spad = _build(
        lab,
        ScpiFreeRunningSpadConfig,
        "spad",
        kind="scpi_free_running_spad",
        detector="spad",
        efficiency=0.2,
    )
    model = lab.world.detectors["spad"]
    assert model.efficiency == 0.2
    spad.dead_time_us.set(25.0).wait(timeout=5)
    spad.efficiency.set(0.3).wait(timeout=5)
    assert model.dead_time_ps == 25_000_000 and model.efficiency == 0.3
    configuration = spad.read_configuration()
    assert configuration["spad_efficiency"]["value"] == 0.3 and configuration["spad_dead_time_us"]["value"] == 25.0
    assert isinstance(spad.dead_time_us, Movable) and isinstance(spad, Configurable)


def test_spad_dead_time_limit_and_missing_detector(lab):
    spad = _build(
        lab,
        ScpiFreeRunningSpadConfig,
        "spad",
        kind="scpi_free_running_spad",
        detector="spad",
        limits={"dead_time_us": {"min": 5.0}},
    )
    lab.emulators["spad"].exchanges.clear()
    with pytest.raises(LimitError, match=r"spad: 'dead_time_us': 1.0 is outside the safe range \[5.0, None\]"):
        spad.dead_time_us.set(1.0).wait(timeout=5)
    assert lab.emulators["spad"].exchanges == []
    with pytest.raises(ConfigError, match=r"instruments.spad2.detector: 'snspd_a' is a SnspdModel, not a SPAD"):
        _build(lab, ScpiFreeRunningSpadConfig, "spad2", kind="scpi_free_running_spad", detector="snspd_a")

"""The sim lab's devices: twins over real drivers, safety limits, the Bluesky protocols."""

from __future__ import annotations

from pathlib import Path

import pytest
from bluesky.protocols import Configurable, Locatable, Movable, Readable, Stageable, Triggerable

from qnetlab.drivers.errors import LimitError
from qnetlab.instruments._signals import DriverSignal

REPO = Path(__file__).resolve().parents[2]


def _acquire(tagger, seconds):
    tagger.acquisition_time_s.put(seconds)
    tagger.trigger().wait(timeout=30)
    reading = tagger.read()
    return {c: reading[f"{tagger.name}_ch{c}_rate_hz"]["value"] for c in tagger.channels.get()}


POLARIZATION_RECEIVER = (2, 3, 4, 5)  # tagger inputs of Bob's four SNSPDs (config/sim_lab.yaml)


def test_laser_power_through_device_changes_tagger_rate(sim_lab):
    sim_lab.tagger.channels.put(POLARIZATION_RECEIVER)
    before = _acquire(sim_lab.tagger, 0.2)
    sim_lab.laser.power_dbm.set(-16.0).wait(timeout=5)
    assert sim_lab.laser.power_dbm.get() == -16.0
    after = _acquire(sim_lab.tagger, 0.2)
    for channel in POLARIZATION_RECEIVER:
        assert after[channel] < 0.5 * before[channel]  # 6 dB less light, well below half the rate
    sim_lab.laser.output.set(False).wait(timeout=5)
    dark = _acquire(sim_lab.tagger, 0.2)
    assert all(rate < 2_000 for rate in dark.values())  # only dark counts left


def test_safety_limit_refuses_before_sending(sim_lab):
    emulator = sim_lab.emulators["laser"]
    emulator.exchanges.clear()
    with pytest.raises(LimitError, match=r"laser: 'power_dbm': 3 is outside the safe range \[-20.0, 0.0\]"):
        sim_lab.laser.power_dbm.set(3).wait(timeout=5)
    assert emulator.exchanges == []


def test_progress_is_reported_while_acquiring(sim_lab):
    tagger = sim_lab.tagger
    tagger.acquisition_time_s.put(0.5)
    seen = []
    status = tagger.trigger()
    status.watch(lambda **kw: seen.append(kw))
    status.wait(timeout=30)
    progress = [kw for kw in seen if "current" in kw]
    assert progress and progress[-1]["current"] == pytest.approx(0.5) and progress[-1]["target"] == 0.5
    assert [kw["current"] for kw in progress] == sorted(kw["current"] for kw in progress)


def test_bad_channel_selection_is_refused(sim_lab):
    sim_lab.tagger.channels.put((1, 70))
    with pytest.raises(ValueError, match=r"channels \[1, 70\] are not all configured inputs \[1, 2, 3"):
        sim_lab.tagger.trigger()


LAB_CONFIGS = sorted(p for p in (REPO / "config").glob("*.yaml") if p.name != "nightly.yaml")  # nightly: steps


@pytest.mark.parametrize("config", LAB_CONFIGS, ids=lambda p: Path(p).name)
def test_every_device_of_every_shipped_config_follows_bluesky_protocols(config):
    from qnetlab.instruments import load_config, load_lab

    if not all(entry.sim for entry in load_config(config).instruments.values()):
        pytest.skip("config describes real hardware")
    from qnetlab.instruments._device import DriverDevice, DriverPositioner
    from qnetlab.instruments.registry import MODELS
    from qnetlab.plans.protocols import CountingTagger, StreamingTagger

    role_protocols = {"tagger": (CountingTagger, StreamingTagger), "transmitter": (Readable, Configurable)}
    with load_lab(config) as lab:
        for name, device in lab.devices.items():
            assert isinstance(device, DriverDevice) and isinstance(device, Stageable), name
            for protocol in role_protocols.get(MODELS[lab.config.instruments[name].kind].role or "", ()):
                assert isinstance(device, protocol), (name, protocol.__name__)
            if isinstance(device, DriverPositioner):
                assert isinstance(device, Movable) and isinstance(device, Locatable), name
                assert device.locate()["readback"] == getattr(device, device.position_signal).get(), name
            assert isinstance(device, Readable), device.name
            description, reading = device.describe(), device.read()
            assert set(description) == set(reading), device.name
            for key, entry in description.items():
                assert {"source", "dtype", "shape"} <= set(entry), key
            assert isinstance(device, Configurable), device.name
            assert set(device.describe_configuration()) == set(device.read_configuration())
            if hasattr(device, "trigger"):
                assert isinstance(device, Triggerable), device.name
            for signal in device.component_names:
                component = getattr(device, signal)
                if isinstance(component, DriverSignal) and not component.read_only:
                    assert isinstance(component, Movable) and isinstance(component, Locatable), component.name
                    location = component.locate()
                    assert location["readback"] == component.get(), component.name


def test_the_registry_builds_every_kind_the_config_schema_accepts():
    import typing

    from qnetlab.instruments.config import InstrumentEntry
    from qnetlab.instruments.registry import MODELS

    schema_models = typing.get_args(typing.get_args(InstrumentEntry)[0])
    kinds = {typing.get_args(m.model_fields["kind"].annotation)[0]: m for m in schema_models}
    assert kinds == {kind: model.config for kind, model in MODELS.items()}


def test_turning_a_paddle_through_ophyd_changes_what_the_tagger_sees(sim_lab):
    """The loop a calibration plan closes: MPC320 device -> APT emulator -> world -> tagger."""
    sim_lab.tagger.channels.put((2, 3))  # Bob's H and V detectors; Alice sends plain H pulses

    def h_fraction():
        rates = _acquire(sim_lab.tagger, 0.05)
        return rates[2] / (rates[2] + rates[3])

    fractions = []
    for angle in (0.0, 45.0, 90.0, 135.0):
        sim_lab.bob_pc.paddle2_deg.set(angle).wait(timeout=10)
        assert sim_lab.world.actuators["bob_pc"].paddles[1].angle_deg == pytest.approx(angle, abs=0.2)
        fractions.append(h_fraction())
    assert max(fractions) - min(fractions) > 0.3  # the half-wave paddle swings light between H and V


def test_faults_requested_in_config_reach_the_twin(tmp_path):
    import yaml

    from qnetlab.drivers.errors import InstrumentTimeout
    from qnetlab.instruments import load_lab

    raw = yaml.safe_load((REPO / "config" / "sim_lab.yaml").read_text())
    raw["instruments"] = {k: raw["instruments"][k] for k in ("laser", "tagger")}
    raw["instruments"]["laser"]["sim_faults"] = [{"fault": "timeout", "count": 2}]
    raw["instruments"]["laser"]["timeout_s"] = 0.3
    path = tmp_path / "faulty.yaml"
    path.write_text(yaml.safe_dump(raw))
    with load_lab(path) as lab:
        with pytest.raises(InstrumentTimeout, match="laser"):
            lab.laser.power_dbm.get()
        assert lab.laser.power_dbm.get() == -10.0

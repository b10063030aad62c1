"""The APT twins at the device level: ophyd devices over the real drivers over the emulators.

Moving a paddle or a waveplate through ophyd turns the actuator object of the world;
a value outside the config's safe limits is refused before anything is sent.
"""

from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace

import pytest
from bluesky.protocols import Configurable, Locatable, Movable, Readable
from pydantic import ValidationError

from qnetlab.drivers.errors import LimitError, LinkDropped
from qnetlab.instruments.config import ConfigError, ThorlabsK10cr1Config, ThorlabsMpc320Config
from qnetlab.instruments.polarization_controller import PolarizationController
from qnetlab.instruments.registry import build_device
from qnetlab.instruments.rotation_mount import RotationMount
from qnetlab.sim_backends.world.actuators import PaddleController, Waveplate

_names = itertools.count()
MPC_STEP_DEG = 170 / 1370


@pytest.fixture
def paddles():
    from qnetlab.drivers.thorlabs import ThorlabsMPC320
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator

    controller = PaddleController()
    emulator = AptPaddleControllerEmulator(controller, threading.RLock())
    name = f"polctl{next(_names)}"
    device = PolarizationController(
        ThorlabsMPC320(name, emulator.url, timeout_s=0.2), name=name, safe_limits={"paddle2_deg": (10.0, 160.0)}
    )
    emulator.exchanges.clear()
    yield device, emulator, controller
    device.close()
    emulator.close()


@pytest.fixture
def mount():
    from qnetlab.drivers.thorlabs import ThorlabsK10CR1
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator

    plate = Waveplate(0.5)
    emulator = AptRotationMountEmulator(plate, threading.RLock())
    name = f"hwp{next(_names)}"
    device = RotationMount(
        ThorlabsK10CR1(name, emulator.url, timeout_s=0.2), name=name, safe_limits={"angle_deg": (-90.0, 90.0)}
    )
    emulator.exchanges.clear()
    yield device, emulator, plate
    device.close()
    emulator.close()


def test_devices_follow_the_bluesky_protocols(paddles, mount):
    controller, mount_device = paddles[0], mount[0]
    for signal in (*controller.paddles, mount_device.angle_deg):
        assert isinstance(signal, Movable) and isinstance(signal, Locatable) and isinstance(signal, Readable)
    assert isinstance(mount_device, Movable) and isinstance(mount_device, Locatable)
    assert isinstance(controller, Readable) and isinstance(controller, Configurable)
    assert controller.describe()[f"{controller.name}_paddle1_deg"]["units"] == "deg"
    assert set(controller.read()) == {f"{controller.name}_paddle{n}_deg" for n in (1, 2, 3)}


def test_setting_a_paddle_turns_the_world_paddle(paddles):
    device, _, controller = paddles
    status = device.paddle3_deg.set(45.0)
    status.wait(timeout=5)
    assert status.success
    assert controller.paddles[2].angle_deg == pytest.approx(363 * MPC_STEP_DEG)
    assert device.paddle3_deg.locate() == {"setpoint": 45.0, "readback": pytest.approx(363 * MPC_STEP_DEG)}


def test_three_paddles_move_together_without_mixing_replies(paddles):
    device, _, controller = paddles
    statuses = [paddle.set(angle) for paddle, angle in zip(device.paddles, (20.0, 40.0, 60.0), strict=False)]
    for status in statuses:
        status.wait(timeout=5)
    for paddle, angle in zip(controller.paddles, (20.0, 40.0, 60.0), strict=False):
        assert paddle.angle_deg == pytest.approx(angle, abs=MPC_STEP_DEG / 2)


def test_a_plan_moves_paddles_and_waveplate(paddles, mount):
    from bluesky import RunEngine
    from bluesky import plan_stubs as bps

    device, _, controller = paddles
    mount_device, _, plate = mount
    RE = RunEngine({}, call_returns_result=True)
    RE(bps.mv(device.paddle1_deg, 30.0, device.paddle2_deg, 50.0, mount_device, -22.5))
    assert controller.paddles[0].angle_deg == pytest.approx(30.0, abs=MPC_STEP_DEG / 2)
    assert controller.paddles[1].angle_deg == pytest.approx(50.0, abs=MPC_STEP_DEG / 2)
    assert plate.angle_deg == pytest.approx(-22.5, abs=1e-5)


def test_paddle_limit_names_the_limit_and_sends_nothing(paddles):
    device, emulator, controller = paddles
    with pytest.raises(
        LimitError, match=rf"{device.name}: 'paddle2_deg': 165.0 is outside the safe range \[10.0, 160.0\]"
    ):
        device.paddle2_deg.set(165.0)
    assert emulator.exchanges == []
    assert controller.paddles[1].angle_deg == 0.0


def test_failed_move_fails_the_status(paddles):
    device, emulator, controller = paddles
    emulator.inject("drop", after=3)  # position, enable and its check pass, the move meets a dropped link
    status = device.paddle1_deg.set(30.0)
    with pytest.raises(LinkDropped, match="not resent"):
        status.wait(timeout=5)
    assert controller.paddles[0].angle_deg == 0.0


def test_velocity_and_home_through_the_device(paddles):
    device, _, controller = paddles
    device.velocity_pct.put(70)
    assert device.velocity_pct.get() == 70
    device.paddle1_deg.set(90.0).wait(timeout=5)
    device.home(1).wait(timeout=5)
    assert controller.paddles[0].angle_deg == 0.0


def test_rotation_mount_set_turns_the_waveplate(mount):
    device, _, plate = mount
    device.set(22.5).wait(timeout=5)
    assert plate.angle_deg == pytest.approx(22.5, abs=1e-5)
    assert device.locate()["readback"] == pytest.approx(22.5, abs=1e-5)
    assert device.velocity_deg_s.get() == pytest.approx(10.0)
    device.home().wait(timeout=5)
    assert plate.angle_deg == 0.0


def test_rotation_mount_limit_names_the_limit_and_sends_nothing(mount):
    device, emulator, plate = mount
    with pytest.raises(
        LimitError, match=rf"{device.name}: 'angle_deg': 120.0 is outside the safe range \[-90.0, 90.0\]"
    ):
        device.set(120.0)
    assert emulator.exchanges == []
    assert plate.angle_deg == 0.0


def _stand_in_lab():
    world = SimpleNamespace(
        actuators={"fiber_pc": PaddleController(), "hwp_alice": Waveplate(0.5)}, lock=threading.RLock()
    )
    return SimpleNamespace(world=world, emulators={})


def test_builders_start_twins_on_the_world_actuators():
    lab = _stand_in_lab()
    name_pc, name_hwp = f"polctl{next(_names)}", f"hwp{next(_names)}"
    pc_entry = ThorlabsMpc320Config.model_validate(
        {
            "kind": "thorlabs_mpc320",
            "sim": True,
            "actuator": "fiber_pc",
            "serial_number": "38000042",
            "velocity_pct": 80,
            "limits": {"paddle1_deg": {"max": 90}},
        }
    )
    hwp_entry = ThorlabsK10cr1Config.model_validate(
        {"kind": "thorlabs_k10cr1", "sim": True, "actuator": "hwp_alice", "home_on_start": True}
    )
    pc = build_device(name_pc, pc_entry, lab)
    hwp = build_device(name_hwp, hwp_entry, lab)
    try:
        assert lab.emulators[name_pc].url == pc.driver.address and lab.emulators[name_hwp].url == hwp.driver.address
        assert pc.driver.info["serial_number"] == 38000042
        assert pc.velocity_pct.get() == 80
        pc.paddle2_deg.set(120.0).wait(timeout=5)
        assert lab.world.actuators["fiber_pc"].paddles[1].angle_deg == pytest.approx(120.0, abs=MPC_STEP_DEG / 2)
        with pytest.raises(LimitError, match=r"'paddle1_deg': 100.0 is outside the safe range \[None, 90.0\]"):
            pc.paddle1_deg.set(100.0)
        hwp.set(45.0).wait(timeout=5)
        assert lab.world.actuators["hwp_alice"].angle_deg == pytest.approx(45.0, abs=1e-5)
    finally:
        for device in (pc, hwp):
            device.close()
        for emulator in lab.emulators.values():
            emulator.close()


def test_config_errors_name_the_problem():
    with pytest.raises(ValidationError, match="actuator .* is required when sim is true"):
        ThorlabsMpc320Config.model_validate({"kind": "thorlabs_mpc320", "sim": True})
    with pytest.raises(ValidationError, match="address is required"):
        ThorlabsK10cr1Config.model_validate({"kind": "thorlabs_k10cr1"})
    with pytest.raises(ValidationError, match="velocity_pct"):
        ThorlabsMpc320Config.model_validate({"kind": "thorlabs_mpc320", "address": "/dev/ttyUSB0", "velocity_pct": 5})
    lab = _stand_in_lab()
    entry = ThorlabsK10cr1Config.model_validate({"kind": "thorlabs_k10cr1", "sim": True, "actuator": "fiber_pc"})
    with pytest.raises(
        ConfigError, match=r"instruments.hwp.actuator: 'fiber_pc' is a PaddleController, not a waveplate"
    ):
        build_device("hwp", entry, lab)
    entry = ThorlabsMpc320Config.model_validate({"kind": "thorlabs_mpc320", "sim": True, "actuator": "bob_pc"})
    with pytest.raises(ConfigError, match=r"instruments.pc.actuator: 'bob_pc' is not an actuator of the world; it has"):
        build_device("pc", entry, lab)
    assert lab.emulators == {}

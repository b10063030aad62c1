"""Ophyd device of a motorized three-paddle fiber polarization controller (over ThorlabsMPC320).

Also this instrument's builder (its config model is in :mod:`instruments.config`).
"""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.config import ThorlabsMpc320Config
from qnetlab.instruments.rotation_mount import MoveSignal, run_in_thread


class PolarizationController(Device):
    """Three fiber paddles: ``paddle1_deg`` .. ``paddle3_deg`` (Movable, 0-170 deg), ``velocity_pct``.

    Parameters
    ----------
    driver : a connected paddle-controller driver
    safe_limits : setting name -> (min, max) from the lab config, checked before sending
    """

    paddle1_deg = Cpt(MoveSignal, parameter="paddle1_deg", units="deg", kind="hinted")
    paddle2_deg = Cpt(MoveSignal, parameter="paddle2_deg", units="deg", kind="hinted")
    paddle3_deg = Cpt(MoveSignal, parameter="paddle3_deg", units="deg", kind="hinted")
    velocity_pct = Cpt(DriverSignal, parameter="velocity_pct", units="%", kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    @property
    def paddles(self) -> tuple[MoveSignal, MoveSignal, MoveSignal]:
        return (self.paddle1_deg, self.paddle2_deg, self.paddle3_deg)

    def home(self, paddle: int) -> Status:
        """Home one paddle (1, 2 or 3); the Status finishes when the device reports it homed."""
        return run_in_thread(self, lambda: self.driver.home(paddle))

    def close(self) -> None:
        self.driver.close()


def build(name: str, entry: ThorlabsMpc320Config, lab) -> PolarizationController:
    """The polarization controller of one config entry; when ``entry.sim``, over an emulator on ``lab.world``."""
    from qnetlab.drivers.thorlabs import ThorlabsMPC320

    address = entry.address
    if entry.sim:
        from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
        from qnetlab.sim_backends.world.actuators import PaddleController

        controller = lab.world.actuators.get(entry.actuator)
        if not isinstance(controller, PaddleController):
            raise ValueError(f"instruments.{name}.actuator: {entry.actuator!r} is not a paddle controller of the world")
        emulator = AptPaddleControllerEmulator(controller, lab.world.lock, serial=entry.serial_number or "38000001")
        lab.emulators[name] = emulator
        address = emulator.url
    driver = ThorlabsMPC320(name, address, timeout_s=entry.timeout_s, serial_number=entry.serial_number or None)
    limits = entry.safe_limits()
    device = PolarizationController(driver, name=name, safe_limits=limits)
    try:
        if entry.velocity_pct is not None:
            device.velocity_pct.put(entry.velocity_pct)
    except Exception:
        driver.close()
        raise
    return device

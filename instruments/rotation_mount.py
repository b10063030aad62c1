"""Ophyd device of a motorized rotation mount holding a waveplate (over :class:`drivers.thorlabs.ThorlabsK10CR1`).

Also home of :class:`MoveSignal`, the Movable signal of the APT motor devices, and of
this instrument's builder (its config model is in :mod:`instruments.config`).
"""

from __future__ import annotations

import threading

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.config import ThorlabsK10cr1Config


class MoveSignal(DriverSignal):
    """A :class:`DriverSignal` whose ``set`` is a move: the Status finishes when the driver's
    blocking move has returned (the device reported the move completed), or fails with its error.

    The config's safe limits are checked before ``set`` returns, so a value outside them
    raises :class:`~drivers.errors.LimitError` and nothing is sent.
    """

    def set(self, value, *, timeout=None, settle_time=None, **kwargs) -> Status:
        self.check_value(value)
        return super().set(value, timeout=timeout, settle_time=settle_time, **kwargs)

    def _set_and_wait(self, value, timeout, **kwargs):
        self.put(value)


def run_in_thread(device: Device, action) -> Status:
    """Run ``action()`` in a thread; the Status finishes when it returns, or fails with its error."""
    status = Status(device)

    def run():
        try:
            action()
        except Exception as error:
            status.set_exception(error)
        else:
            status.set_finished()

    threading.Thread(target=run, daemon=True, name=f"{device.name}-action").start()
    return status


class RotationMount(Device):
    """Waveplate in a motorized rotation mount: ``angle_deg`` (Movable), ``home()``.

    Parameters
    ----------
    driver : a connected rotation-mount driver (``angle_deg``, ``velocity_deg_s``, ``home()``)
    safe_limits : setting name -> (min, max) from the lab config, checked before sending
    """

    angle_deg = Cpt(MoveSignal, parameter="angle_deg", units="deg", kind="hinted")
    velocity_deg_s = Cpt(DriverSignal, parameter="velocity_deg_s", units="deg/s", read_only=True, kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def set(self, value, **kwargs) -> Status:
        """Bluesky ``Movable``: rotate to ``value`` (deg)."""
        return self.angle_deg.set(value, **kwargs)

    def locate(self) -> dict:
        """Bluesky ``Locatable``: last angle set and the mount's angle (deg)."""
        return self.angle_deg.locate()

    def home(self) -> Status:
        """Home the mount; the Status finishes when the device reports it homed."""
        return run_in_thread(self, self.driver.home)

    def close(self) -> None:
        self.driver.close()


def build(name: str, entry: ThorlabsK10cr1Config, lab) -> RotationMount:
    """The rotation mount of one config entry; when ``entry.sim``, over an emulator on ``lab.world``."""
    from qnetlab.drivers.thorlabs import ThorlabsK10CR1

    address = entry.address
    if entry.sim:
        from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
        from qnetlab.sim_backends.world.actuators import Waveplate

        plate = lab.world.actuators.get(entry.actuator)
        if not isinstance(plate, Waveplate):
            raise ValueError(f"instruments.{name}.actuator: {entry.actuator!r} is not a waveplate of the world")
        emulator = AptRotationMountEmulator(plate, lab.world.lock, serial=entry.serial_number or "55000001")
        lab.emulators[name] = emulator
        address = emulator.url
    driver = ThorlabsK10CR1(name, address, timeout_s=entry.timeout_s, serial_number=entry.serial_number or None)
    limits = entry.safe_limits()
    device = RotationMount(driver, name=name, safe_limits=limits)
    try:
        if entry.home_on_start:
            driver.home()
    except Exception:
        driver.close()
        raise
    return device

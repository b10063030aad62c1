"""Ophyd device of a free-running InGaAs SPAD (ID Qube NIR class), its config and builder."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.config import ConfigError, ScpiFreeRunningSpadConfig


class Spad(Device):
    """Free-running SPAD settings: efficiency (fraction, discrete) and dead time (µs).

    Parameters
    ----------
    driver : a connected SPAD driver
    safe_limits : setting name -> (min, max) from the lab config, checked before sending
    """

    efficiency = Cpt(DriverSignal, parameter="efficiency", kind="config")
    dead_time_us = Cpt(DriverSignal, parameter="dead_time_us", units="us", kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def close(self) -> None:
        self.driver.close()


def build(name: str, entry: ScpiFreeRunningSpadConfig, lab) -> Spad:
    """The SPAD device of config entry ``name``; with ``sim``, over an emulator on the world."""
    from qnetlab.drivers.spad import ScpiFreeRunningSpad

    address = entry.address
    if entry.sim:
        from qnetlab.sim_backends.emulators.spad_emulator import SpadEmulator
        from qnetlab.sim_backends.world.detectors import SpadModel

        model = lab.world.detectors.get(entry.detector)
        if not isinstance(model, SpadModel):
            what = "is not a detector of the world" if model is None else f"is a {type(model).__name__}, not a SPAD"
            raise ConfigError(f"instruments.{name}.detector: {entry.detector!r} {what}")
        emulator = SpadEmulator(model, lab.world.lock)
        lab.emulators[name] = emulator
        address = emulator.address
    driver = ScpiFreeRunningSpad(name, address, timeout_s=entry.timeout_s)
    device = Spad(driver, name=name, safe_limits=entry.safe_limits())
    try:
        if entry.efficiency is not None:
            device.efficiency.put(entry.efficiency)
        if entry.dead_time_us is not None:
            device.dead_time_us.put(entry.dead_time_us)
    except Exception:
        driver.close()
        raise
    return device

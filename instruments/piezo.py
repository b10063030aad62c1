"""Ophyd device of a piezo controller output (Thorlabs MDT693B/MDT694B), its config and builder.

In the lab it sets the phase of Bob's time-bin interferometer: one controller axis
drives the piezo phase shifter of one interferometer arm.
"""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.config import ConfigError, ThorlabsMdt693bConfig


class Piezo(Device):
    """One piezo output: drive voltage (V) and the controller's limit switch (V).

    Parameters
    ----------
    driver : a connected MDT69xB driver (its ``voltage_v`` is the axis in use)
    safe_limits : setting name -> (min, max) from the lab config, checked before sending

    The device is ``Movable``/``Locatable`` through ``voltage_v``: ``piezo.set(30.0)``.
    """

    voltage_v = Cpt(DriverSignal, parameter="voltage_v", units="V", kind="hinted")
    voltage_limit_v = Cpt(DriverSignal, parameter="voltage_limit_v", units="V", read_only=True, kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def set(self, value: float):
        """Move the output to ``value`` volts; returns the Status of ``voltage_v``."""
        return self.voltage_v.set(value)

    def locate(self) -> dict:
        """Setpoint and readback of ``voltage_v`` (V)."""
        return self.voltage_v.locate()

    def close(self) -> None:
        self.driver.close()


def build(name: str, entry: ThorlabsMdt693bConfig, lab) -> Piezo:
    """The piezo device of config entry ``name``; with ``sim``, over an emulator on the world."""
    from qnetlab.drivers.thorlabs import ThorlabsMDT693B, ThorlabsMDT694B

    address = entry.address
    if entry.sim:
        from qnetlab.sim_backends.emulators.piezo_emulator import MdtPiezoEmulator

        actuators = lab.world.actuators
        if entry.actuator not in actuators:
            raise ConfigError(
                f"instruments.{name}.actuator: {entry.actuator!r} is not an actuator of the world; "
                f"it has {sorted(actuators)}"
            )
        emulator = MdtPiezoEmulator(actuators[entry.actuator], lab.world.lock, axis=entry.axis, model=entry.model)
        lab.emulators[name] = emulator
        address = emulator.address
    driver_class = ThorlabsMDT693B if entry.model == "MDT693B" else ThorlabsMDT694B
    driver = driver_class(name, address, axis=entry.axis, timeout_s=entry.timeout_s)
    device = Piezo(driver, name=name, safe_limits=entry.safe_limits())
    if entry.voltage_v is not None:
        try:
            device.voltage_v.put(entry.voltage_v)
        except Exception:
            driver.close()
            raise
    return device

"""Ophyd device of a pulsed laser (over :class:`drivers.scpi.ScpiPulsedLaser`)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from instruments._signals import DriverSignal


class PulsedLaser(Device):
    """Pulsed laser: emission, average power, wavelength, repetition rate.

    Parameters
    ----------
    driver : a connected laser driver
    safe_limits : setting name -> (min, max) from the lab config, checked before sending
    """

    power_dbm = Cpt(DriverSignal, parameter="power_dbm", units="dBm", kind="hinted")
    output = Cpt(DriverSignal, parameter="output", kind="config")
    wavelength_nm = Cpt(DriverSignal, parameter="wavelength_nm", units="nm", kind="config")
    rep_rate_hz = Cpt(DriverSignal, parameter="rep_rate_hz", units="Hz", read_only=True, kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def close(self) -> None:
        self.driver.close()

"""Ophyd device of a pulsed laser (over :class:`drivers.scpi.ScpiPulsedLaser`)."""

from __future__ import annotations

import hashlib

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Signal

from qnetlab.instruments._signals import DriverSignal


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
    encoding = Cpt(DriverSignal, parameter="encoding", kind="config")
    pattern_running = Cpt(DriverSignal, parameter="pattern_running", kind="config")
    pattern = Cpt(Signal, value=np.zeros(0, np.uint8), kind="config")  # what Alice sends, recorded with runs
    pattern_sha256 = Cpt(Signal, value="", kind="config")

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def load_pattern(
        self, codes, *, decoy_ratio: float | None = None, vacuum_ratio: float | None = None
    ) -> DeviceStatus:
        """Upload Alice's pattern (uint8 codes, see the driver) and read it back into ``pattern``.

        Returns a finished status; raises if the instrument refuses or reads back otherwise.
        """
        codes = np.asarray(codes, np.uint8)
        if decoy_ratio is not None or vacuum_ratio is not None:
            decoy, vacuum = self.driver.levels()
            self.driver.set_levels(
                decoy if decoy_ratio is None else decoy_ratio, vacuum if vacuum_ratio is None else vacuum_ratio
            )
        self.driver.upload_pattern(codes)
        stored = self.driver.pattern()
        if not np.array_equal(stored, codes):
            raise RuntimeError(
                f"{self.name}: pattern read back differs from the one uploaded ({stored.size} vs {codes.size} slots)"
            )
        self.pattern.put(stored)
        self.pattern_sha256.put(hashlib.sha256(stored.tobytes()).hexdigest())
        status = DeviceStatus(self)
        status.set_finished()
        return status

    def close(self) -> None:
        self.driver.close()

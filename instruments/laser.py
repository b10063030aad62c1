"""Ophyd device of a pulsed laser with a pattern memory (over :class:`qnetlab.drivers.scpi.ScpiPulsedLaser`)."""

from __future__ import annotations

import hashlib

import numpy as np
from ophyd import Component as Cpt
from ophyd import DeviceStatus, Signal

from qnetlab.instruments._device import DriverDevice
from qnetlab.instruments._signals import DriverSignal


class PulsedLaser(DriverDevice):
    """Pulsed laser: emission, average power (dBm), wavelength (nm), repetition rate (Hz), pattern.

    Built like every :class:`DriverDevice`: ``PulsedLaser(driver, name=..., safe_limits=...)``.
    """

    power_dbm = Cpt(DriverSignal, kind="hinted")
    output = Cpt(DriverSignal, kind="config")
    wavelength_nm = Cpt(DriverSignal, kind="config")
    rep_rate_hz = Cpt(DriverSignal, kind="config")
    encoding = Cpt(DriverSignal, kind="config")
    pattern_running = Cpt(DriverSignal, kind="config")
    pattern = Cpt(Signal, value=np.zeros(0, np.uint8), kind="config")  # what Alice sends, recorded with runs
    pattern_sha256 = Cpt(Signal, value="", kind="config")

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

    def read_pattern(self) -> np.ndarray:
        """The pattern memory as the instrument holds it now (uint8 codes), also put into ``pattern``."""
        stored = self.driver.pattern()
        self.pattern.put(stored)
        self.pattern_sha256.put(hashlib.sha256(stored.tobytes()).hexdigest())
        return stored

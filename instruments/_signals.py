"""Ophyd signals backed by a driver parameter, with the config's safety limits."""

from __future__ import annotations

from ophyd import Signal
from ophyd.utils import ReadOnlyError

from qnetlab.drivers.errors import LimitError


class DriverSignal(Signal):
    """A signal whose value lives in the instrument, read and written through the driver.

    Parameters
    ----------
    parameter : name of the driver's (QCoDeS) parameter, called as ``p()`` / ``p(value)``
    units : engineering units for ``describe``
    read_only : refuse ``put``

    The parent device holds ``driver`` and ``safe_limits`` (setting -> (min, max));
    a value outside them raises :class:`LimitError` before anything is sent.
    """

    def __init__(self, *, parameter: str, units: str = "", read_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self._parameter = parameter
        self._units = units
        self._read_only = read_only

    def _driver_parameter(self):
        return getattr(self.parent.driver, self._parameter)

    def get(self, **kwargs):
        value = self._driver_parameter()()
        self._readback = value
        return value

    @property
    def limits(self):
        low, high = self.parent.safe_limits.get(self._parameter, (None, None))
        return (low if low is not None else 0, high if high is not None else 0)

    def check_value(self, value):
        super().check_value(value)
        low, high = self.parent.safe_limits.get(self._parameter, (None, None))
        if (low is not None and value < low) or (high is not None and value > high):
            raise LimitError(
                self.parent.name,
                self._parameter,
                f"{value!r} is outside the safe range [{low}, {high}] set in the lab config",
            )

    def put(self, value, **kwargs):
        if self._read_only:
            raise ReadOnlyError(f"{self.name} is read-only")
        self.check_value(value)
        self._driver_parameter()(value)
        self._setpoint = value
        super().put(value, **kwargs)

    def locate(self) -> dict:
        """Bluesky ``Locatable``: last value set through this signal, and the instrument's value."""
        readback = self.get()
        return {"setpoint": getattr(self, "_setpoint", readback), "readback": readback}

    def describe(self):
        description = super().describe()
        description[self.name]["units"] = self._units
        return description

"""Ophyd signals backed by a driver (QCoDeS) parameter, with the config's safety limits."""

from __future__ import annotations

from typing import Any

from ophyd import Signal
from ophyd.status import Status
from ophyd.utils import ReadOnlyError

from qnetlab.drivers.errors import LimitError


class DriverSignal(Signal):
    """A signal whose value lives in the instrument, read and written through the driver.

    Parameters
    ----------
    parameter : name of the driver's (QCoDeS) parameter, called as ``p()`` / ``p(value)``;
        by default the signal's own attribute name

    The units (for ``describe``) and whether the signal is read-only come from the driver
    parameter (its ``unit`` and ``settable``). The parent device holds ``driver`` and
    ``safe_limits`` (setting -> (min, max)); a value outside them raises
    :class:`LimitError` before anything is sent.
    """

    def __init__(self, *, parameter: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if parameter is None and not self.attr_name:
            raise TypeError(f"{self.name}: a DriverSignal outside a device needs the driver parameter's name")
        self.parameter_name: str = parameter or self.attr_name

    @property
    def _device(self) -> Any:
        """The device holding ``driver`` and ``safe_limits``."""
        if self.parent is None:
            raise RuntimeError(f"{self.name}: a DriverSignal works only as a component of a device with a driver")
        return self.parent

    def _driver_parameter(self) -> Any:
        return getattr(self._device.driver, self.parameter_name)

    @property
    def read_only(self) -> bool:
        """True when the driver parameter cannot be set (e.g. a measured value)."""
        return not getattr(self._driver_parameter(), "settable", True)

    @property
    def write_access(self) -> bool:
        return not self.read_only

    @property
    def units(self) -> str:
        """The driver parameter's unit (e.g. ``dBm``), empty when it has none."""
        return getattr(self._driver_parameter(), "unit", "") or ""

    def get(self, **kwargs: Any) -> Any:
        value = self._driver_parameter()()
        self._readback = value
        return value

    @property
    def limits(self) -> tuple[float, float]:  # pyright: ignore[reportIncompatibleMethodOverride]  # ophyd's is (0, 0)
        low, high = self._device.safe_limits.get(self.parameter_name, (None, None))
        return (low if low is not None else 0, high if high is not None else 0)

    def check_value(self, value: Any, **kwargs: Any) -> None:
        super().check_value(value, **kwargs)
        low, high = self._device.safe_limits.get(self.parameter_name, (None, None))
        if (low is not None and value < low) or (high is not None and value > high):
            raise LimitError(
                self._device.name,
                self.parameter_name,
                f"{value!r} is outside the safe range [{low}, {high}] set in the lab config",
            )

    def put(self, value: Any, **kwargs: Any) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self.name} is read-only")
        self.check_value(value)
        self._driver_parameter()(value)
        self._setpoint = value
        super().put(value, **kwargs)

    def locate(self) -> dict:
        """Bluesky ``Locatable``: last value set through this signal, and the instrument's value."""
        readback = self.get()
        return {"setpoint": getattr(self, "_setpoint", readback), "readback": readback}

    def describe(self) -> dict:
        description = super().describe()
        description[self.name]["units"] = self.units
        return description


class MoveSignal(DriverSignal):
    """A :class:`DriverSignal` whose ``set`` is a move (APT motors).

    The Status finishes when the driver's blocking move has returned (the device
    reported the move completed), or fails with its error. The config's safe limits are
    checked before ``set`` returns, so a value outside them raises :class:`LimitError`
    and nothing is sent.
    """

    def set(
        self, value: Any, *, timeout: float | None = None, settle_time: float | None = None, **kwargs: Any
    ) -> Status:
        self.check_value(value)
        return super().set(value, timeout=timeout, settle_time=settle_time, **kwargs)

    def _set_and_wait(self, value: Any, timeout: float | None, **kwargs: Any) -> None:
        self.put(value)

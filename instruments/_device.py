"""The base of every device over one driver, and a helper for actions that block.

A device holds its connected driver and the config's safe limits (which its
:class:`~qnetlab.instruments._signals.DriverSignal` components check before sending);
``close()`` disconnects the driver. A device that moves along one axis
(:class:`DriverPositioner`) is bluesky-``Movable``/``Locatable`` through that signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from ophyd import Device
from ophyd.status import Status

SafeLimits = dict[str, tuple[float | None, float | None]]


class DriverDevice(Device):
    """An ophyd device over one connected driver.

    Parameters
    ----------
    driver : the connected driver whose parameters back the device's signals
    name : the device name (the config entry's name)
    safe_limits : setting name -> (min, max) from the lab config, checked before anything is sent
    """

    def __init__(self, driver: Any, *, name: str, safe_limits: SafeLimits | None = None, **kwargs: Any):
        self.driver = driver
        self.safe_limits: SafeLimits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def close(self) -> None:
        """Disconnect the driver."""
        self.driver.close()

    def __repr__(self) -> str:
        """What the device is, over which driver, with its signal names (not ophyd's full repr)."""
        signals = ", ".join(self.component_names)
        return f"<{type(self).__name__} {self.name!r} over {type(self.driver).__name__}: {signals}>"


class DriverPositioner(DriverDevice):
    """A :class:`DriverDevice` set and located through one of its signals (``position_signal``)."""

    position_signal: ClassVar[str]

    def set(self, value: float, **kwargs: Any) -> Status:
        """Bluesky ``Movable``: move ``position_signal`` to ``value`` (in that signal's units)."""
        return getattr(self, self.position_signal).set(value, **kwargs)

    def locate(self) -> dict:
        """Bluesky ``Locatable``: last value set and the instrument's value of ``position_signal``."""
        return getattr(self, self.position_signal).locate()


def run_in_thread(device: Device, action: Callable[[], object]) -> Status:
    """Run ``action()`` in a thread; the Status finishes when it returns, or fails with its error."""
    status = Status(device)

    def run() -> None:
        try:
            action()
        except Exception as error:
            status.set_exception(error)
        else:
            status.set_finished()

    threading.Thread(target=run, daemon=True, name=f"{device.name}-action").start()
    return status

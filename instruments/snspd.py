"""Ophyd device of a multi-channel SNSPD bias controller.

The controller's channels come from the lab config, so the device class is made for
that set of channels (:func:`snspd_controller`): ``snspd.ch1.bias_ua``,
``snspd.ch1.latched``, ... and ``snspd.reset(1)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from ophyd import Component as Cpt
from ophyd import Device

from qnetlab.instruments._device import DriverDevice, SafeLimits
from qnetlab.instruments._signals import DriverSignal


class SnspdChannel(Device):
    """One bias channel: bias current (µA), wire voltage (V), latch state.

    The channel talks through the controller's driver channel ``ch<n>`` and obeys the
    controller's ``safe_limits`` (the ``bias_ua`` limit applies to every channel).
    """

    bias_ua = Cpt(DriverSignal, kind="config")
    latched = Cpt(DriverSignal, kind="hinted")
    voltage_v = Cpt(DriverSignal, kind="normal")

    def __init__(self, prefix: str = "", *, channel: int, **kwargs: Any):
        self.channel = channel
        super().__init__(prefix, **kwargs)

    @property
    def controller(self) -> SnspdController:
        """The controller this channel belongs to."""
        if not isinstance(self.parent, SnspdController):
            raise RuntimeError(f"{self.name}: an SNSPD channel works only inside an SnspdController")
        return self.parent

    @property
    def driver(self) -> Any:
        """The controller driver's channel ``ch<n>``."""
        return self.controller.driver.channel(self.channel)

    @property
    def safe_limits(self) -> SafeLimits:
        """The controller's safe limits."""
        return self.controller.safe_limits

    def reset(self) -> None:
        """Bring the bias to zero and back (un-latches the wire); blocks until done."""
        self.driver.reset()


class SnspdController(DriverDevice):
    """An SNSPD bias controller; make one with :func:`snspd_controller`.

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over a
    controller driver (``driver.channel(n)`` per channel).
    """

    channel_numbers: tuple[int, ...] = ()

    def channel(self, number: int) -> SnspdChannel:
        """The channel device ``ch<number>``."""
        if number not in self.channel_numbers:
            raise KeyError(f"{self.name}: no channel {number}; channels are {list(self.channel_numbers)}")
        return getattr(self, f"ch{number}")

    def reset(self, channel: int) -> None:
        """Reset ``channel``: bias to zero and back, which un-latches a latched wire."""
        self.channel(channel).reset()


@functools.cache
def _controller_class(channels: tuple[int, ...]) -> type[SnspdController]:
    components = {f"ch{n}": Cpt(SnspdChannel, "", channel=n) for n in channels}
    name = "SnspdController" + "_".join(str(n) for n in channels)
    return type(name, (SnspdController,), {"__module__": __name__, "channel_numbers": channels, **components})


def snspd_controller(
    driver: Any, *, name: str, channels: Iterable[int], safe_limits: SafeLimits | None = None
) -> SnspdController:
    """An :class:`SnspdController` with one sub-device ``ch<n>`` per channel number in ``channels``."""
    return _controller_class(tuple(sorted(channels)))(driver, name=name, safe_limits=safe_limits)

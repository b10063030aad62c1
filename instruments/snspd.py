"""Ophyd device of a multi-channel SNSPD bias controller, its config and builder.

The controller's channels come from the lab config, so the device class is made for
that set of channels (:func:`snspd_controller`): ``snspd.ch1.bias_ua``,
``snspd.ch1.latched``, ... and ``snspd.reset(1)``.
"""

from __future__ import annotations

import functools

from ophyd import Component as Cpt
from ophyd import Device

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.config import ConfigError, ScpiSnspdControllerConfig


class SnspdChannel(Device):
    """One bias channel: bias current (µA), wire voltage (V), latch state.

    The channel talks through the controller's driver channel ``ch<n>`` and obeys the
    controller's ``safe_limits`` (the ``bias_ua`` limit applies to every channel).
    """

    bias_ua = Cpt(DriverSignal, parameter="bias_ua", units="uA", kind="config")
    latched = Cpt(DriverSignal, parameter="latched", read_only=True, kind="hinted")
    voltage_v = Cpt(DriverSignal, parameter="voltage_v", units="V", read_only=True, kind="normal")

    def __init__(self, prefix: str = "", *, channel: int, **kwargs):
        self.channel = channel
        super().__init__(prefix, **kwargs)

    @property
    def driver(self):
        return self.parent.driver.channel(self.channel)

    @property
    def safe_limits(self) -> dict:
        return self.parent.safe_limits

    def reset(self) -> None:
        """Bring the bias to zero and back (un-latches the wire); blocks until done."""
        self.driver.reset()


class SnspdController(Device):
    """An SNSPD bias controller; make one with :func:`snspd_controller`.

    Parameters
    ----------
    driver : a connected controller driver (``driver.channel(n)`` per channel)
    safe_limits : setting name -> (min, max) from the lab config, checked before sending
    """

    channel_numbers: tuple[int, ...] = ()

    def __init__(self, driver, *, name: str, safe_limits: dict | None = None, **kwargs):
        self.driver = driver
        self.safe_limits = dict(safe_limits or {})
        super().__init__(name=name, **kwargs)

    def channel(self, number: int) -> SnspdChannel:
        """The channel device ``ch<number>``."""
        if number not in self.channel_numbers:
            raise KeyError(f"{self.name}: no channel {number}; channels are {list(self.channel_numbers)}")
        return getattr(self, f"ch{number}")

    def reset(self, channel: int) -> None:
        """Reset ``channel``: bias to zero and back, which un-latches a latched wire."""
        self.channel(channel).reset()

    def close(self) -> None:
        self.driver.close()


@functools.cache
def _controller_class(channels: tuple[int, ...]) -> type[SnspdController]:
    components = {f"ch{n}": Cpt(SnspdChannel, "", channel=n) for n in channels}
    name = "SnspdController" + "_".join(str(n) for n in channels)
    return type(name, (SnspdController,), {"__module__": __name__, "channel_numbers": channels, **components})


def snspd_controller(driver, *, name: str, channels, safe_limits: dict | None = None) -> SnspdController:
    """An :class:`SnspdController` with one sub-device ``ch<n>`` per channel number in ``channels``."""
    return _controller_class(tuple(sorted(channels)))(driver, name=name, safe_limits=safe_limits)


def build(name: str, entry: ScpiSnspdControllerConfig, lab) -> SnspdController:
    """The controller device of config entry ``name``; with ``sim``, over an emulator on the world."""
    from qnetlab.drivers.snspd import ScpiSnspdController

    address = entry.address
    if entry.sim:
        from qnetlab.sim_backends.emulators.snspd_emulator import SnspdControllerEmulator
        from qnetlab.sim_backends.world.detectors import SnspdModel

        wires = {}
        for channel, detector in entry.channels.items():
            model = lab.world.detectors.get(detector)
            if not isinstance(model, SnspdModel):
                what = f"is a {type(model).__name__}, not an SNSPD"
                if model is None:
                    what = "is not a detector of the world"
                raise ConfigError(f"instruments.{name}.channels.{channel}: {detector!r} {what}")
            wires[channel] = model
        emulator = SnspdControllerEmulator(wires, lab.world.lock)
        lab.emulators[name] = emulator
        address = emulator.address
    driver = ScpiSnspdController(name, address, channels=sorted(entry.channels), timeout_s=entry.timeout_s)
    device = snspd_controller(driver, name=name, channels=entry.channels, safe_limits=entry.safe_limits())
    try:
        for channel, bias in sorted(entry.bias_ua.items()):
            device.channel(channel).bias_ua.put(bias)
    except Exception:
        driver.close()
        raise
    return device

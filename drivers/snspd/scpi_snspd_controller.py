"""Driver for a multi-channel SNSPD bias controller with a SCPI-style command set.

Provenance of the command set: no public command set found. Single Quantum publishes a
Python client for its Atlas driver, but that protocol is asynchronous JSON over TCP
(labels such as ``BiasCurrent``/``SetAllBiasCurrents``, control port 12000, counts on
port 12345), not a request/reply text protocol, and it has no per-channel latch query;
the remote command sets of ID Quantique (ID281), Quantum Opus and Photon Spot
controllers are not public. So this command set was designed for qnetlab; it follows
SCPI-1999 conventions (numeric suffix for the channel, ``?`` queries, IEEE 488.2
``*IDN?``, ``SYSTem:ERRor?`` queue with SCPI error codes). A real controller needs its
own command strings: they change here only, and the pinned-bytes tests show what is sent.

========================  ===============================================  ================
command                   meaning                                          reply
========================  ===============================================  ================
``*IDN?``                 identification                                   ``QNETLAB,...``
``SOUR<n>:CURR <uA>``     bias current of channel n (µA)                   —
``SOUR<n>:CURR?``         bias current of channel n (µA)                   ``9.500``
``SOUR<n>:RES``           reset: bias to zero, then back (un-latches)      —
``SENS<n>:VOLT?``         DC voltage across the wire (V)                   ``4.750000E-04``
``STAT<n>:LATC?``         wire latched (resistive), from that voltage      ``0`` or ``1``
``SYST:ERR?``             oldest error                                     ``0,"No error"``
========================  ===============================================  ================

No counter: in qnetlab the time tagger counts the clicks.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import cast

from qcodes.instrument import InstrumentChannel
from qcodes.validators import Numbers

from qnetlab.drivers.visa_base import ScpiVisaInstrument


class SnspdBiasChannel(InstrumentChannel):
    """One channel: bias current (µA), wire voltage (V), latch state, reset.

    Parameters
    ----------
    parent : the controller
    name : channel name, ``ch<n>``
    channel : channel number n (1-based, as on the front panel)
    """

    def __init__(self, parent: ScpiSnspdController, name: str, channel: int):
        super().__init__(parent, name)
        self.channel = channel
        self.bias_ua = self.add_parameter(
            "bias_ua",
            unit="uA",
            get_cmd=partial(parent.query_float, f"SOUR{channel}:CURR?"),
            set_cmd=f"SOUR{channel}:CURR {{:.3f}}",
            vals=Numbers(*parent.bias_range_ua),
        )
        self.voltage_v = self.add_parameter(
            "voltage_v", unit="V", get_cmd=partial(parent.query_float, f"SENS{channel}:VOLT?"), set_cmd=False
        )
        self.latched = self.add_parameter(
            "latched", get_cmd=partial(parent.query_bool, f"STAT{channel}:LATC?"), set_cmd=False
        )

    def reset(self) -> None:
        """Bring the bias to zero and back to its set value (un-latches a latched wire)."""
        self.write(f"SOUR{self.channel}:RES")


class ScpiSnspdController(ScpiVisaInstrument):
    """A multi-channel SNSPD bias controller (SCPI-style; see the module docstring).

    Parameters
    ----------
    name : instrument name used in every error message
    address : VISA resource, e.g. ``TCPIP0::10.0.0.7::5025::SOCKET`` or ``ASRL/dev/ttyUSB0::INSTR``
    channels : channel numbers present (1-based); each becomes ``ch<n>``
    timeout_s : reply timeout (s)

    Each channel ``ch<n>`` has ``bias_ua`` (µA, within ``bias_range_ua``), ``voltage_v``
    and ``latched`` (read-only) and ``reset()``.
    """

    bias_range_ua = (0.0, 20.0)

    def __init__(self, name: str, address: str, *, channels: Iterable[int] = (1, 2, 3, 4), **kwargs):
        super().__init__(name, address, **kwargs)
        self.channel_numbers = tuple(sorted(channels))
        for number in self.channel_numbers:
            if number < 1:
                raise ValueError(f"{name}: channel numbers start at 1, got {number}")
            self.add_submodule(f"ch{number}", SnspdBiasChannel(self, f"ch{number}", number))

    def channel(self, number: int) -> SnspdBiasChannel:
        """The channel ``number``; a number not configured raises ``KeyError`` naming those that are."""
        if number not in self.channel_numbers:
            raise KeyError(f"{self.name}: no channel {number}; channels are {list(self.channel_numbers)}")
        return cast("SnspdBiasChannel", self.submodules[f"ch{number}"])

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self.ask("*IDN?")

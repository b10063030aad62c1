"""Emulator of a multi-channel SNSPD bias controller, acting on the world's :class:`SnspdModel` s.

It serves qnetlab's SCPI-style SNSPD command set (designed for qnetlab, no vendor's;
see ``drivers/snspd/scpi_snspd_controller.py``) on a loopback socket:

========================  ===============================================  ================
command                   meaning                                          reply
========================  ===============================================  ================
``*IDN?``                 identification                                   ``QNETLAB,...``
``*CLS``                  clear the error queue                            —
``SOUR<n>:CURR <uA>``     bias current of channel n, 0..20 µA              —
``SOUR<n>:CURR?``         bias current (µA)                                ``9.500``
``SOUR<n>:RES``           bias to zero, then back (un-latches)             —
``SENS<n>:VOLT?``         DC voltage across the wire (V)                   ``4.750000E-04``
``STAT<n>:LATC?``         latched, judged from that voltage                ``0`` or ``1``
``SYST:ERR?``             oldest error                                     ``0,"No error"``
========================  ===============================================  ================

The wire voltage is the bias times the series (lead) resistance while superconducting,
plus the resistance of the self-sustaining hotspot once latched; the controller calls a
channel latched when the voltage shows more than ``LATCH_THRESHOLD_OHM``.
"""

from __future__ import annotations

import re

from qnetlab.sim_backends.emulators.scpi_server import ScpiServer
from qnetlab.sim_backends.world.detectors import SnspdModel

BIAS_RANGE_UA = (0.0, 20.0)
SERIES_RESISTANCE_OHM = 50.0  # leads and bias tee, seen at any bias
HOTSPOT_RESISTANCE_OHM = 5_000.0  # added while the wire is latched
LATCH_THRESHOLD_OHM = 1_000.0

_COMMAND = re.compile(r"^(SOUR|SENS|STAT)(\d+):(CURR|RES|VOLT|LATC)(\?)?(?:\s+(\S+))?$")


class SnspdControllerEmulator(ScpiServer):
    """The SNSPD controller's command set, channel ``n`` acting on ``channels[n]``.

    Parameters
    ----------
    channels : channel number (1-based) -> the detector it biases
    lock : the world's lock, held while a detector changes
    serial : serial number in ``*IDN?``
    """

    name = "snspd-controller"

    def __init__(self, channels: dict[int, SnspdModel], lock, *, serial: str = "SN0001", port: int = 0):
        self._channels = dict(channels)
        self._lock = lock
        self._serial = serial
        super().__init__(port)

    def wire_voltage_v(self, channel: int) -> float:
        """DC voltage across the wire of ``channel`` (V)."""
        model = self._channels[channel]
        resistance = SERIES_RESISTANCE_OHM + (HOTSPOT_RESISTANCE_OHM if model.latched else 0.0)
        return model.bias_ua * 1e-6 * resistance

    def handle(self, line: str) -> str | None:
        text = line.strip().upper()
        if text == "*IDN?":
            return f"QNETLAB,SIM-SNSPD-{len(self._channels)}CH,{self._serial},1.0"
        if text == "*CLS":
            self.clear_errors()
            return None
        if text == "SYST:ERR?":
            return self.pop_error()
        match = _COMMAND.match(text)
        if match is None:
            self.push_error(-113, "Undefined header")
            return None
        subsystem, number, node, query, argument = match.groups()
        channel = int(number)
        if channel not in self._channels:
            self.push_error(-114, "Header suffix out of range")
            return None
        return self._channel_command(f"{subsystem}:{node}{query or ''}", channel, argument)

    def _channel_command(self, command: str, channel: int, argument: str | None) -> str | None:
        model = self._channels[channel]
        if command == "SOUR:CURR?":
            return f"{model.bias_ua:.3f}"
        if command == "SENS:VOLT?":
            return f"{self.wire_voltage_v(channel):.6E}"
        if command == "STAT:LATC?":
            voltage = self.wire_voltage_v(channel)
            latched = model.bias_ua > 0 and voltage > model.bias_ua * 1e-6 * LATCH_THRESHOLD_OHM
            return "1" if latched else "0"
        if command == "SOUR:CURR" and argument is not None:
            self._set_bias(model, argument)
            return None
        if command == "SOUR:RES" and argument is None:
            with self._lock:
                bias = model.bias_ua
                model.set_bias(0.0)
                model.set_bias(bias)
            return None
        self.push_error(-113, "Undefined header")
        return None

    def _set_bias(self, model: SnspdModel, argument: str) -> None:
        value = self.number(argument, *BIAS_RANGE_UA)
        if value is None:
            return
        with self._lock:
            model.set_bias(value)

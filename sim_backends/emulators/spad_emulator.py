"""Emulator of a free-running InGaAs SPAD (ID Qube NIR class), acting on a :class:`SpadModel`.

It serves qnetlab's SCPI-style SPAD command set (designed for qnetlab, no vendor's;
see ``drivers/spad/scpi_free_running_spad.py``) on a loopback socket:

=====================  ================================================  ==================
command                meaning                                           reply
=====================  ================================================  ==================
``*IDN?``              identification                                    ``QNETLAB,...``
``*CLS``               clear the error queue                             —
``DET:EFF <pct>``      efficiency setting: 10, 15, 20, 25 or 30 (%)      —
``DET:EFF?``           efficiency setting (%)                            ``20``
``DET:DEAD <us>``      dead time, 0.1 .. 100 µs, 1 ns steps              —
``DET:DEAD?``          dead time (µs)                                    ``10.000``
``SYST:ERR?``          oldest error                                      ``0,"No error"``
=====================  ================================================  ==================

Any other efficiency answers error -224 "Illegal parameter value"; a dead time out of
range, -222 "Data out of range". Neither changes the detector.
"""

from __future__ import annotations

from qnetlab.sim_backends.emulators.scpi_server import ScpiServer
from qnetlab.sim_backends.world.detectors import SpadModel

EFFICIENCY_SETTINGS_PCT = (10, 15, 20, 25, 30)
DEAD_TIME_RANGE_US = (0.1, 100.0)


class SpadEmulator(ScpiServer):
    """The SPAD's command set on a loopback socket, acting on ``spad`` (holding ``lock``).

    Parameters
    ----------
    spad : the detector whose efficiency and dead time are set
    lock : the world's lock, held while the detector changes
    serial : serial number in ``*IDN?``
    """

    name = "spad"

    def __init__(self, spad: SpadModel, lock, *, serial: str = "SN0001", port: int = 0):
        self._spad = spad
        self._lock = lock
        self._serial = serial
        super().__init__(port)

    def handle(self, line: str) -> str | None:
        command, _, argument = line.strip().partition(" ")
        command = command.upper()
        if command == "*IDN?":
            return f"QNETLAB,SIM-SPAD-NIR,{self._serial},1.0"
        if command == "*CLS":
            self.clear_errors()
            return None
        if command == "SYST:ERR?":
            return self.pop_error()
        if command == "DET:EFF?":
            return f"{round(self._spad.efficiency * 100):d}"
        if command == "DET:DEAD?":
            return f"{self._spad.dead_time_ps / 1e6:.3f}"
        if command == "DET:EFF":
            self._set_efficiency(argument.strip())
            return None
        if command == "DET:DEAD":
            self._set_dead_time(argument.strip())
            return None
        self.push_error(-113, "Undefined header")
        return None

    def _set_efficiency(self, argument: str) -> None:
        try:
            percent = float(argument)
        except ValueError:
            self.push_error(-104, "Data type error")
            return
        if percent not in EFFICIENCY_SETTINGS_PCT:
            self.push_error(-224, "Illegal parameter value")
            return
        with self._lock:
            self._spad.efficiency = percent / 100

    def _set_dead_time(self, argument: str) -> None:
        dead_time_us = self.number(argument, *DEAD_TIME_RANGE_US)
        if dead_time_us is None:
            return
        with self._lock:
            self._spad.dead_time_ps = int(round(dead_time_us * 1e6 / 1000)) * 1000  # 1 ns steps

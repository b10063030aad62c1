"""SCPI emulator of the pulsed laser, bound to the world's :class:`PulsedLaserModel`.

Command set (SCPI-1999 tree; see ``drivers/scpi/scpi_pulsed_laser.py`` for the provenance):

=========================  =====================================  ==================
command                    meaning                                reply
=========================  =====================================  ==================
``*IDN?``                  identification                         ``QNETLAB,SIM-PL...``
``*RST`` / ``*CLS``        reset settings / clear error queue     —
``SOUR:POW <dBm>``         average output power (dBm)             —
``SOUR:POW?``              average output power                   ``-10.000``
``SOUR:WAV <nm>``          centre wavelength (nm)                 —
``SOUR:WAV?``              centre wavelength                      ``1550.000``
``SOUR:PULS:FREQ?``        repetition rate (Hz)                   ``8.000000E+07``
``OUTP <0|1|ON|OFF>``      emission on/off                        —
``OUTP?``                  emission state                         ``0`` or ``1``
``SYST:ERR?``              oldest error in the queue              ``0,"No error"``
=========================  =====================================  ==================
"""

from __future__ import annotations

import collections

from sim_backends.socket_server import LineProtocolServer
from sim_backends.world import OpticalWorld

POWER_RANGE_DBM = (-20.0, 10.0)
WAVELENGTH_RANGE_NM = (1500.0, 1600.0)


class ScpiLaserEmulator(LineProtocolServer):
    """The laser's SCPI command set on a loopback socket, acting on ``world.laser``."""

    name = "laser"

    def __init__(self, world: OpticalWorld, serial: str = "SN0001", port: int = 0):
        self._world = world
        self._serial = serial
        self._errors: collections.deque[str] = collections.deque()
        super().__init__(port)

    def push_error(self, code: int, message: str) -> None:
        """Put a device error into the SCPI error queue (fault injection)."""
        self._errors.append(f'{code},"{message}"')

    def handle(self, line: str) -> str | None:
        command, _, argument = line.strip().partition(" ")
        command = command.upper()
        laser = self._world.laser
        if command == "*IDN?":
            return f"QNETLAB,SIM-PL{laser.wavelength_nm:.0f},{self._serial},1.0"
        if command == "*RST":
            with self._world.lock:
                laser.output_on, laser.power_dbm = False, -10.0
            return None
        if command == "*CLS":
            self._errors.clear()
            return None
        if command == "SYST:ERR?":
            return self._errors.popleft() if self._errors else '0,"No error"'
        if command == "SOUR:POW?":
            return f"{laser.power_dbm:.3f}"
        if command == "SOUR:WAV?":
            return f"{laser.wavelength_nm:.3f}"
        if command == "SOUR:PULS:FREQ?":
            return f"{laser.rep_rate_hz:.6E}"
        if command == "OUTP?":
            return "1" if laser.output_on else "0"
        if command == "SOUR:POW":
            self._set_number(argument, POWER_RANGE_DBM, "power_dbm")
            return None
        if command == "SOUR:WAV":
            self._set_number(argument, WAVELENGTH_RANGE_NM, "wavelength_nm")
            return None
        if command == "OUTP":
            state = {"1": True, "ON": True, "0": False, "OFF": False}.get(argument.strip().upper())
            if state is None:
                self._errors.append('-224,"Illegal parameter value"')
            else:
                with self._world.lock:
                    laser.output_on = state
            return None
        self._errors.append('-113,"Undefined header"')
        return None

    def _set_number(self, argument: str, limits: tuple[float, float], attribute: str) -> None:
        try:
            value = float(argument)
        except ValueError:
            self._errors.append('-104,"Data type error"')
            return
        if not limits[0] <= value <= limits[1]:
            self._errors.append('-222,"Data out of range"')
            return
        with self._world.lock:
            setattr(self._world.laser, attribute, value)

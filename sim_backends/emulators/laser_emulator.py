"""SCPI emulator of Alice's pulsed transmitter, acting on a :class:`TransmitterModel`.

Command set (SCPI-1999 tree; see ``drivers/scpi/scpi_pulsed_laser.py`` for the provenance):

==============================  ==========================================  ==================
command                         meaning                                     reply
==============================  ==========================================  ==================
``*IDN?``                       identification                              ``QNETLAB,SIM-PL...``
``*RST`` / ``*CLS``             reset settings / clear error queue          —
``SOUR:POW <dBm>`` / ``?``      average output power (dBm)                  ``-10.000``
``SOUR:WAV <nm>`` / ``?``       centre wavelength (nm)                      ``1550.000``
``SOUR:PULS:FREQ?``             repetition rate (Hz)                        ``8.000000E+07``
``OUTP <0|1>`` / ``OUTP?``      emission on/off                             ``0`` or ``1``
``SOUR:ENC <NONE|POL|TBIN>``    encoding (which modulator/link is used)     ``POL``
``SOUR:PATT:DATA <hex>`` / ``?`` pattern memory, one hex digit per slot:     ``05A3...``
                                bit | basis<<1 | level<<2 (level 0 signal,
                                1 decoy, 2 vacuum)
``SOUR:PATT:LENG?``             slots in the pattern memory                 ``8192``
``SOUR:PATT:STAT <0|1>`` / ``?`` run the pattern (else plain signal pulses)  ``1``
``SOUR:PATT:LEV <d>,<v>`` / ``?`` decoy and vacuum mean photon number        ``0.2500,0.0000``
                                relative to the signal level
``SYST:ERR?``                   oldest error in the queue                   ``0,"No error"``
==============================  ==========================================  ==================
"""

from __future__ import annotations

import threading

import numpy as np

from qnetlab.sim_backends.emulators.scpi_server import ScpiServer
from qnetlab.sim_backends.world.transmitter import TransmitterModel

POWER_RANGE_DBM = (-20.0, 10.0)
WAVELENGTH_RANGE_NM = (1500.0, 1600.0)
MAX_PATTERN_SLOTS = 1 << 20
ENCODINGS = {"NONE": "none", "POL": "polarization", "TBIN": "time_bin"}
DIGITS = b"0123456789AB"
_DIGIT_OF_CODE = np.frombuffer(DIGITS, np.uint8)  # code -> ASCII digit
_CODE_OF_BYTE = np.full(256, 255, np.uint8)  # ASCII byte (upper or lower case) -> code, 255: not a digit 0-B
_CODE_OF_BYTE[_DIGIT_OF_CODE] = np.arange(len(DIGITS), dtype=np.uint8)
_CODE_OF_BYTE[np.frombuffer(DIGITS.lower(), np.uint8)] = np.arange(len(DIGITS), dtype=np.uint8)


class ScpiLaserEmulator(ScpiServer):
    """The transmitter's SCPI command set on a loopback socket."""

    name = "laser"

    def __init__(self, transmitter: TransmitterModel, lock: threading.RLock, serial: str = "SN0001", port: int = 0):
        self._tx = transmitter
        self._lock = lock
        self._serial = serial
        super().__init__(port)

    def handle(self, line: str) -> str | None:
        command, _, argument = line.strip().partition(" ")
        command = command.upper()
        argument = argument.strip()
        tx = self._tx
        queries = {
            "*IDN?": lambda: f"QNETLAB,SIM-PL{tx.wavelength_nm:.0f},{self._serial},1.0",
            "SYST:ERR?": self.pop_error,
            "SOUR:POW?": lambda: f"{tx.power_dbm:.3f}",
            "SOUR:WAV?": lambda: f"{tx.wavelength_nm:.3f}",
            "SOUR:PULS:FREQ?": lambda: f"{tx.rep_rate_hz:.6E}",
            "OUTP?": lambda: "1" if tx.output_on else "0",
            "SOUR:ENC?": lambda: {v: k for k, v in ENCODINGS.items()}[tx.encoding],
            "SOUR:PATT:DATA?": lambda: _DIGIT_OF_CODE[tx.pattern].tobytes().decode("ascii"),
            "SOUR:PATT:LENG?": lambda: str(tx.pattern.size),
            "SOUR:PATT:STAT?": lambda: "1" if tx.pattern_on else "0",
            "SOUR:PATT:LEV?": lambda: f"{tx.level_ratios[1]:.4f},{tx.level_ratios[2]:.4f}",
        }
        if command in queries:
            return queries[command]()
        setters = {
            "*RST": self._reset,
            "*CLS": lambda _: self.clear_errors(),
            "SOUR:POW": lambda a: self._set_number(a, POWER_RANGE_DBM, "power_dbm"),
            "SOUR:WAV": lambda a: self._set_number(a, WAVELENGTH_RANGE_NM, "wavelength_nm"),
            "OUTP": lambda a: self._set_flag(a, "output_on"),
            "SOUR:PATT:STAT": lambda a: self._set_flag(a, "pattern_on"),
            "SOUR:ENC": self._set_encoding,
            "SOUR:PATT:DATA": self._set_pattern,
            "SOUR:PATT:LEV": self._set_levels,
        }
        if command in setters:
            setters[command](argument)
        else:
            self.push_error(-113, "Undefined header")
        return None

    def _reset(self, _argument: str) -> None:
        with self._lock:
            self._tx.output_on, self._tx.power_dbm, self._tx.pattern_on = False, -10.0, False

    def _set_number(self, argument: str, limits: tuple[float, float], attribute: str) -> None:
        value = self.number(argument, *limits)
        if value is None:
            return
        with self._lock:
            setattr(self._tx, attribute, value)

    def _set_flag(self, argument: str, attribute: str) -> None:
        state = {"1": True, "ON": True, "0": False, "OFF": False}.get(argument.upper())
        if state is None:
            return self.push_error(-224, "Illegal parameter value")
        with self._lock:
            setattr(self._tx, attribute, state)

    def _set_encoding(self, argument: str) -> None:
        encoding = ENCODINGS.get(argument.upper())
        if encoding is None:
            return self.push_error(-224, "Illegal parameter value")
        with self._lock:
            self._tx.encoding = encoding

    def _set_pattern(self, argument: str) -> None:
        if not argument or len(argument) > MAX_PATTERN_SLOTS:
            return self.push_error(-223, "Too much data" if argument else "Missing parameter")
        values = _CODE_OF_BYTE[np.frombuffer(argument.encode("ascii", errors="replace"), np.uint8)]
        if (values == 255).any():
            return self.push_error(-224, "Illegal parameter value")
        with self._lock:
            self._tx.pattern = values

    def _set_levels(self, argument: str) -> None:
        try:
            decoy, vacuum = (float(x) for x in argument.split(","))
        except ValueError:
            return self.push_error(-104, "Data type error")
        if not (0.0 <= vacuum <= decoy <= 1.0):
            return self.push_error(-222, "Data out of range")
        with self._lock:
            self._tx.level_ratios = (1.0, decoy, vacuum)

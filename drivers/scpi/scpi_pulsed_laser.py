"""Driver for a pulsed laser source with a SCPI interface.

Provenance of the command set: the subsystem names follow the SCPI-1999 standard tree
(``SOURce:POWer``, ``SOURce:WAVelength``, ``SOURce:PULSe:FREQuency``, ``OUTPut``,
``SYSTem:ERRor?``, IEEE 488.2 ``*IDN?``/``*RST``/``*CLS``), with power in dBm and
wavelength in nm. No vendor manual of a QKD transmitter laser was available to pin
vendor-specific spellings; a real model whose syntax differs changes the command
strings here only, and the pinned-bytes tests show exactly what is sent.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from qcodes.validators import Bool, Enum, Numbers

from qnetlab.drivers.errors import MalformedReply
from qnetlab.drivers.visa_base import ScpiVisaInstrument

HEX_DIGITS = "0123456789AB"
MAX_PATTERN_SLOTS = 1 << 20
_DIGIT_OF_CODE = np.frombuffer(HEX_DIGITS.encode("ascii"), np.uint8)  # code -> ASCII digit
_CODE_OF_BYTE = np.full(256, 255, np.uint8)  # ASCII byte -> code (255: not a digit 0-B)
_CODE_OF_BYTE[_DIGIT_OF_CODE] = np.arange(len(HEX_DIGITS), dtype=np.uint8)
_CODE_OF_BYTE[np.frombuffer(HEX_DIGITS.lower().encode("ascii"), np.uint8)] = np.arange(len(HEX_DIGITS), dtype=np.uint8)


class ScpiPulsedLaser(ScpiVisaInstrument):
    """A pulsed QKD transmitter: output, power (dBm), wavelength (nm), repetition rate (Hz),
    and a pattern memory of per-slot codes ``bit | basis << 1 | level << 2``
    (basis 0 = Z, 1 = X; level 0 signal, 1 decoy, 2 vacuum), sent as one hex digit per slot.
    """

    power_range_dbm = (-20.0, 10.0)
    wavelength_range_nm = (1500.0, 1600.0)

    def __init__(self, name: str, address: str, **kwargs):
        super().__init__(name, address, **kwargs)
        self.power_dbm = self.add_parameter(
            "power_dbm",
            unit="dBm",
            get_cmd=partial(self.query_float, "SOUR:POW?"),
            set_cmd="SOUR:POW {:.3f}",
            vals=Numbers(*self.power_range_dbm),
        )
        self.wavelength_nm = self.add_parameter(
            "wavelength_nm",
            unit="nm",
            get_cmd=partial(self.query_float, "SOUR:WAV?"),
            set_cmd="SOUR:WAV {:.3f}",
            vals=Numbers(*self.wavelength_range_nm),
        )
        self.rep_rate_hz = self.add_parameter(
            "rep_rate_hz", unit="Hz", get_cmd=partial(self.query_float, "SOUR:PULS:FREQ?"), set_cmd=False
        )
        self.output = self.add_parameter(
            "output",
            get_cmd=partial(self.query_bool, "OUTP?"),
            set_cmd="OUTP {:d}",
            set_parser=int,
            vals=Bool(),
        )

        self.encoding = self.add_parameter(
            "encoding",
            get_cmd="SOUR:ENC?",
            set_cmd="SOUR:ENC {}",
            vals=Enum("NONE", "POL", "TBIN"),
        )
        self.pattern_running = self.add_parameter(
            "pattern_running",
            get_cmd=partial(self.query_bool, "SOUR:PATT:STAT?"),
            set_cmd="SOUR:PATT:STAT {:d}",
            set_parser=int,
            vals=Bool(),
        )

    def set_levels(self, decoy_ratio: float, vacuum_ratio: float) -> None:
        """Decoy and vacuum mean photon numbers relative to the signal level (0 <= v <= d <= 1)."""
        if not 0.0 <= vacuum_ratio <= decoy_ratio <= 1.0:
            raise ValueError(
                f"{self.name}: need 0 <= vacuum_ratio <= decoy_ratio <= 1, got {decoy_ratio}, {vacuum_ratio}"
            )
        self.write(f"SOUR:PATT:LEV {decoy_ratio:.4f},{vacuum_ratio:.4f}")

    def levels(self) -> tuple[float, float]:
        """(decoy, vacuum) mean photon numbers relative to the signal level."""
        reply = self.ask("SOUR:PATT:LEV?")
        try:
            decoy, vacuum = (float(x) for x in reply.split(","))
        except ValueError:
            raise MalformedReply(self.name, "SOUR:PATT:LEV?", f"expected two numbers, got {reply!r}") from None
        return decoy, vacuum

    def upload_pattern(self, codes) -> None:
        """Write the pattern memory (uint8 codes 0..11, one per slot)."""
        codes = np.asarray(codes)
        if codes.ndim != 1 or not 0 < codes.size <= MAX_PATTERN_SLOTS:
            raise ValueError(f"{self.name}: a pattern is 1 to {MAX_PATTERN_SLOTS} slots, got shape {codes.shape}")
        if codes.min() < 0 or codes.max() > 11:
            raise ValueError(
                f"{self.name}: pattern codes must be 0..11 (level 3 does not exist), got {codes.min()}..{codes.max()}"
            )
        digits = _DIGIT_OF_CODE[codes.astype(np.uint8)].tobytes().decode("ascii")  # one table look-up per slot
        self.write("SOUR:PATT:DATA " + digits)

    def pattern(self) -> np.ndarray:
        """The pattern memory as uint8 codes."""
        reply = self.ask("SOUR:PATT:DATA?")
        codes = _CODE_OF_BYTE[np.frombuffer(reply.encode("ascii", errors="replace"), np.uint8)]
        if not codes.size or (codes == 255).any():
            raise MalformedReply(self.name, "SOUR:PATT:DATA?", f"expected hex digits 0-B, got {reply[:20]!r}...")
        return codes

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self.ask("*IDN?")

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

from qcodes.validators import Bool, Numbers

from drivers.visa_base import ScpiVisaInstrument


class ScpiPulsedLaser(ScpiVisaInstrument):
    """A pulsed laser: output on/off, average power (dBm), wavelength (nm), repetition rate (Hz)."""

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

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self.ask("*IDN?")

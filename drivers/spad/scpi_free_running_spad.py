"""Driver for a free-running InGaAs/InP SPAD (ID Quantique ID Qube NIR class), SCPI-style.

Provenance of the command set: no public command set found for the ID Qube NIR (nor
for similar free-running InGaAs detectors) in the documentation and code searched, so
this command set was designed for qnetlab; it follows SCPI-1999 conventions (``?``
queries, IEEE 488.2 ``*IDN?``, ``SYSTem:ERRor?`` queue with SCPI error codes). A real
detector needs its own command strings: they change here only, and the pinned-bytes
tests show what is sent. The efficiency settings and dead-time range below are this
driver's, chosen to resemble the instrument class, not a vendor's specification.

=====================  ================================================  ==================
command                meaning                                           reply
=====================  ================================================  ==================
``*IDN?``              identification                                    ``QNETLAB,...``
``DET:EFF <pct>``      efficiency setting: 10, 15, 20, 25 or 30 (%)      —
``DET:EFF?``           efficiency setting (%)                            ``20``
``DET:DEAD <us>``      dead time (µs)                                    —
``DET:DEAD?``          dead time (µs)                                    ``10.000``
``SYST:ERR?``          oldest error                                      ``0,"No error"``
=====================  ================================================  ==================
"""

from __future__ import annotations

from functools import partial

from qcodes.validators import Enum, Numbers

from qnetlab.drivers.errors import MalformedReply
from qnetlab.drivers.visa_base import ScpiVisaInstrument


class ScpiFreeRunningSpad(ScpiVisaInstrument):
    """A free-running SPAD: efficiency setting (fraction) and dead time (µs).

    Parameters
    ----------
    name : instrument name used in every error message
    address : VISA resource, e.g. ``ASRL/dev/ttyUSB0::INSTR`` or ``TCPIP0::127.0.0.1::5000::SOCKET``
    timeout_s : reply timeout (s)

    ``efficiency`` is a fraction (0.10 ... 0.30, one of ``efficiency_settings``), sent
    as whole percent; ``dead_time_us`` is in µs, within ``dead_time_range_us``.
    """

    efficiency_settings = (0.10, 0.15, 0.20, 0.25, 0.30)
    dead_time_range_us = (0.1, 100.0)

    def __init__(self, name: str, address: str, **kwargs):
        super().__init__(name, address, **kwargs)
        self.efficiency = self.add_parameter(
            "efficiency",
            get_cmd=self._get_efficiency,
            set_cmd="DET:EFF {:d}",
            set_parser=lambda fraction: round(fraction * 100),
            vals=Enum(*self.efficiency_settings),
            docstring="detection efficiency setting, a fraction (sent in whole percent)",
        )
        self.dead_time_us = self.add_parameter(
            "dead_time_us",
            unit="us",
            get_cmd=partial(self.query_float, "DET:DEAD?"),
            set_cmd="DET:DEAD {:.3f}",
            vals=Numbers(*self.dead_time_range_us),
        )

    def _get_efficiency(self) -> float:
        reply = self.ask("DET:EFF?")
        try:
            return int(reply) / 100
        except ValueError:
            raise MalformedReply(self.name, "DET:EFF?", f"expected whole percent, got {reply!r}") from None

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self.ask("*IDN?")

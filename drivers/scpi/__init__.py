"""Instruments that speak the generic SCPI-1999 command tree."""

from qnetlab.drivers.scpi.scpi_pulsed_laser import ScpiPulsedLaser

__all__ = ["ScpiPulsedLaser"]

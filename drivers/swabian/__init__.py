"""Swabian Instruments time taggers."""

from qnetlab.drivers.swabian.swabian_timetagger import SwabianTimeTagger

__all__ = ["SwabianTimeTagger"]

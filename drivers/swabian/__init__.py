"""Swabian Instruments time taggers."""

from drivers.swabian.swabian_timetagger import SwabianTimeTagger

__all__ = ["SwabianTimeTagger"]

"""Ophyd device of a free-running InGaAs SPAD (ID Qube NIR class)."""

from __future__ import annotations

from ophyd import Component as Cpt

from qnetlab.instruments._device import DriverDevice
from qnetlab.instruments._signals import DriverSignal


class Spad(DriverDevice):
    """Free-running SPAD settings: efficiency (fraction, discrete) and dead time (µs).

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over a SPAD driver.
    """

    efficiency = Cpt(DriverSignal, kind="config")
    dead_time_us = Cpt(DriverSignal, kind="config")

"""Ophyd device of a piezo controller output (Thorlabs MDT693B/MDT694B).

In the lab it sets the phase of Bob's time-bin interferometer: one controller axis
drives the piezo phase shifter of one interferometer arm.
"""

from __future__ import annotations

from ophyd import Component as Cpt

from qnetlab.instruments._device import DriverPositioner
from qnetlab.instruments._signals import DriverSignal


class Piezo(DriverPositioner):
    """One piezo output: drive voltage (V) and the controller's limit switch (V).

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over an MDT69xB
    driver whose ``voltage_v`` is the axis in use. The device is ``Movable``/``Locatable``
    through ``voltage_v``: ``piezo.set(30.0)``.
    """

    voltage_v = Cpt(DriverSignal, kind="hinted")
    voltage_limit_v = Cpt(DriverSignal, kind="config")

    position_signal = "voltage_v"

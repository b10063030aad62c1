"""Ophyd device of a motorized rotation mount holding a waveplate (over ThorlabsK10CR1)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd.status import Status

from qnetlab.instruments._device import DriverPositioner, run_in_thread
from qnetlab.instruments._signals import DriverSignal, MoveSignal


class RotationMount(DriverPositioner):
    """Waveplate in a motorized rotation mount: ``angle_deg`` (Movable), ``velocity_deg_s``, ``home()``.

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over a
    rotation-mount driver (``angle_deg``, ``velocity_deg_s``, ``home()``).
    ``mount.set(45.0)`` rotates to 45 deg.
    """

    angle_deg = Cpt(MoveSignal, kind="hinted")
    velocity_deg_s = Cpt(DriverSignal, kind="config")

    position_signal = "angle_deg"

    def home(self) -> Status:
        """Home the mount; the Status finishes when the device reports it homed."""
        return run_in_thread(self, self.driver.home)

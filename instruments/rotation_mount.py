"""Ophyd device of a motorized rotation mount holding a waveplate (over ThorlabsK10CR1)."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Signal
from ophyd.status import Status

from qnetlab.instruments._device import DriverPositioner, run_in_thread
from qnetlab.instruments._signals import DriverSignal, MoveSignal


class RotationMount(DriverPositioner):
    """Waveplate in a motorized rotation mount: ``angle_deg`` (Movable), ``velocity_deg_s``, ``home()``.

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over a
    rotation-mount driver (``angle_deg``, ``velocity_deg_s``, ``home()``).
    ``mount.set(45.0)`` rotates to 45 deg. ``zero_offset_deg`` (configuration, from the
    config entry) is the calibrated reading at which the plate's fast axis is horizontal:
    nothing here applies it, plans that set polarization states do
    (:func:`qnetlab.plans.entanglement.pair_analyzers`).
    """

    angle_deg = Cpt(MoveSignal, kind="hinted")
    velocity_deg_s = Cpt(DriverSignal, kind="config")
    zero_offset_deg = Cpt(Signal, value=0.0, kind="config")

    position_signal = "angle_deg"

    def __init__(self, driver: Any, *, name: str, zero_offset_deg: float = 0.0, **kwargs: Any):
        super().__init__(driver, name=name, **kwargs)
        self.zero_offset_deg.put(float(zero_offset_deg))

    def home(self) -> Status:
        """Home the mount; the Status finishes when the device reports it homed."""
        return run_in_thread(self, self.driver.home)

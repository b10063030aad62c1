"""Ophyd device of a motorized three-paddle fiber polarization controller (over ThorlabsMPC320)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd.status import Status

from qnetlab.instruments._device import DriverDevice, run_in_thread
from qnetlab.instruments._signals import DriverSignal, MoveSignal


class PolarizationController(DriverDevice):
    """Three fiber paddles: ``paddle1_deg`` .. ``paddle3_deg`` (Movable, 0-170 deg), ``velocity_pct`` (%).

    Built like every :class:`~qnetlab.instruments._device.DriverDevice`, over a
    paddle-controller driver.
    """

    paddle1_deg = Cpt(MoveSignal, kind="hinted")
    paddle2_deg = Cpt(MoveSignal, kind="hinted")
    paddle3_deg = Cpt(MoveSignal, kind="hinted")
    velocity_pct = Cpt(DriverSignal, kind="config")

    @property
    def paddles(self) -> tuple[MoveSignal, MoveSignal, MoveSignal]:
        """The three paddle signals, in order along the fiber."""
        return (self.paddle1_deg, self.paddle2_deg, self.paddle3_deg)

    def home(self, paddle: int) -> Status:
        """Home one paddle (1, 2 or 3); the Status finishes when the device reports it homed."""
        return run_in_thread(self, lambda: self.driver.home(paddle))

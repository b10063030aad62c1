"""Actuators of the simulated bench: the state that emulators write and the optics read.

Emulators change these objects' attributes (holding ``world.lock``); the world's optics
read them when they compute what the detectors see. Angles in degrees, voltages in volts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, MountZeroDeg, Positive


def waveplate_jones(retardance_waves: float, angle_deg: float) -> np.ndarray:
    """Jones matrix (2x2 complex, SU(2)) of a waveplate with its fast axis at ``angle_deg``.

    ``retardance_waves`` is the retardance in waves: 0.5 for a half-wave plate, 0.25 for
    a quarter-wave plate. Basis (H, V).
    """
    delta = 2 * np.pi * retardance_waves
    theta = np.deg2rad(angle_deg)
    c, s = np.cos(theta), np.sin(theta)
    rotation = np.array([[c, -s], [s, c]])
    retarder = np.diag([np.exp(-0.5j * delta), np.exp(0.5j * delta)])
    return rotation @ retarder @ rotation.T


@dataclass
class Waveplate:
    """A waveplate in a motorized rotation mount (e.g. Thorlabs K10CR1).

    Attributes
    ----------
    retardance_waves : 0.5 (HWP) or 0.25 (QWP), > 0
    angle_deg : fast-axis angle from horizontal (deg), any real number (mod 180 physically);
        the mount turns it, a config gives the angle it starts at
    mount_zero_deg : where the plate sits in its mount: the mount's reading when the fast axis
        is horizontal (deg, within ±90), so a mount reading m holds the axis at m − mount_zero_deg.
        The truth a calibration measures; the lab's belief is the instrument entry's ``zero_offset_deg``.
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    retardance_waves: Positive = 0.5
    angle_deg: float = 0.0
    mount_zero_deg: MountZeroDeg = 0.0

    @property
    def mount_deg(self) -> float:
        """The reading of the mount holding this plate (deg): ``angle_deg + mount_zero_deg``."""
        return self.angle_deg + self.mount_zero_deg

    @mount_deg.setter
    def mount_deg(self, reading_deg: float) -> None:
        self.angle_deg = reading_deg - self.mount_zero_deg

    def jones(self) -> np.ndarray:
        return waveplate_jones(self.retardance_waves, self.angle_deg)


@dataclass
class PaddleController:
    """A three-paddle fiber polarization controller (e.g. Thorlabs MPC320).

    Each paddle is a fiber loop acting as a waveplate whose fast axis turns with the paddle.
    The lab config's ``world.actuators`` (``kind: paddle_controller``) validates this class
    directly: its parameters are declared once, here.

    Attributes
    ----------
    retardances_waves : retardance of paddles 1, 2, 3 (waves, > 0): the loops' λ/4, λ/2, λ/4
    angles_deg : paddle angles at power-on (deg); the emulator turns ``paddles``
    paddles : state: the three paddles now, light passes paddle 1 first
    travel_deg : (min, max) paddle angle the hardware allows (deg), the MPC320's
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    retardances_waves: tuple[Positive, Positive, Positive] = (0.25, 0.5, 0.25)
    angles_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    paddles: list[Waveplate] = field(init=False, repr=False)
    travel_deg: ClassVar[tuple[float, float]] = (0.0, 170.0)

    def __post_init__(self) -> None:
        self.paddles = [Waveplate(r, a) for r, a in zip(self.retardances_waves, self.angles_deg, strict=True)]

    def jones(self) -> np.ndarray:
        """Jones matrix of the three paddles in sequence."""
        total = np.eye(2, dtype=complex)
        for paddle in self.paddles:
            total = paddle.jones() @ total
        return total


@dataclass
class PhaseShifter:
    """A piezo-driven phase shifter in an interferometer arm (e.g. behind a Thorlabs MDT693B).

    Attributes
    ----------
    voltage_v : drive voltage (V); the piezo controller's setting, 0 V at power-on
    v_2pi_v : voltage for a 2π phase change (V), > 0
    voltage_range_v : (min, max) output of the driver (V)
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    voltage_v: float = 0.0
    v_2pi_v: Positive = 60.0
    voltage_range_v: tuple[float, float] = (0.0, 150.0)

    def phase_rad(self) -> float:
        return 2 * np.pi * self.voltage_v / self.v_2pi_v

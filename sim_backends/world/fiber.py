"""Fiber channels of the simulated world: loss and drifting polarization.

(The time-bin phase drift is not the fiber's: both time bins share the fiber, so only the
interferometers' arm difference drifts it; see :class:`~qnetlab.sim_backends.world.links.TimeBinBB84Link`.)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG_WITH_INF, DriftTimeS, LengthKm, LossDbPerKm
from qnetlab.sim_backends.world.polarization import random_su2, su2_from_vector


@dataclass
class FiberModel:
    """A single-mode fiber span.

    Its parameters are declared once, here; the lab config's ``world.fibers`` validates
    this class directly (``instruments/world_config.py``), which refuses ``rotation``.

    Attributes
    ----------
    length_km : span length (km), 0..20000
    loss_db_per_km : attenuation coefficient (dB/km), 0..10; 0.2 dB/km is standard SMF-28 at 1550 nm
    rotation : state: Jones matrix (SU(2)) of the span now (identity unless given)
    polarization_drift_time_s : τ of the random walk on SU(2): each component of the
        rotation vector diffuses by √(dt/τ) rad over dt (s, > 0; inf: no drift)
    initial_rotation : the rotation a lab's span starts with (:meth:`at_power_on`):
        ``identity`` or ``random`` (Haar-random SU(2), drawn from the world's seed)
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG_WITH_INF

    length_km: LengthKm = 0.0
    loss_db_per_km: LossDbPerKm = 0.2
    rotation: np.ndarray = field(default_factory=lambda: np.eye(2, dtype=complex))
    polarization_drift_time_s: DriftTimeS = math.inf
    initial_rotation: Literal["identity", "random"] = "identity"

    def at_power_on(self, rng: np.random.Generator) -> FiberModel:
        """A fresh copy of this span as a lab starts it: its rotation the identity, or
        Haar-random drawn from ``rng`` when ``initial_rotation`` is ``random``."""
        start = random_su2(rng) if self.initial_rotation == "random" else np.eye(2, dtype=complex)
        return dataclasses.replace(self, rotation=start)

    def transmission(self) -> float:
        """Power transmission of the span, 10^(−α·L/10)."""
        return 10 ** (-self.loss_db_per_km * self.length_km / 10)

    def drift(self, dt_s: float, rng: np.random.Generator) -> None:
        """Let the polarization random-walk for ``dt_s`` seconds."""
        if dt_s <= 0:
            return
        if math.isfinite(self.polarization_drift_time_s):
            steps = max(1, math.ceil(dt_s / (self.polarization_drift_time_s / 50)))
            sigma = math.sqrt(dt_s / steps / self.polarization_drift_time_s)
            for vector in rng.normal(0.0, sigma, size=(steps, 3)):
                self.rotation = su2_from_vector(vector) @ self.rotation

"""Fiber channels of the simulated world: loss and drifting polarization.

(The time-bin phase drift is not the fiber's: both time bins share the fiber, so only the
interferometers' arm difference drifts it; see :class:`~qnetlab.sim_backends.world.links.TimeBinBB84Link`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qnetlab.sim_backends.world.polarization import su2_from_vector


@dataclass
class FiberModel:
    """A single-mode fiber span.

    Attributes
    ----------
    length_km : span length (km)
    loss_db_per_km : attenuation coefficient (dB/km); 0.2 dB/km is standard SMF-28 at 1550 nm
    rotation : Jones matrix (SU(2)) of the span now
    polarization_drift_time_s : τ of the random walk on SU(2): each component of the
        rotation vector diffuses by √(dt/τ) rad over dt (inf: no drift)
    """

    length_km: float = 0.0
    loss_db_per_km: float = 0.2
    rotation: np.ndarray = field(default_factory=lambda: np.eye(2, dtype=complex))
    polarization_drift_time_s: float = math.inf

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

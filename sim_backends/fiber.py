"""Fiber channels of the simulated world."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FiberModel:
    """A single-mode fiber span.

    Attributes
    ----------
    length_km : span length (km)
    loss_db_per_km : attenuation coefficient (dB/km); 0.2 dB/km is standard SMF-28 at 1550 nm
    """

    length_km: float = 0.0
    loss_db_per_km: float = 0.2

    def transmission(self) -> float:
        """Power transmission of the span, 10^(−α·L/10)."""
        return 10 ** (-self.loss_db_per_km * self.length_km / 10)

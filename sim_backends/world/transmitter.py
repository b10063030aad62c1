"""Alice's transmitter: a pulsed laser with a pattern memory of (basis, bit, intensity level)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qnetlab.sim_backends.world.bounds import Fraction, TimeBinSeparationPs
from qnetlab.sim_backends.world.sources import PulsedLaserModel

LEVELS = ("signal", "decoy", "vacuum")
_PLAIN_PULSES = np.zeros(1, np.uint8)
ENCODINGS = ("none", "polarization", "time_bin")


def encode_slots(basis: np.ndarray, bit: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Pattern codes: bit | basis << 1 | level << 2 (one uint8 per slot)."""
    return (np.asarray(bit, np.uint8) | (np.asarray(basis, np.uint8) << 1) | (np.asarray(level, np.uint8) << 2)).astype(
        np.uint8
    )


def decode_slots(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(basis, bit, level) arrays from pattern codes."""
    codes = np.asarray(codes, np.uint8)
    return (codes >> 1) & 1, codes & 1, (codes >> 2) & 3


@dataclass
class TransmitterModel(PulsedLaserModel):
    """A pulsed laser whose pulses follow a repeating pattern of states and intensities.

    Attributes
    ----------
    encoding : one of :data:`ENCODINGS` — which link the output feeds
    decoy_ratio, vacuum_ratio : mean photon number of the decoy and vacuum levels relative
        to signal (fractions; also :attr:`level_ratios`)
    time_bin_separation_ps : early-late separation of time-bin states (ps), up to 1 µs
    pattern : state: uint8 codes per slot (see :func:`encode_slots`); slot s uses pattern[s % L]
    pattern_on : state: when False every pulse is a signal-level |H> (or early) pulse
    """

    encoding: str = "none"
    decoy_ratio: Fraction = 0.25
    vacuum_ratio: Fraction = 0.0
    time_bin_separation_ps: TimeBinSeparationPs = 2_000
    pattern: np.ndarray = field(default_factory=lambda: np.zeros(1, np.uint8), init=False)
    pattern_on: bool = field(default=False, init=False)

    @property
    def level_ratios(self) -> tuple[float, float, float]:
        """Mean photon number of (signal, decoy, vacuum) relative to signal."""
        return (1.0, self.decoy_ratio, self.vacuum_ratio)

    @level_ratios.setter
    def level_ratios(self, ratios: tuple[float, float, float]) -> None:
        _, self.decoy_ratio, self.vacuum_ratio = (float(r) for r in ratios)

    def active_pattern(self) -> np.ndarray:
        """The codes in force: the memory when running, else one signal Z0 slot."""
        return self.pattern if self.pattern_on else _PLAIN_PULSES

    def codes_in_use(self) -> np.ndarray:
        """The distinct codes of the active pattern (cached per pattern array)."""
        pattern = self.active_pattern()
        cached = getattr(self, "_codes_cache", None)
        if cached is None or cached[0] is not pattern:
            cached = (pattern, np.unique(pattern))
            self._codes_cache = cached
        return cached[1]

    def mean_photons_by_code(self) -> np.ndarray:
        """Mean photon number of each of the 16 possible codes (indexed by code)."""
        mu = self.mean_photon_number()
        ratios = np.array([*self.level_ratios, 0.0])
        codes = np.arange(16, dtype=np.uint8)
        return mu * ratios[(codes >> 2) & 3]

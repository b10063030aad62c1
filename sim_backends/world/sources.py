"""Light sources of the simulated world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, AttenuationDb, Positive, RatePositive

PLANCK_J_S = 6.62607015e-34
SPEED_OF_LIGHT_M_S = 299_792_458.0


@dataclass
class PulsedLaserModel:
    """A gain-switched pulsed laser followed by a fixed attenuator.

    Attributes
    ----------
    rep_rate_hz : pulse repetition rate (Hz), up to 10 GHz
    power_dbm : average optical power at the laser output, before the attenuator (dBm);
        the laser instrument's setting (-10 dBm at power-on)
    wavelength_nm : centre wavelength (nm)
    attenuation_db : fixed attenuation between laser and fiber (dB), 0..200
    output_on : whether the laser emits at all; the laser instrument's setting (on at power-on)
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    rep_rate_hz: RatePositive = 80e6
    power_dbm: float = -10.0
    wavelength_nm: Positive = 1550.0
    attenuation_db: AttenuationDb = 70.0
    output_on: bool = True

    @property
    def period_ps(self) -> float:
        """Time between pulses (ps)."""
        return 1e12 / self.rep_rate_hz

    def photon_energy_j(self) -> float:
        """Energy of one photon at the centre wavelength (J)."""
        return PLANCK_J_S * SPEED_OF_LIGHT_M_S / (self.wavelength_nm * 1e-9)

    def mean_photon_number(self) -> float:
        """Mean photon number per pulse after the attenuator (coherent state, Poisson)."""
        if not self.output_on:
            return 0.0
        power_w = 1e-3 * 10 ** (self.power_dbm / 10)
        photons_per_pulse = power_w / self.photon_energy_j() / self.rep_rate_hz
        return photons_per_pulse * 10 ** (-self.attenuation_db / 10)

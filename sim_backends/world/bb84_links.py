"""The BB84 receivers: polarization (fiber rotation, Bob's paddles) and time-bin (an
unbalanced interferometer). Each gives its detectors' mean photons per pattern code."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG_WITH_INF, DriftTimeS, Fraction, PhaseRad
from qnetlab.sim_backends.world.eavesdropper import intercept_resend
from qnetlab.sim_backends.world.jones import jones_of
from qnetlab.sim_backends.world.polarization import BB84_KETS, analyzer_probabilities
from qnetlab.sim_backends.world.pulsed_links import PulsedLink
from qnetlab.sim_backends.world.transmitter import decode_slots

_BASIS_OF_CODE, _BIT_OF_CODE, _ = decode_slots(np.arange(16, dtype=np.uint8))
_STATE_OF_CODE = 2 * _BASIS_OF_CODE + _BIT_OF_CODE  # row of BB84_KETS sent by each pattern code


@dataclass
class PolarizationBB84Link(PulsedLink):
    """Polarization BB84: fiber rotation, Bob's paddle controller, passive BB84 receiver.

    ``detectors`` maps roles H, V, D, A (any of them) to detector names. Bob's 50:50
    splitter sends half the light to a Z analyzer (H/V) and half to an X analyzer (D/A);
    each analyzer leaks ``misalignment`` (0..1) of the light to the wrong port (the QBER
    floor). ``controller``: the paddle controller in front of the receiver (None: none);
    ``eavesdropper``: an intercept-resend Eve on the fiber (QBER 1/4,
    sim_backends/world/eavesdropper.py).
    """

    kind: ClassVar[str] = "polarization_bb84"
    roles: ClassVar[tuple[str, ...] | None] = ("H", "V", "D", "A")
    encoding = "polarization"

    controller: str | None = None
    misalignment: Fraction = 0.01
    eavesdropper: bool = False

    def rotation(self, world) -> np.ndarray:
        """Jones matrix from Alice's output to Bob's analyzers."""
        fiber = world.fibers[self.fiber].rotation
        controller = jones_of(world.actuators[self.controller]) if self.controller else np.eye(2)
        return controller @ fiber

    def modes(self, world):
        source = world.transmitters[self.transmitter]
        mu = source.mean_photons_by_code() * self.channel_transmission(world) * 0.5
        arriving = BB84_KETS @ self.rotation(world).T  # row i: rotation @ (H, V, D, A)[i]
        per_state = analyzer_probabilities(arriving, self.misalignment)
        if self.eavesdropper:
            per_state = intercept_resend(per_state)
        return [
            (self.detectors[role], 0, mu * per_state[role][_STATE_OF_CODE]) for role in "HVDA" if role in self.detectors
        ]


@dataclass
class TimeBinBB84Link(PulsedLink):
    """Time-bin BB84: Z basis by arrival time, X basis through an unbalanced interferometer.

    Alice sends |early> (Z0), |late> (Z1) or (|early> ± |late>)/√2 (X0, X1).
    Bob's 50:50 splitter sends half to detector Z (the arrival time is the bit) and half
    into a Mach-Zehnder with an arm difference equal to the bin separation, whose phase
    φ = piezo (``phase_shifter``, None: none) + interferometer drift + ``phase_offset_rad``
    (rad, |φ0| <= 2π); its outputs X0/X1 see three time positions, the middle one
    interfering: (1 ± V·cos φ)/4 of the light for an X0 state (V = ``visibility``, 0..1).

    The drift is the interferometers' (Alice's and Bob's arm differences, thermal and
    acoustic), not the fiber's (both bins share the fiber): ``interferometer_phase_rad``
    (state) random-walks by √(dt/τ) rad over dt, τ = ``interferometer_drift_time_s``
    (s, > 0; inf: none).
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG_WITH_INF
    kind: ClassVar[str] = "time_bin_bb84"
    roles: ClassVar[tuple[str, ...] | None] = ("Z", "X0", "X1")
    required_roles: ClassVar[tuple[str, ...]] = ("Z", "X0", "X1")
    encoding = "time_bin"

    phase_shifter: str | None = None
    visibility: Fraction = 0.98
    phase_offset_rad: PhaseRad = 0.0
    interferometer_drift_time_s: DriftTimeS = math.inf
    interferometer_phase_rad: float = field(default=0.0, init=False)

    def phase_rad(self, world) -> float:
        piezo = world.actuators[self.phase_shifter].phase_rad() if self.phase_shifter else 0.0
        return piezo + self.interferometer_phase_rad + self.phase_offset_rad

    def drift(self, dt_s: float, rng: np.random.Generator) -> None:
        """Let the interferometers' phase random-walk for ``dt_s`` seconds."""
        if dt_s > 0 and math.isfinite(self.interferometer_drift_time_s):
            self.interferometer_phase_rad += rng.normal(0.0, math.sqrt(dt_s / self.interferometer_drift_time_s))

    def modes(self, world):
        source = world.transmitters[self.transmitter]
        mu = source.mean_photons_by_code() * self.channel_transmission(world) * 0.5
        sep = source.time_bin_separation_ps
        basis, bit, _ = decode_slots(np.arange(16, dtype=np.uint8))
        z_basis = basis == 0
        early = np.where(z_basis, 1.0 - bit, 0.5)  # |a_early|²
        late = 1.0 - early
        sign = np.where(z_basis, 0.0, np.where(bit == 0, 1.0, -1.0))  # Re(a_late* a_early)/|.|
        coherence = sign * np.sqrt(early * late)  # Re(a_l* a_e) for the X states, 0 for Z
        cos_phi = math.cos(self.phase_rad(world))
        v = self.visibility
        modes = [
            (self.detectors["Z"], 0, mu * early),
            (self.detectors["Z"], sep, mu * late),
        ]
        for role, port in (("X0", 1.0), ("X1", -1.0)):
            middle = (early + late + port * 2 * v * coherence * cos_phi) / 4
            modes += [
                (self.detectors[role], 0, mu * early / 4),
                (self.detectors[role], sep, mu * middle),
                (self.detectors[role], 2 * sep, mu * late / 4),
            ]
        return modes

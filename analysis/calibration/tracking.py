"""Tracking during a run: small paddle corrections from counts measured as the key runs.

:class:`PolarizationTracker` (model-based) measures the reference counts (from the
revealed sample of the sifted key, or interleaved reference slots) at the working point
and with each paddle dithered by ``dither_deg``: four rounds at known, different paddle
rotations, which fix the fiber rotation including the sign of s3 (a dither that is not a
pure s3 rotation breaks the mirror), then moves to the best angles within
``max_step_deg``. At the optimum the QBER alone cannot say which way the fiber went (the
mirror candidates are then equally far); the dithers can.

:class:`DitherTracker` (model-free) uses the QBER only. Each step measures the QBER
cost (QBER_Z + QBER_X) at the present angles and at ± ``dither_deg`` on each
paddle, then takes a Newton step per paddle from the central differences, clipped to
``max_step_deg``. The paddles never go further than ``max(dither, max_step)`` from where
they were, so a run loses no key to a large excursion; a cost that does not curve upward
along a paddle (noise, far from the optimum) gives a step of its sign only.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from qnetlab.analysis.calibration.paddles import PaddleModel
from qnetlab.analysis.calibration.rotation_fit import fit_fiber_rotation
from qnetlab.analysis.calibration.stokes import reference_qber


class PolarizationTracker:
    """Ask/tell model-based tracker: 4 measurements per step (centre, paddle k + dither).

    Parameters
    ----------
    model : the paddles' model
    start_deg : the angles the compensation left
    dither_deg : probe offset (deg), toward the inside of the travel
    max_step_deg : largest correction per step on each paddle (deg)
    misalignment : the receiver's QBER floor (a starting value of the fit)
    """

    def __init__(self, model: PaddleModel, start_deg, dither_deg=1.5, max_step_deg=3.0, misalignment=0.01):
        if dither_deg <= 0 or max_step_deg <= 0:
            raise ValueError(f"dither_deg and max_step_deg must be > 0, got {dither_deg} and {max_step_deg}")
        self.model = model
        self.angles_deg = model.check(model.quantize(start_deg))
        self.dither_deg = float(dither_deg)
        self.max_step_deg = float(max_step_deg)
        self.contrast = 1 - 2 * float(misalignment)
        self.steps: list[tuple[np.ndarray, float]] = []  # (angles after the step, QBER sum at the centre before)
        self._probes = self._probe_angles()
        self._counts: list[np.ndarray] = []

    def _probe_angles(self) -> list[np.ndarray]:
        low, high = self.model.travel_deg
        probes = [self.angles_deg.copy()]
        for k in range(3):
            probe = self.angles_deg.copy()
            probe[k] += self.dither_deg if probe[k] + self.dither_deg <= high else -self.dither_deg
            probes.append(np.clip(probe, low, high))
        return probes

    def ask(self) -> np.ndarray:
        """Angles to measure at next (the tracker never finishes: call as long as the run lasts)."""
        return self._probes[len(self._counts)].copy()

    def tell(self, counts) -> None:
        """The (2, 4) reference counts (H, D sent x H, V, D, A) measured at the asked angles."""
        counts = np.asarray(counts, float)
        if counts.shape != (2, 4):
            raise ValueError(f"counts must be (2 states H, D) x (4 detectors H, V, D, A), got shape {counts.shape}")
        self._counts.append(counts)
        if len(self._counts) < len(self._probes):
            return
        fit = fit_fiber_rotation([self.model.rotation(a) for a in self._probes], self._counts, self.contrast)
        centre_qber = sum(reference_qber(self._counts[0]))
        self.angles_deg = self.model.solve_near(fit.fiber, self.angles_deg, self.max_step_deg)
        self.steps.append((self.angles_deg.copy(), float(centre_qber)))
        self._probes = self._probe_angles()
        self._counts = []


class DitherTracker:
    """Ask/tell dithered tracker of the paddle angles (deg) around a working point.

    Parameters
    ----------
    start_deg : the angles the compensation left
    travel_deg : (min, max) paddle travel (deg)
    dither_deg : probe offset on each paddle (deg)
    max_step_deg : largest correction per step on each paddle (deg)
    """

    def __init__(self, start_deg, travel_deg=(0.0, 170.0), dither_deg: float = 1.5, max_step_deg: float = 3.0):
        if dither_deg <= 0 or max_step_deg <= 0:
            raise ValueError(f"dither_deg and max_step_deg must be > 0, got {dither_deg} and {max_step_deg}")
        self.angles_deg = np.clip(np.asarray(start_deg, float), *travel_deg)
        self.travel_deg = travel_deg
        self.dither_deg = float(dither_deg)
        self.max_step_deg = float(max_step_deg)
        self.steps: list[tuple[np.ndarray, float]] = []  # (angles after the step, cost at the centre before)
        self._gen = self._run()
        self._pending = next(self._gen)

    def ask(self) -> np.ndarray:
        """Angles to measure at next (the tracker never finishes: call as long as the run lasts)."""
        return self._pending.copy()

    def tell(self, counts) -> None:
        """The (2, 4) reference counts (H, D sent x H, V, D, A) measured at the asked angles."""
        qz, qx = reference_qber(np.asarray(counts, float))
        self._pending = self._gen.send(qz + qx)

    def _run(self) -> Generator[np.ndarray, float, None]:
        low, high = self.travel_deg
        while True:
            centre = self.angles_deg.copy()
            cost0 = yield centre
            step = np.zeros(3)
            for k in range(3):
                probe = np.zeros(3)
                probe[k] = self.dither_deg
                plus = yield np.clip(centre + probe, low, high)
                minus = yield np.clip(centre - probe, low, high)
                slope = (plus - minus) / (2 * self.dither_deg)
                curvature = (plus + minus - 2 * cost0) / self.dither_deg**2
                if curvature > 0:
                    step[k] = -slope / curvature
                else:
                    step[k] = -np.sign(slope) * self.max_step_deg
            step = np.clip(step, -self.max_step_deg, self.max_step_deg)
            self.angles_deg = np.clip(centre + step, low, high)
            self.steps.append((self.angles_deg.copy(), float(cost0)))

"""A model of a three-paddle fiber polarization controller (Thorlabs MPC320 class).

Each paddle is a loop of fiber whose bend birefringence makes a linear retarder with its
fast axis in the plane of the loop; turning the paddle by θ turns that axis by θ about the
fiber. Nominally the paddles are λ/4, λ/2, λ/4 (Thorlabs' three-paddle layout); the
retardance of a real paddle follows the bend formula of Thorlabs' manual,
φ = 2π²·a·N·d²/(λ·D) (a = 0.133 for silica, N loops, d the cladding diameter, D the loop
diameter), see :func:`loop_retardance_waves`, so a lab gives its measured values.

Not modelled: the circular birefringence of the fiber twisted between paddles
(about g ≈ 0.14 of the twist angle), which turns the polarization a little as paddles
move; the compensation's fallback (measured QBER only) does not rely on the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from qnetlab.analysis.calibration.stokes import rotation_about, rotation_from_jones

SILICA_BEND_COEFFICIENT = 0.133  # a in φ = 2π²·a·N·d²/(λ·D), Thorlabs FPC manual


def loop_retardance_waves(n_loops: int, loop_diameter_mm: float, wavelength_nm: float, cladding_um: float = 125.0):
    """Retardance (waves) of ``n_loops`` of fiber on a paddle of ``loop_diameter_mm``."""
    if n_loops < 1 or loop_diameter_mm <= 0 or wavelength_nm <= 0 or cladding_um <= 0:
        raise ValueError(
            f"loop retardance needs n_loops >= 1 and positive sizes, got n_loops={n_loops}, "
            f"loop_diameter_mm={loop_diameter_mm}, wavelength_nm={wavelength_nm}, cladding_um={cladding_um}"
        )
    d, lam, big_d = cladding_um * 1e-6, wavelength_nm * 1e-9, loop_diameter_mm * 1e-3
    phi_rad = 2 * np.pi**2 * SILICA_BEND_COEFFICIENT * n_loops * d**2 / (lam * big_d)
    return float(phi_rad / (2 * np.pi))


def retarder_jones(retardance_waves: float, angle_deg) -> np.ndarray:
    """Jones matrices (..., 2, 2) of a linear retarder with its fast axis at ``angle_deg``.

    The fast-axis component gains phase e^{−iδ/2}, the slow one e^{+iδ/2}, δ = 2π·retardance.
    """
    theta = np.deg2rad(np.asarray(angle_deg, float))
    half = np.pi * retardance_waves
    c, s = np.cos(theta), np.sin(theta)
    # R(θ)·diag(e^{−iδ/2}, e^{iδ/2})·R(−θ), written out
    cos_h, sin_h = np.cos(half), np.sin(half)
    m00 = cos_h - 1j * sin_h * (c * c - s * s)
    m01 = -1j * sin_h * 2 * s * c
    m11 = cos_h + 1j * sin_h * (c * c - s * s)
    return np.stack([np.stack([m00, m01], -1), np.stack([m01, m11], -1)], -2)


@dataclass(frozen=True)
class PaddleModel:
    """Three paddles in sequence, light through paddle 1 first.

    Attributes
    ----------
    retardance_waves : retardance of each paddle (waves)
    travel_deg : (min, max) paddle angle the hardware allows (deg); MPC320: 0-170
    step_deg : the smallest move (deg); MPC320: 170/1370
    """

    retardance_waves: tuple[float, float, float] = (0.25, 0.5, 0.25)
    travel_deg: tuple[float, float] = (0.0, 170.0)
    step_deg: float = 170.0 / 1370

    def jones(self, angles_deg) -> np.ndarray:
        """Jones matrix of the three paddles at ``angles_deg`` (..., 3) -> (..., 2, 2)."""
        angles = np.asarray(angles_deg, float)
        total = retarder_jones(self.retardance_waves[0], angles[..., 0])
        for k in (1, 2):
            total = retarder_jones(self.retardance_waves[k], angles[..., k]) @ total
        return total

    def rotation(self, angles_deg) -> np.ndarray:
        """Stokes-space rotation (..., 3, 3) of the paddles at ``angles_deg``."""
        return rotation_from_jones(self.jones(angles_deg))

    def check(self, angles_deg) -> np.ndarray:
        """``angles_deg`` as a (3,) array, or a ValueError naming the paddle out of travel."""
        angles = np.asarray(angles_deg, float)
        if angles.shape != (3,):
            raise ValueError(f"paddle angles must be 3 numbers, got shape {angles.shape}")
        low, high = self.travel_deg
        for k, angle in enumerate(angles):
            if not low <= angle <= high:
                raise ValueError(f"paddle{k + 1}_deg = {angle:.3f} is outside the travel {low:g}..{high:g} deg")
        return angles

    def quantize(self, angles_deg) -> np.ndarray:
        """Angles rounded to whole motor steps and clipped to the travel."""
        steps = np.round(np.asarray(angles_deg, float) / self.step_deg) * self.step_deg
        return np.clip(steps, *self.travel_deg)

    def solve(self, fiber_rotation: np.ndarray, grid_deg: float = 10.0, refine: int = 4) -> tuple[np.ndarray, float]:
        """Paddle angles that undo ``fiber_rotation`` (Stokes 3x3): paddles·fiber ≈ identity.

        Minimizes the ideal QBER sum, Σ_{i=1,2} (1 − e_i·C(θ)·F·e_i)/2, over the travel:
        every grid point (``grid_deg`` apart) is evaluated at once, the ``refine`` best
        start a bounded least-squares refinement. Returns (angles_deg quantized to motor steps, predicted QBER
        sum at those angles).
        """
        fiber = np.asarray(fiber_rotation, float)
        low, high = self.travel_deg
        axis = np.arange(low, high + 1e-9, grid_deg)
        grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
        singles = [self.rotation_single(k, axis) for k in range(3)]
        # C = P3 · P2 · P1 for every combination; only the first two columns of C·F matter
        p21 = np.einsum("bij,ajk->abik", singles[1], singles[0])
        total = np.einsum("cij,abjk->abcik", singles[2], p21).reshape(-1, 3, 3)
        cost = qber_sum(total @ fiber)
        starts = grid[np.argsort(cost)[:refine]]
        best_angles, best_cost = starts[0], float(np.min(cost))
        target = np.eye(3)[:, :2].ravel()

        def residual(angles: np.ndarray) -> np.ndarray:  # ‖G·e_i − e_i‖² = 4·QBER_i
            return (self.fast_rotation(angles) @ fiber)[:, :2].ravel() - target

        for start in starts:
            found = least_squares(residual, start, bounds=self.travel_deg, x_scale=30.0, xtol=1e-10, ftol=1e-12)
            found_cost = float(np.sum(found.fun**2) / 4)
            if found_cost < best_cost:
                best_angles, best_cost = found.x, found_cost
        angles = self.quantize(best_angles)
        return angles, float(qber_sum(self.rotation(angles) @ fiber))

    def solve_near(self, fiber_rotation: np.ndarray, start_deg, max_step_deg: float) -> np.ndarray:
        """Angles within ``max_step_deg`` of ``start_deg`` (and the travel) best undoing the fiber."""
        fiber = np.asarray(fiber_rotation, float)
        start = np.clip(np.asarray(start_deg, float), *self.travel_deg)
        low = np.maximum(start - max_step_deg, self.travel_deg[0])
        high = np.minimum(start + max_step_deg, self.travel_deg[1])
        target = np.eye(3)[:, :2].ravel()
        found = least_squares(
            lambda a: (self.fast_rotation(a) @ fiber)[:, :2].ravel() - target,
            start,
            bounds=(low, high + 1e-12),
            x_scale=max_step_deg,
            xtol=1e-10,
        )
        return np.clip(self.quantize(found.x), low, high)

    def fast_rotation(self, angles_deg) -> np.ndarray:
        """:meth:`rotation` for one setting (3,), by Rodrigues' formula (no complex algebra).

        A retarder of δ with its fast axis at θ turns Stokes space by δ about
        (cos 2θ, sin 2θ, 0).
        """
        total = np.eye(3)
        for delta_waves, angle in zip(self.retardance_waves, np.asarray(angles_deg, float), strict=True):
            two_theta = np.deg2rad(2 * angle)
            total = (
                rotation_about(np.array([np.cos(two_theta), np.sin(two_theta), 0.0]), 2 * np.pi * delta_waves) @ total
            )
        return total

    def rotation_single(self, paddle: int, angles_deg) -> np.ndarray:
        """Stokes rotations (n, 3, 3) of one paddle at each of ``angles_deg``."""
        return rotation_from_jones(retarder_jones(self.retardance_waves[paddle], angles_deg))


def qber_sum(total_rotation: np.ndarray) -> np.ndarray:
    """Ideal QBER_Z + QBER_X of a total rotation (..., 3, 3): (2 − R11 − R22)/2."""
    r = np.asarray(total_rotation)
    return (2.0 - r[..., 0, 0] - r[..., 1, 1]) / 2

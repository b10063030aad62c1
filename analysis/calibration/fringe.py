"""Time-bin interferometer phase: fringe fit, the voltage of the fringe maximum, and a hold step.

Counts of an interferometer output vs piezo voltage follow
``N(V) = A·(1 + vis·cos(2π·V/V_2π + φ))``. The fit is weighted least squares with Poisson
weights σ² = model (refitted once with the model's own σ), started from the exact linear
least-squares solution in (1, cos, sin) for a given V_2π; when V_2π is not given it is
scanned first. The phase is locked where cos(…) = 1 (maximum of this output, minimum of
the other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit


@dataclass(frozen=True)
class FringeFit:
    """Fitted fringe: amplitude A (counts), visibility, V_2π (V), phase φ (rad), errors, reduced χ²."""

    amplitude: float
    visibility: float
    visibility_err: float
    v_2pi_v: float
    phase_rad: float
    phase_err_rad: float
    chi2_reduced: float

    def model(self, voltage_v) -> np.ndarray:
        return fringe_model(np.asarray(voltage_v, float), self.amplitude, self.visibility, self.v_2pi_v, self.phase_rad)

    def maximum_voltage_v(self, range_v: tuple[float, float], near_v: float | None = None) -> float:
        """A voltage of the fringe maximum inside ``range_v`` (the one nearest ``near_v``, else the middle)."""
        lo, hi = range_v
        first = (-self.phase_rad / (2 * np.pi)) * self.v_2pi_v
        candidates = first + self.v_2pi_v * np.arange(
            np.floor((lo - first) / self.v_2pi_v), np.ceil((hi - first) / self.v_2pi_v) + 1
        )
        candidates = candidates[(candidates >= lo) & (candidates <= hi)]
        if candidates.size == 0:
            raise ValueError(f"no fringe maximum within {lo}..{hi} V (V_2π = {self.v_2pi_v:.2f} V)")
        target = (lo + hi) / 2 if near_v is None else near_v
        return float(candidates[np.argmin(np.abs(candidates - target))])


def fringe_model(voltage_v, amplitude, visibility, v_2pi_v, phase_rad):
    return amplitude * (1 + visibility * np.cos(2 * np.pi * voltage_v / v_2pi_v + phase_rad))


def _linear(voltage_v, counts, v_2pi_v):
    """Exact LS of counts on (1, cos, sin) at a fixed V_2π: (A, vis, φ, residual)."""
    arg = 2 * np.pi * voltage_v / v_2pi_v
    basis = np.stack([np.ones_like(arg), np.cos(arg), np.sin(arg)], 1)
    w = 1 / np.sqrt(np.maximum(counts, 1.0))
    coef, *_ = np.linalg.lstsq(basis * w[:, None], counts * w, rcond=None)
    resid = float(np.sum(((basis @ coef - counts) * w) ** 2))
    a = coef[0]
    # A·vis·cos(arg + φ) = A·vis·cosφ·cos(arg) − A·vis·sinφ·sin(arg)
    return a, float(np.hypot(coef[1], coef[2]) / a), float(np.arctan2(-coef[2], coef[1])), resid


def fit_fringe(voltage_v, counts, v_2pi_v: float | None = None, v_2pi_range_v=(10.0, 200.0)) -> FringeFit:
    """Fit ``N(V) = A·(1 + vis·cos(2π·V/V_2π + φ))`` with Poisson weights.

    ``v_2pi_v``: the piezo's 2π voltage if known (then it is held fixed); otherwise it is
    fitted, started from a scan over ``v_2pi_range_v``.
    """
    v = np.asarray(voltage_v, float)
    n = np.asarray(counts, float)
    if v.shape != n.shape or v.size < 5:
        raise ValueError(f"need >= 5 (voltage, counts) pairs of equal length, got {v.shape} and {n.shape}")
    if np.any(n < 0):
        raise ValueError("counts must be >= 0")
    free = v_2pi_v is None
    if free:
        trial = np.geomspace(float(v_2pi_range_v[0]), float(v_2pi_range_v[1]), 150)
        v_2pi_v = float(trial[np.argmin([_linear(v, n, t)[3] for t in trial])])
    a, vis, phi, _ = _linear(v, n, v_2pi_v)
    p0 = [a, min(max(vis, 0.01), 0.99), v_2pi_v, phi] if free else [a, min(max(vis, 0.01), 0.99), phi]

    def model(x, *p):
        return fringe_model(x, p[0], p[1], p[2], p[3]) if free else fringe_model(x, p[0], p[1], v_2pi_v, p[2])

    sigma = np.sqrt(np.maximum(n, 1.0))
    params, cov = p0, np.zeros((len(p0), len(p0)))
    for _ in range(2):  # Poisson weights from the data, then from the model
        params, cov = curve_fit(model, v, n, p0=params, sigma=sigma, absolute_sigma=True, maxfev=10_000)
        sigma = np.sqrt(np.maximum(model(v, *params), 1.0))
    chi2 = float(np.sum(((model(v, *params) - n) / sigma) ** 2) / max(v.size - len(p0), 1))
    amplitude, visibility = float(params[0]), float(params[1])
    phase = float(params[-1])
    if visibility < 0:  # the same fringe with φ + π
        visibility, phase = -visibility, phase + np.pi
    phase = float((phase + np.pi) % (2 * np.pi) - np.pi)
    return FringeFit(
        amplitude,
        visibility,
        float(np.sqrt(cov[1, 1])),
        float(params[2]) if free else float(v_2pi_v),
        phase,
        float(np.sqrt(cov[-1, -1])),
        chi2,
    )


def phase_hold_step(
    voltage_v: float,
    contrast_minus: float,
    contrast_plus: float,
    dither_v: float,
    v_2pi_v: float,
    max_step_v: float = 2.0,
) -> tuple[float, float]:
    """Next piezo voltage to hold the fringe maximum, from two dithered contrast readings.

    ``contrast_±`` = (N0 − N1)/(N0 + N1) of the two outputs at ``voltage_v ± dither_v``,
    which are vis·cos(φ ± ε) with ε = 2π·dither/V_2π; so φ (the phase error at
    ``voltage_v``) = atan2(−(c₊ − c₋)/sin ε, (c₊ + c₋)/cos ε) and the step is −φ·V_2π/2π,
    clipped to ``max_step_v``. Returns (new voltage, phase error rad).
    """
    eps = 2 * np.pi * dither_v / v_2pi_v
    if not 0 < abs(eps) < np.pi / 2:
        raise ValueError(f"dither_v must be between 0 and V_2π/4 = {v_2pi_v / 4:.2f} V, got {dither_v}")
    phi = float(
        np.arctan2(-(contrast_plus - contrast_minus) / np.sin(eps), (contrast_plus + contrast_minus) / np.cos(eps))
    )
    step = float(np.clip(-phi * v_2pi_v / (2 * np.pi), -max_step_v, max_step_v))
    return voltage_v + step, phi

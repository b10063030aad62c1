"""Two-photon interference fringes: sinusoid fit with Poisson weights, visibility with uncertainty.

Model of coincidences against the analyzer angle θ (one analyzer fixed, the other swept):
``C(θ) = m (1 + V cos(2π (θ − θ0) / P)) + a(θ)`` with mean m, visibility V, phase θ0 and
period P (180° for a polarizer axis, 90° when a half-wave plate in front of a fixed PBS is
turned). The accidentals ``a`` are known (from singles); fitting with them gives the
accidental-subtracted visibility, fitting with ``a = 0`` the raw one. The fit is
``scipy.optimize.least_squares`` on Pearson residuals ``(C − n)/√C`` with the variance taken
from the model (iterated, so zero-count points are weighted right), and the covariance
``(JᵀJ)⁻¹`` from the Poisson Fisher information.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares


@dataclass(frozen=True)
class FringeFit:
    """A fitted fringe.

    Attributes
    ----------
    visibility, visibility_std : float
    mean, mean_std : float
        m in counts per point.
    phase_deg, phase_std_deg : float
        θ0, the angle of maximum coincidences.
    period_deg : float
    accidentals : numpy.ndarray
        Accidentals used in the model (zeros for the raw fit).
    chi2 : float
        Pearson χ² of the fit (compare with ``dof``).
    dof : int
    """

    visibility: float
    visibility_std: float
    mean: float
    mean_std: float
    phase_deg: float
    phase_std_deg: float
    period_deg: float
    accidentals: np.ndarray
    chi2: float
    dof: int

    def signal(self, angle_deg):
        """Fitted coincidences without accidentals, ``m (1 + V cos(2π(θ − θ0)/P))``."""
        theta = np.asarray(angle_deg, dtype=float)
        return self.mean * (1 + self.visibility * np.cos(2 * np.pi * (theta - self.phase_deg) / self.period_deg))


def fit_fringe(angle_deg, counts, *, accidentals=None, period_deg=180.0):
    """Fit ``m (1 + V cos(2π(θ − θ0)/P)) + a`` to coincidences.

    Parameters
    ----------
    angle_deg : array_like
        Analyzer angles, degrees (at least 4 distinct points).
    counts : array_like
        Coincidences at each angle.
    accidentals : float or array_like, optional
        Expected accidental coincidences per point (0 for the raw visibility).
    period_deg : float
        Fringe period in the swept angle.

    Returns
    -------
    FringeFit
    """
    theta = np.asarray(angle_deg, dtype=float)
    n = np.asarray(counts, dtype=float)
    if theta.shape != n.shape or theta.ndim != 1 or len(np.unique(theta % period_deg)) < 4:
        raise ValueError("fit_fringe: angle_deg and counts must be 1-D of equal length with >= 4 distinct angles")
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError("fit_fringe: counts must be finite and >= 0")
    acc = np.broadcast_to(np.asarray(0.0 if accidentals is None else accidentals, dtype=float), n.shape).copy()
    k = 2 * np.pi / period_deg
    # linear start: n − a ≈ c0 + c1 cos kθ + s1 sin kθ
    basis = np.column_stack([np.ones_like(theta), np.cos(k * theta), np.sin(k * theta)])
    c0, c1, s1 = np.linalg.lstsq(basis, n - acc, rcond=None)[0]
    m0 = max(c0, 1e-9 * max(n.mean(), 1.0))
    p0 = np.array([m0, np.clip(np.hypot(c1, s1) / m0, 0.0, 1.0), np.arctan2(s1, c1) / k])

    def model(p):
        return p[0] * (1 + p[1] * np.cos(k * (theta - p[2]))) + acc

    variance = np.maximum(model(p0), 0.5)
    fit = None
    for _ in range(3):  # re-weight with the model variance (tends to Poisson maximum likelihood)
        weights = 1 / np.sqrt(variance)
        fit = least_squares(lambda p, w=weights: (model(p) - n) * w, p0, method="lm")
        p0 = fit.x
        variance = np.maximum(model(p0), 0.5)
    assert fit is not None
    jac = fit.jac
    cov = np.linalg.pinv(jac.T @ jac)
    m, v, phase = fit.x
    if v < 0:  # a negative visibility is the same fringe shifted by half a period
        v, phase = -v, phase + period_deg / 2
    phase = (phase + period_deg / 2) % period_deg - period_deg / 2
    chi2 = float(np.sum((model(fit.x) - n) ** 2 / variance))
    std = np.sqrt(np.clip(np.diag(cov), 0, None))
    return FringeFit(
        float(v),
        float(std[1]),
        float(m),
        float(std[0]),
        float(phase),
        float(std[2]),
        float(period_deg),
        acc,
        chi2,
        len(n) - 3,
    )

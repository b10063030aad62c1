"""Fit the fiber's Stokes rotation to reference counts taken at known paddle settings.

Round r sets the paddles to C_r and measures, for Alice's H and D references, the
receiver's (s1, s2) of C_r·F·e1 and C_r·F·e2, shrunk by the receiver contrast
k = 1 − 2·misalignment. One round leaves F two-fold ambiguous (the mirror of s3, see
:func:`stokes.mirror_candidates`); two rounds at different paddle settings resolve it.
The fit is weighted least squares on the binomial errors of each s, started from every
round's two algebraic candidates, and returns the best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from qnetlab.analysis.calibration.stokes import mirror_candidates, rotation_about, stokes_s1_s2


@dataclass(frozen=True)
class RotationFit:
    """The fitted fiber rotation.

    Attributes
    ----------
    fiber : Stokes rotation F (3x3) from Alice's output to the paddles
    contrast : fitted receiver contrast k (1 − 2·misalignment floor)
    chi2 : weighted sum of squared residuals of the (s1, s2) data
    n_data : number of (s1, s2) values fitted
    ambiguous : True when the data cannot tell F from its mirror (one round only)
    """

    fiber: np.ndarray
    contrast: float
    chi2: float
    n_data: int
    ambiguous: bool


def _sigma(counts: np.ndarray) -> np.ndarray:
    """Binomial standard errors of (s1, s2) per state (floor 1e-3 so perfect data still weighs)."""
    n = np.asarray(counts, float)
    s = stokes_s1_s2(n)
    totals = np.stack([n[:, 0] + n[:, 1], n[:, 2] + n[:, 3]], axis=1)
    return np.sqrt(np.maximum(1 - s**2, 1e-3) / np.maximum(totals, 1.0))


def _rotation(vector: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(vector))
    return np.eye(3) if angle == 0 else rotation_about(vector, angle)


def fit_fiber_rotation(paddle_rotations, counts_per_round, contrast: float = 0.98) -> RotationFit:
    """The fiber rotation F that best explains every round's reference counts.

    Parameters
    ----------
    paddle_rotations : sequence of (3, 3) Stokes rotations of the paddles in each round
    counts_per_round : sequence of (2, 4) counts: rows H sent, D sent; columns H, V, D, A
    contrast : starting value of the receiver contrast 1 − 2·misalignment
    """
    paddles = [np.asarray(p, float) for p in paddle_rotations]
    counts = [np.asarray(c, float) for c in counts_per_round]
    if not paddles or len(paddles) != len(counts):
        raise ValueError(f"need one paddle rotation per round of counts, got {len(paddles)} and {len(counts)}")
    measured = np.stack([stokes_s1_s2(c) for c in counts])  # (rounds, state, s1/s2)
    sigma = np.stack([_sigma(c) for c in counts])

    def residuals(params: np.ndarray, base: np.ndarray) -> np.ndarray:
        fiber = _rotation(params[:3]) @ base
        k = params[3]
        out = []
        for paddle, m, s in zip(paddles, measured, sigma, strict=True):
            total = paddle @ fiber
            predicted = k * total[:2, :2].T  # row i: (s1, s2) of total·e_i
            out.append(((predicted - m) / s).ravel())
        return np.concatenate(out)

    starts = []
    for paddle, m in zip(paddles, measured, strict=True):
        for candidate in mirror_candidates(m, contrast):
            starts.append(paddle.T @ candidate)
    fits = []
    for base in starts:
        found = least_squares(
            residuals, np.array([0, 0, 0, contrast]), args=(base,), bounds=([-np.inf] * 3 + [0.3], [np.inf] * 3 + [1.0])
        )
        fits.append((float(2 * found.cost), _rotation(found.x[:3]) @ base, float(found.x[3])))
    fits.sort(key=lambda f: f[0])
    chi2, fiber, k = fits[0]
    # ambiguous when a clearly different rotation fits as well
    rivals = [f for f in fits[1:] if np.linalg.norm(f[1] - fiber) > 0.1 and f[0] - chi2 < max(1.0, 0.05 * chi2)]
    return RotationFit(fiber, k, chi2, measured.size, bool(rivals))

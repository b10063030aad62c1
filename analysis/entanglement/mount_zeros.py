"""Mount zero offsets of both analyzers from coincidence fringes of a polarization-entangled source.

Each setting is the four motor positions ``(qwp_a, hwp_a, qwp_b, hwp_b)`` (deg) and its counts
on the four port pairs ``tt, tr, rt, rr``. The model of a Werner state of Φ+ seen through
ideal plates whose fast axes sit at ``motor − zero``:

    μ_{k,xy} = N · η_x η_y · Tr[(P_x(k) ⊗ P_y(k)) ρ_W(V)] + a_{k,xy},

with ``P_t`` the projector of :func:`.waveplates.analyzer_projector` (vectorized here), ``P_r = I − P_t``,
``η_t = 1``, ``η_r`` each side's R/T port efficiency ratio, ``a`` the measured accidentals.
The zeros (deg), N, V and the two ratios are fitted by Poisson-weighted least squares
(:func:`scipy.optimize.least_squares`); their errors come from the Fisher information.

Gauge: Φ+ is unchanged by the same real rotation of both photons, and zeros shifted by
(δ, δ/2) on a QWP and its HWP rotate that analyzer's frame by δ, so (δ, δ/2, δ, δ/2) on all
four mounts changes no count (nor any figure of merit of Φ+). One mount's zero, ``reference``
(default Alice's QWP), is therefore held at its given value; calibrate it against a polarizer.
Both HWP zeros shifted by 45° swap T and R on both sides, which Φ+ does not see either
(with equal port efficiencies); of the two, the fit keeps the one nearer the given zeros,
each HWP zero within 45° of the given one (a HWP's axis repeats every 90°).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .states import werner_state

MOUNTS = ("qwp_a", "hwp_a", "qwp_b", "hwp_b")
"""Order of the four mounts in settings and zeros."""
START_SHIFTS_DEG = (-20.0, 20.0)
"""The fit starts at the given zeros and at every combination of these shifts (9 starts, the lowest χ² kept)."""


@dataclass(frozen=True)
class MountZeros:
    """Fitted zeros.

    Attributes
    ----------
    zeros_deg : (4,) zero of each mount in :data:`MOUNTS` order (deg; the reference's as given)
    zeros_std_deg : (4,) standard error (deg; 0 for the reference)
    covariance_deg2 : (4, 4) their covariance (deg²; the errors are strongly correlated)
    visibility, visibility_std : Werner visibility of the source
    pairs : fitted N (coincidences per setting with ideal projectors and T ports)
    port_ratios : (2,) η_R/η_T of Alice's and Bob's PBS ports
    chi2, dof : Pearson χ² at the optimum and its degrees of freedom
    """

    zeros_deg: np.ndarray
    zeros_std_deg: np.ndarray
    covariance_deg2: np.ndarray
    visibility: float
    visibility_std: float
    pairs: float
    port_ratios: np.ndarray
    chi2: float
    dof: int


def _transmitted_kets(qwp_axis_deg, hwp_axis_deg):
    """(n, 2) kets ``(J_HWP J_QWP)† |H>`` of ideal plates with fast axes at the given angles (vectorized)."""
    q, h = np.radians(qwp_axis_deg), np.radians(hwp_axis_deg)
    # J_HWP(h)† |H> = (cos 2h, sin 2h) up to a global phase; then J_QWP(q)† = Rot(q) diag(1, -i) Rot(-q)
    lin = np.stack([np.cos(2 * h), np.sin(2 * h)], axis=-1).astype(complex)
    c, s = np.cos(q), np.sin(q)
    u = c * lin[:, 0] + s * lin[:, 1]  # along the QWP's fast axis
    w = -s * lin[:, 0] + c * lin[:, 1]  # along its slow axis, delayed by a quarter wave
    w = -1j * w
    return np.stack([c * u - s * w, s * u + c * w], axis=-1)


def predicted_counts(motor_deg, zeros_deg, *, pairs, visibility, port_ratios=(1.0, 1.0), accidentals=None):
    """(n, 4) expected counts ``tt, tr, rt, rr`` of settings ``motor_deg`` (n, 4) for mount ``zeros_deg`` (4,)."""
    motor = np.atleast_2d(np.asarray(motor_deg, float))
    zeros = np.asarray(zeros_deg, float)
    rho = werner_state(visibility)
    sides = []
    for qwp, hwp in ((0, 1), (2, 3)):
        t = _transmitted_kets(motor[:, qwp] - zeros[qwp], motor[:, hwp] - zeros[hwp])
        r = np.stack([-t[:, 1].conj(), t[:, 0].conj()], axis=-1)  # the reflected port: the orthogonal state
        sides.append((t, r))
    (at, ar), (bt, br) = sides
    eta = np.array([1.0, port_ratios[0]])[:, None] * np.array([1.0, port_ratios[1]])[None, :]
    out = np.empty((len(motor), 4))
    for col, (ka, kb) in enumerate(((at, bt), (at, br), (ar, bt), (ar, br))):
        joint = (ka[:, :, None] * kb[:, None, :]).reshape(-1, 4)  # |a> ⊗ |b>, Alice first
        out[:, col] = pairs * eta.ravel()[col] * np.real(np.einsum("ni,ij,nj->n", joint.conj(), rho, joint))
    if accidentals is not None:
        out += np.asarray(accidentals, float)
    return out


def _wrap_45(angle_deg):
    """``angle_deg`` modulo 90° into [−45°, 45°)."""
    return (np.asarray(angle_deg) + 45.0) % 90.0 - 45.0


def fit_mount_zeros(motor_deg, counts, *, accidentals=None, start_zeros_deg=(0.0, 0.0, 0.0, 0.0), reference=0):
    """Fit the mount zeros (and N, V, port ratios) to the counts of settings ``motor_deg``.

    Parameters
    ----------
    motor_deg : (n, 4) motor positions ``qwp_a, hwp_a, qwp_b, hwp_b`` of each setting (deg)
    counts : (n, 4) coincidences ``tt, tr, rt, rr``
    accidentals : (n, 4) expected accidental counts (default 0)
    start_zeros_deg : (4,) starting zeros (deg); the fit searches within ±40° of them
        (:data:`START_SHIFTS_DEG`; a QWP's zero is seen modulo 90° from H, so start within 45°)
    reference : index in :data:`MOUNTS` of the mount whose zero is held (the gauge, see module doc)

    Returns
    -------
    MountZeros
    """
    from scipy.optimize import least_squares

    motor = np.asarray(motor_deg, float)
    n = np.asarray(counts, float)
    acc = np.zeros_like(n) if accidentals is None else np.asarray(accidentals, float)
    if motor.ndim != 2 or motor.shape[1] != 4 or n.shape != motor.shape or acc.shape != n.shape:
        raise ValueError(
            f"fit_mount_zeros: motor_deg {motor.shape}, counts {n.shape}, accidentals {acc.shape}: need (n, 4) each"
        )
    if not 0 <= reference < 4:
        raise ValueError(f"fit_mount_zeros: reference {reference} is not a mount index 0..3 ({MOUNTS})")
    free = [i for i in range(4) if i != reference]
    start = np.asarray(start_zeros_deg, float)
    pairs0 = max(float(n.sum(axis=1).mean()), 1.0)

    def unpack(p):
        zeros = start.copy()
        zeros[free] = p[:3]
        return zeros, float(np.exp(p[3])), float(p[4]), (float(p[5]), float(p[6]))

    def residuals(p):
        zeros, pairs, vis, ratios = unpack(p)
        mu = predicted_counts(motor, zeros, pairs=pairs, visibility=vis, port_ratios=ratios, accidentals=acc)
        return ((n - np.maximum(mu, 1e-9)) / np.sqrt(np.maximum(mu, 1.0))).ravel()

    lower = np.r_[start[free] - 60, -np.inf, 0.0, 0.05, 0.05]
    upper = np.r_[start[free] + 60, np.inf, 1.0, 20.0, 20.0]

    def solve(p0):
        return least_squares(residuals, p0, bounds=(lower, upper), x_scale=np.r_[1, 1, 1, 0.1, 0.1, 0.1, 0.1])

    fit = None
    shifts = [(0.0, 0.0, 0.0), *itertools.product(START_SHIFTS_DEG, repeat=3)]
    for shift in shifts:  # the fringes of three mounts have local minima
        trial = solve(np.r_[start[free] + np.array(shift), np.log(pairs0), 0.9, 1.0, 1.0])
        if fit is None or trial.cost < fit.cost:
            fit = trial
    assert fit is not None
    hwps = [free.index(i) for i in (1, 3) if i in free]
    if len(hwps) == 2:
        # a HWP's zero counts modulo 90°: take each nearest its given zero; both +45° swap T and R on
        # both sides, which Φ+ does not see (equal port efficiencies): keep whichever is nearer the given zeros
        given = start[[1, 3]]
        same = given + _wrap_45(fit.x[hwps] - given)
        swapped = given + _wrap_45(fit.x[hwps] + 45.0 - given)
        if np.sum((swapped - given) ** 2) < np.sum((same - given) ** 2):
            image = fit.x.copy()
            image[hwps] = swapped
            image[5:7] = np.clip(1.0 / np.maximum(image[5:7], 1e-3), lower[5:7], upper[5:7])
            nearer = solve(image)
            if nearer.cost <= fit.cost + 0.5:  # as good a fit (1 in χ²): keep it
                fit = nearer
        else:
            fit.x[hwps] = same
    try:
        covariance = np.linalg.inv(fit.jac.T @ fit.jac)
    except np.linalg.LinAlgError:
        covariance = np.full((7, 7), np.inf)
    std = np.sqrt(np.abs(np.diag(covariance)))
    zeros, pairs, vis, ratios = unpack(fit.x)
    zeros_cov = np.zeros((4, 4))
    zeros_cov[np.ix_(free, free)] = covariance[:3, :3]
    zeros_std = np.sqrt(np.abs(np.diag(zeros_cov)))
    wrapped = (zeros + 90.0) % 180.0 - 90.0  # a plate's axis repeats every 180°
    wrapped[reference] = start[reference]
    return MountZeros(
        zeros_deg=wrapped,
        zeros_std_deg=zeros_std,
        covariance_deg2=zeros_cov,
        visibility=vis,
        visibility_std=float(std[4]),
        pairs=pairs,
        port_ratios=np.array(ratios),
        chi2=float(np.sum(fit.fun**2)),
        dof=int(n.size - 7),
    )

"""Secret key length (finite, Lim et al. 2014) and asymptotic decoy rate (Ma et al. 2005).

Finite key: C. C. W. Lim et al., PRA 89, 022307 (2014), Eq. (1), with the decoy
bounds of Eqs. (2)-(5) (:mod:`analysis.qkd.decoy`).  Asymptotic: GLLP with
decoys, X. Ma, B. Qi, Y. Zhao and H.-K. Lo, PRA 72, 012326 (2005), Eq. (1),
with the fibre/detector model of their Sec. II (gain Eq. (10), error Eq. (11))
and the vacuum + weak decoy bounds Eqs. (34) and (37).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .decoy import (
    Intensities,
    e1_upper_ma2005,
    phase_error_upper,
    single_photon_errors_upper,
    single_photon_events_lower,
    vacuum_events_lower,
    y1_lower_ma2005,
)
from .estimation import binary_entropy

__all__ = [
    "GYS",
    "LIM2014",
    "FiniteKey",
    "SystemLim2014",
    "SystemMa2005",
    "asymptotic_rate",
    "finite_key_length",
    "lim2014_expected_key",
    "lim2014_optimized_rate",
    "ma2005_gain_error",
    "max_distance_km",
    "optimal_mu",
    "repeaterless_bound",
]


# ---------------------------------------------------------------- finite key (Lim 2014)


@dataclass(frozen=True)
class FiniteKey:
    """Outcome of Lim et al. Eq. (1); ``length`` is 0 when no key can be extracted."""

    length: int
    s_x0: float
    s_x1: float
    phi_x: float
    lambda_ec: float
    reason: str = ""
    bits: float = 0.0
    """Eq. (1) before the floor (may be negative)."""


def finite_key_length(
    n_x,
    n_z,
    m_z,
    intensities: Intensities,
    lambda_ec: float,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-15,
    finite: bool = True,
) -> FiniteKey:
    """Secret key length, Lim et al. Eq. (1).

    Parameters
    ----------
    n_x, n_z : array-like of 3 ints
        Detections per intensity (mu1, mu2, mu3) in the key basis X and test basis Z.
    m_z : array-like of 3 ints
        Bit errors per intensity in Z.
    lambda_ec : float
        Bits leaked by error correction (count every disclosed bit).
    eps_sec, eps_cor : float
        Secrecy and correctness parameters.
    finite : bool
        False gives the asymptotic limit of the same bounds (no Hoeffding,
        sampling or epsilon terms), the dashed curve of Lim et al. Fig. 1.
    """
    if not finite:
        eps_sec = 21.0  # makes the Hoeffding deviation sqrt(n/2 ln(21/eps)) vanish
    s_x0 = vacuum_events_lower(n_x, intensities, eps_sec)
    s_x1 = single_photon_events_lower(n_x, intensities, eps_sec)
    s_z1 = single_photon_events_lower(n_z, intensities, eps_sec)
    v_z1 = single_photon_errors_upper(m_z, intensities, eps_sec)
    phi = phase_error_upper(v_z1, s_z1, s_x1, eps_sec, finite)
    ell = s_x0 + s_x1 * (1.0 - binary_entropy(phi)) - lambda_ec
    if finite:
        ell -= 6.0 * math.log2(21.0 / eps_sec) + math.log2(2.0 / eps_cor)
    length = max(0, math.floor(ell))
    reason = (
        ""
        if length > 0
        else ("phase error bound reaches 1/2" if phi >= 0.5 else "finite-size terms exceed the entropy")
    )
    return FiniteKey(length, s_x0, s_x1, phi, lambda_ec, reason, float(ell))


# ---------------------------------------------------------------- asymptotic (Ma 2005)


@dataclass(frozen=True)
class SystemMa2005:
    """Fibre link and detector of Ma et al. 2005, Table I."""

    alpha_db_km: float
    eta_bob: float
    e_detector: float
    y0: float
    f_ec: float = 1.22
    q: float = 0.5
    e0: float = 0.5


GYS = SystemMa2005(alpha_db_km=0.21, eta_bob=0.045, e_detector=0.033, y0=1.7e-6)
"""Gobby, Yuan and Shields (APL 84, 3762 (2004)) parameters as used by Ma et al., Table I."""


def _eta(sys: SystemMa2005, distance_km):
    return sys.eta_bob * 10.0 ** (-sys.alpha_db_km * np.asarray(distance_km, float) / 10.0)


def ma2005_gain_error(sys: SystemMa2005, distance_km, mu):
    """Gain Q_mu (Eq. (10)) and QBER E_mu (Eq. (11)) for intensity ``mu``."""
    eta = _eta(sys, distance_km)
    q = sys.y0 + 1.0 - np.exp(-eta * mu)
    e = (sys.e0 * sys.y0 + sys.e_detector * (1.0 - np.exp(-eta * mu))) / q
    return q, e


def asymptotic_rate(sys: SystemMa2005, distance_km: float, mu: float, nu: float | None = None) -> float:
    """Secret bits per pulse, GLLP with decoys, Ma et al. Eq. (1), floored at 0.

    With ``nu=None`` the single-photon gain and error are exact (infinitely many
    decoys); with a weak decoy ``nu`` and a vacuum decoy they are the bounds of
    Eqs. (34) and (37).
    """
    return max(0.0, _gllp_rate(sys, distance_km, mu, nu))


def _gllp_rate(sys: SystemMa2005, distance_km: float, mu: float, nu: float | None) -> float:
    """Ma et al. Eq. (1) without the floor at 0 (negative: no key), bits per pulse."""
    eta = float(_eta(sys, distance_km))
    q_mu, e_mu = ma2005_gain_error(sys, distance_km, mu)
    if nu is None:
        y1 = sys.y0 + eta - sys.y0 * eta
        e1 = (sys.e0 * sys.y0 + sys.e_detector * eta) / y1
    else:
        q_nu, e_nu = ma2005_gain_error(sys, distance_km, nu)
        y1 = y1_lower_ma2005(mu, nu, float(q_mu), float(q_nu), sys.y0)
        e1 = e1_upper_ma2005(nu, float(q_nu), float(e_nu), sys.y0, y1, sys.e0)
    q1 = y1 * mu * math.exp(-mu)
    return float(sys.q * (-q_mu * sys.f_ec * binary_entropy(e_mu) + q1 * (1.0 - binary_entropy(e1))))


def optimal_mu(sys: SystemMa2005, distance_km: float, nu: float | None = None) -> float:
    """Signal intensity maximizing Ma et al. Eq. (1) at one distance.

    The search runs on the rate before its floor at 0, which is smooth and
    informative where no key exists: a log-spaced grid over
    (max(1.01 nu, 1e-3), 1.5] brackets the maximum, then a bounded scalar search
    refines it.  So wherever some mu gives a positive rate, the returned mu does.
    """
    from scipy.optimize import OptimizeResult, minimize_scalar

    lo, hi = (nu or 0.0) * 1.01 + 1e-3, 1.5
    grid = np.geomspace(lo, hi, 97)
    raw = [_gllp_rate(sys, distance_km, float(m), nu) for m in grid]
    i = int(np.argmax(raw))
    a, b = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    res: OptimizeResult = minimize_scalar(  # pyright: ignore[reportAssignmentType]  (scipy types it as object)
        lambda m: -_gllp_rate(sys, distance_km, m, nu), bounds=(a, b), method="bounded", options={"xatol": 1e-7}
    )
    return float(res.x) if -res.fun >= raw[i] else float(grid[i])


def max_distance_km(sys: SystemMa2005, nu: float | None = None, tol_km: float = 1e-3) -> float:
    """Largest distance with a positive rate at the optimal mu (bisection to ``tol_km``)."""
    lo, hi = 0.0, 400.0
    while hi - lo > tol_km:
        mid = 0.5 * (lo + hi)
        if _gllp_rate(sys, mid, optimal_mu(sys, mid, nu), nu) > 0:
            lo = mid
        else:
            hi = mid
    return lo


def repeaterless_bound(eta) -> np.ndarray:
    """PLOB bound -log2(1 - eta), secret bits per channel use."""
    return -np.log2(1.0 - np.asarray(eta, float))


# ---------------------------------------------------------------- Lim 2014 evaluation model


@dataclass(frozen=True)
class SystemLim2014:
    """Fibre system of Lim et al. 2014, Sec. IV (dedicated fibre)."""

    eta_bob: float = 0.10
    p_dc: float = 6e-7
    p_ap: float = 4e-2
    e_mis: float = 5e-3
    alpha_db_km: float = 0.2
    f_ec: float = 1.16
    mu3: float = 2e-4
    kappa: float = 1e-15
    eps_cor: float = 1e-15


LIM2014 = SystemLim2014()


def lim2014_expected_key(
    sys: SystemLim2014, n_x: float, distance_km: float, q_x: float, p1: float, p2: float, mu1: float, mu2: float
) -> tuple[float, FiniteKey]:
    """Expected key rate per pulse and Eq. (1) outcome for block size ``n_x``; see :func:`_lim2014_key`."""
    rate, _, fk = _lim2014_key(sys, n_x, distance_km, q_x, p1, p2, mu1, mu2)
    return rate, fk


def _lim2014_key(
    sys: SystemLim2014, n_x: float, distance_km: float, q_x: float, p1: float, p2: float, mu1: float, mu2: float
) -> tuple[float, float, FiniteKey]:
    """(rate per pulse, Eq. (1) per pulse before the floor, Eq. (1) outcome) for block size ``n_x``.

    Detection and error model of Lim et al. Sec. IV: D_k = 1 - (1 - 2 p_dc) exp(-eta k),
    R_k = D_k (1 + p_ap), e_k = p_dc + e_mis (1 - exp(-eta k)) + p_ap D_k / 2, with
    eta = eta_ch eta_bob (the paper prints eta_ch in e_k; the system transmittance
    is the one consistent with D_k).  lambda_EC = f_EC n_X h(e_obs); eps_sec = kappa * l.
    """
    it = Intensities((mu1, mu2, sys.mu3), (p1, p2, 1.0 - p1 - p2))
    eta = sys.eta_bob * 10 ** (-sys.alpha_db_km * distance_km / 10)
    mu = np.array(it.mu)
    p = np.array(it.p)
    d = 1 - (1 - 2 * sys.p_dc) * np.exp(-eta * mu)
    r = d * (1 + sys.p_ap)
    e = sys.p_dc + sys.e_mis * (1 - np.exp(-eta * mu)) + sys.p_ap * d / 2
    n_pulses = n_x / (q_x**2 * float(p @ r))
    nx = n_pulses * q_x**2 * p * r
    nz = n_pulses * (1 - q_x) ** 2 * p * r
    mz = n_pulses * (1 - q_x) ** 2 * p * e
    e_obs = float(p @ e) / float(p @ r)
    lam = sys.f_ec * n_x * float(binary_entropy(e_obs))
    if math.isinf(n_x):  # asymptotic limit: per-pulse quantities, no finite-size terms
        nx, nz, mz = q_x**2 * p * r, (1 - q_x) ** 2 * p * r, (1 - q_x) ** 2 * p * e
        lam = sys.f_ec * float(nx.sum()) * float(binary_entropy(e_obs))
        fk = finite_key_length(nx, nz, mz, it, lam, finite=False)
        return max(0.0, fk.bits), fk.bits, fk
    eps_sec = 1e-10
    fk = finite_key_length(nx, nz, mz, it, lam, eps_sec, sys.eps_cor)
    for _ in range(3):  # eps_sec = kappa * l, solved by fixed-point iteration
        eps_sec = max(sys.kappa * min(max(fk.length, 1), n_x), 1e-300)  # l <= n_X: keeps eps_sec < 1
        fk = finite_key_length(nx, nz, mz, it, lam, eps_sec, sys.eps_cor)
    return fk.length / n_pulses, fk.bits / n_pulses, fk


def lim2014_optimized_rate(
    sys: SystemLim2014, n_x: float, distance_km: float, samples: int = 2048
) -> tuple[float, tuple]:
    """Key rate per pulse maximized over (q_x, p1, p2, mu1, mu2), as in Lim et al. Fig. 1.

    ``n_x=math.inf`` gives their dashed asymptotic curve (same three intensities).
    The search covers the whole physical box: q_x, p1 and p2 / (1 - p1) in
    (0, 1) and mu2 anywhere in (mu3, mu1 - mu3), each through a logit (mu1
    through a log) so that the local search can walk into any corner near 0
    or 1, where the small-block optimum lives (rare signal level, q_x far from
    1/2).  The rate is zero on most of that box at small blocks, so a scrambled
    Sobol sample of ``samples`` points, uniform over the box (q_x, p1, f2, r2
    in (0, 1), mu1 in (0, 2]), comes first, then Nelder-Mead in the unbounded
    transformed coordinates from the three best points.
    Returns (rate, (q_x, p1, p2, mu1, mu2)); rate 0 when no point gives a key.
    """
    from scipy.optimize import minimize
    from scipy.stats import qmc

    def params(v):
        q_x, p1, f2, r2 = (1.0 / (1.0 + math.exp(-min(max(float(t), -12.0), 12.0))) for t in (v[0], v[1], v[2], v[4]))
        mu1 = max(math.exp(min(max(float(v[3]), -7.0), 1.1)), 2 * sys.mu3 * (1 + 1e-9))  # 1e-3 .. 3
        return q_x, p1, (1 - p1) * f2, mu1, sys.mu3 + (mu1 - 2 * sys.mu3) * r2

    def raw(v):
        """Eq. (1) per pulse before its floor: negative where no key, but still pointing uphill."""
        q_x, p1, p2, mu1, mu2 = params(v)
        if not (mu1 > mu2 + sys.mu3 and mu2 > sys.mu3 and p1 + p2 < 1):  # edge of the box in floating point
            return -math.inf
        return _lim2014_key(sys, n_x, distance_km, q_x, p1, p2, mu1, mu2)[1]

    u = np.clip(qmc.Sobol(5, rng=7).random(samples), 1e-6, 1 - 1e-6)
    points = np.log(u / (1 - u))
    points[:, 3] = np.log(1e-3 + 2.0 * u[:, 3])
    values = np.array([raw(v) for v in points])
    best_v, best_r = points[int(np.argmax(values))], float(values.max())
    for start in points[np.argsort(values)[::-1][:3]]:
        res = minimize(
            lambda v: -raw(v), start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-14, "maxiter": 1200}
        )
        if -res.fun > best_r:
            best_v, best_r = res.x, -res.fun
    rate = _lim2014_key(sys, n_x, distance_km, *params(best_v))[0]
    if rate <= 0:
        return 0.0, ()
    return float(rate), tuple(float(x) for x in params(best_v))

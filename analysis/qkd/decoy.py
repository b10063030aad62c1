"""Decoy-state bounds: finite-size (Lim et al. 2014) and asymptotic (Ma et al. 2005).

Finite size: C. C. W. Lim, M. Curty, N. Walenta, F. Xu and H. Zbinden,
PRA 89, 022307 (2014).  Three intensities mu1 > mu2 + mu3, mu2 > mu3 >= 0
chosen with probabilities p1, p2, p3; counts per intensity in one basis.
Hoeffding deviations use eps1 = eps_sec / 21 (their App. B, Eq. (B4)).

Asymptotic: X. Ma, B. Qi, Y. Zhao and H.-K. Lo, PRA 72, 012326 (2005),
vacuum + weak decoy, Eqs. (34) and (37).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Intensities",
    "e1_upper_ma2005",
    "gamma",
    "hoeffding_delta",
    "phase_error_upper",
    "single_photon_errors_upper",
    "single_photon_events_lower",
    "tau",
    "vacuum_events_lower",
    "y1_lower_ma2005",
]


@dataclass(frozen=True)
class Intensities:
    """Mean photon numbers (mu1 signal, mu2 weak decoy, mu3 vacuum/weakest) and probabilities."""

    mu: tuple[float, float, float]
    p: tuple[float, float, float]

    def __post_init__(self):
        m1, m2, m3 = self.mu
        if not (m1 > m2 + m3 and m2 > m3 >= 0):
            raise ValueError(f"decoy: intensities {self.mu} must satisfy mu1 > mu2 + mu3, mu2 > mu3 >= 0")
        if min(self.p) <= 0 or abs(sum(self.p) - 1) > 1e-9:
            raise ValueError(f"decoy: probabilities {self.p} must be positive and sum to 1")


def tau(n: int, it: Intensities) -> float:
    """Probability that Alice sends an n-photon state, tau_n (Lim, after Eq. (2))."""
    pairs = zip(it.mu, it.p, strict=True)
    return sum(p * math.exp(-k) * k**n / math.factorial(n) for k, p in pairs)


def hoeffding_delta(total: float, eps_sec: float) -> float:
    """sqrt(total/2 ln(21/eps_sec)) (Lim, definition of n^{+-} after Eq. (2))."""
    return math.sqrt(max(total, 0.0) / 2.0 * math.log(21.0 / eps_sec))


def _pm(counts, it: Intensities, eps_sec: float):
    counts = np.asarray(counts, float)
    d = hoeffding_delta(counts.sum(), eps_sec)
    scale = np.array([math.exp(k) / p for k, p in zip(it.mu, it.p, strict=True)])
    return scale * (counts - d), scale * (counts + d)


def vacuum_events_lower(counts, it: Intensities, eps_sec: float) -> float:
    """Lower bound on vacuum events s_{X,0}, Lim Eq. (2). ``counts`` = n_{X,k}, k = 1..3."""
    lo, hi = _pm(counts, it, eps_sec)
    _, m2, m3 = it.mu
    return max(0.0, tau(0, it) * (m2 * lo[2] - m3 * hi[1]) / (m2 - m3))


def single_photon_events_lower(counts, it: Intensities, eps_sec: float) -> float:
    """Lower bound on single-photon events s_{X,1}, Lim Eq. (3)."""
    lo, hi = _pm(counts, it, eps_sec)
    m1, m2, m3 = it.mu
    s0 = vacuum_events_lower(counts, it, eps_sec)
    num = lo[1] - hi[2] - (m2**2 - m3**2) / m1**2 * (hi[0] - s0 / tau(0, it))
    den = m1 * (m2 - m3) - m2**2 + m3**2
    return max(0.0, tau(1, it) * m1 * num / den)


def single_photon_errors_upper(errors, it: Intensities, eps_sec: float) -> float:
    """Upper bound on single-photon bit errors v_{Z,1}, Lim Eq. (4). ``errors`` = m_{Z,k}."""
    lo, hi = _pm(errors, it, eps_sec)
    _, m2, m3 = it.mu
    return max(0.0, tau(1, it) * (hi[1] - lo[2]) / (m2 - m3))


def gamma(a: float, b: float, c: float, d: float) -> float:
    """gamma(a, b, c, d) of Lim Eq. (5) (random sampling without replacement)."""
    if not 0 < b < 1 or c <= 0 or d <= 0:
        return 0.0
    arg = (c + d) / (c * d * (1 - b) * b) * 21.0**2 / a**2
    if arg <= 1.0:
        return 0.0
    return math.sqrt((c + d) * (1 - b) * b / (c * d * math.log(2)) * math.log2(arg))


def phase_error_upper(v_z1: float, s_z1: float, s_x1: float, eps_sec: float, finite: bool = True) -> float:
    """Upper bound on the single-photon phase error rate phi_X, Lim Eq. (5); capped at 0.5.

    ``finite=False`` drops the sampling term gamma (infinite blocks).
    """
    if s_z1 <= 0 or s_x1 <= 0:
        return 0.5
    b = v_z1 / s_z1
    if b >= 0.5:
        return 0.5
    if not finite:
        return b
    if b <= 0:
        b = 1.0 / s_z1  # gamma vanishes at b = 0; use one error's worth to stay conservative
    return min(0.5, v_z1 / s_z1 + gamma(eps_sec, b, s_z1, s_x1))


def y1_lower_ma2005(mu: float, nu: float, q_mu: float, q_nu: float, y0: float) -> float:
    """Single-photon yield lower bound, vacuum + weak decoy, Ma et al. Eq. (34)."""
    val = (
        mu
        / (mu * nu - nu**2)
        * (q_nu * math.exp(nu) - q_mu * math.exp(mu) * nu**2 / mu**2 - (mu**2 - nu**2) / mu**2 * y0)
    )
    return max(val, 0.0)


def e1_upper_ma2005(nu: float, q_nu: float, e_nu: float, y0: float, y1_l: float, e0: float = 0.5) -> float:
    """Single-photon error rate upper bound, Ma et al. Eq. (37)."""
    if y1_l <= 0:
        return 0.5
    return min(0.5, max(0.0, (e_nu * q_nu * math.exp(nu) - e0 * y0) / (y1_l * nu)))

"""BBM92 (entanglement-based BB84) key rates with a PDC pair source.

Asymptotic: X. Ma, C.-H. F. Fung and H.-K. Lo, "Quantum key distribution with
entangled photon sources", PRA 76, 012307 (2007), Sec. III.  A pulsed PDC
source emits n pairs with the thermal distribution

    P(n) = (n + 1) lam^n / (1 + lam)^(n + 2)      (lam: half the mean pair number),

Alice's and Bob's arms have transmittances eta_A, eta_B (fibre times detector)
and background (dark-count) probabilities Y0A, Y0B per pulse; an n-pair state
gives a coincidence with probability
Y_n = [1 - (1 - Y0A)(1 - eta_A)^n] [1 - (1 - Y0B)(1 - eta_B)^n].  Summing over n:

    Q = 1 - (1 - Y0A)/(1 + eta_A lam)^2 - (1 - Y0B)/(1 + eta_B lam)^2
          + (1 - Y0A)(1 - Y0B)/(1 + eta_A lam + eta_B lam - eta_A eta_B lam)^2
    E Q = e0 Q - 2 (e0 - e_d) eta_A eta_B lam (1 + lam)
          / [(1 + eta_A lam)(1 + eta_B lam)(1 + eta_A lam + eta_B lam - eta_A eta_B lam)]

with e0 = 1/2 (background) and e_d the intrinsic (misalignment) error.  The
source is basis independent, so Koashi-Preskill's analysis applies and the
phase error equals the bit error: R = q Q [1 - f h(E) - h(E)], q = 1/2 for
symmetric basis choice (q_x^2 when both sides pick the key basis with q_x).

Finite size: M. Tomamichel, C. C. W. Lim, N. Gisin and R. Renner, "Tight
finite-key analysis for quantum cryptography", Nat. Commun. 3, 634 (2012),
Eq. (2), the entanglement-based BB84 protocol with asymmetric basis choice:
n key-basis bits, k test-basis bits with error rate e_test,

    l = n [1 - h(e_test + mu)] - leak_EC - log2(2 / (eps_sec^2 eps_cor)),
    mu = sqrt((n + k)/(n k) (k + 1)/k ln(2 / eps_sec)),

which treats the source as an untrusted box (no photon-number assumption),
valid for threshold detectors with double clicks mapped to random bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .estimation import binary_entropy

__all__ = [
    "BBM92FiniteKey",
    "SystemBBM92",
    "bbm92_asymptotic_rate",
    "bbm92_expected_finite_rate",
    "bbm92_finite_key",
    "bbm92_finite_key_length",
    "bbm92_gain_error",
    "bbm92_optimal_lambda",
    "bbm92_transmittances",
    "mfl_rate",
]


@dataclass(frozen=True)
class SystemBBM92:
    """Fibre link and detectors for a PDC source; ``source_fraction`` of the fibre is on Alice's side.

    ``source_fraction=0.5``: source in the middle; ``0``: source at Alice
    (her arm has only her detector).  ``y0_a``/``y0_b``: background
    probability per pulse of each side (both of its detectors).
    """

    alpha_db_km: float = 0.2
    eta_det_a: float = 0.1
    eta_det_b: float = 0.1
    y0_a: float = 2e-6
    y0_b: float = 2e-6
    e_detector: float = 0.015
    f_ec: float = 1.16
    source_fraction: float = 0.5
    e0: float = 0.5


def bbm92_transmittances(sys: SystemBBM92, distance_km: float) -> tuple[float, float]:
    """(eta_A, eta_B): fibre transmittance of each arm times its detector efficiency."""
    la = sys.source_fraction * distance_km
    lb = distance_km - la
    return (
        sys.eta_det_a * 10.0 ** (-sys.alpha_db_km * la / 10.0),
        sys.eta_det_b * 10.0 ** (-sys.alpha_db_km * lb / 10.0),
    )


def bbm92_gain_error(sys: SystemBBM92, distance_km: float, lam: float) -> tuple[float, float]:
    """Coincidence gain Q and QBER E per pulse (Ma, Fung and Lo 2007, Sec. III)."""
    if lam <= 0:
        raise ValueError(f"BBM92: lam={lam} must be positive (half the mean pair number per pulse)")
    ea, eb = bbm92_transmittances(sys, distance_km)
    a, b = ea * lam, eb * lam
    c = a + b - ea * eb * lam
    both = 1 + c
    # Q as printed, 1 - u - v + w, cancels to nothing at high loss; the same sum regrouped
    # (u = (1+a)^-2, v = (1+b)^-2, w = (1+c)^-2, c - b = a (1 - eb), c - a = b (1 - ea)):
    signal = a * ((2 + a) / (1 + a) ** 2 - (1 - eb) * (2 + b + c) / ((1 + b) ** 2 * both**2))
    u_w = b * (1 - ea) * (2 + a + c) / ((1 + a) ** 2 * both**2)
    v_w = a * (1 - eb) * (2 + b + c) / ((1 + b) ** 2 * both**2)
    q = signal + sys.y0_a * u_w + sys.y0_b * v_w + sys.y0_a * sys.y0_b / both**2
    correlated = 2 * (sys.e0 - sys.e_detector) * ea * eb * lam * (1 + lam) / ((1 + ea * lam) * (1 + eb * lam) * both)
    return float(q), float((sys.e0 * q - correlated) / q)


def mfl_rate(
    gain: float, qber: float, q_basis: float = 0.5, f_ec: float = 1.16, phase_error: float | None = None
) -> float:
    """Ma, Fung and Lo's asymptotic rate q Q [1 - f h(E) - h(E_p)], before the floor (per pulse, or per second
    when ``gain`` is a coincidence rate in Hz).

    ``phase_error`` defaults to the bit error ``qber`` (a basis-independent source, Koashi-Preskill);
    on the bench it is the other basis's measured QBER.
    """
    e_p = qber if phase_error is None else phase_error
    return q_basis * gain * (1 - f_ec * float(binary_entropy(qber)) - float(binary_entropy(min(e_p, 0.5))))


def _rate_unfloored(sys: SystemBBM92, distance_km: float, lam: float, q_basis: float) -> float:
    q, e = bbm92_gain_error(sys, distance_km, lam)
    return mfl_rate(q, e, q_basis, sys.f_ec)


def bbm92_asymptotic_rate(sys: SystemBBM92, distance_km: float, lam: float, q_basis: float = 0.5) -> float:
    """Secret bits per pulse, R = q Q [1 - f h(E) - h(E)], floored at 0.

    ``q_basis``: fraction of coincidences in the key basis after sifting
    (1/2 for symmetric BB84 choices, q_x^2 for biased choices).
    """
    return max(0.0, _rate_unfloored(sys, distance_km, lam, q_basis))


def bbm92_optimal_lambda(sys: SystemBBM92, distance_km: float) -> float:
    """lam maximizing the asymptotic rate (grid over 1e-5 .. 1 on the unfloored rate, then bounded refine)."""
    from scipy.optimize import OptimizeResult, minimize_scalar

    grid = np.geomspace(1e-5, 1.0, 121)
    raw = [_rate_unfloored(sys, distance_km, float(x), 0.5) for x in grid]
    i = int(np.argmax(raw))
    a, b = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    res: OptimizeResult = minimize_scalar(  # pyright: ignore[reportAssignmentType]  (scipy types it as object)
        lambda x: -_rate_unfloored(sys, distance_km, x, 0.5), bounds=(a, b), method="bounded", options={"xatol": 1e-9}
    )
    return float(res.x) if -res.fun >= raw[i] else float(grid[i])


@dataclass(frozen=True)
class BBM92FiniteKey:
    """One block's Tomamichel et al. Eq. (2): inputs, the deviation ``mu`` and the length (bits)."""

    n_key: int
    n_test: int
    e_test: float
    leak_ec: float
    mu: float
    bits: float
    """Eq. (2) before the floor (negative: no key)."""
    length: int
    reason: str = ""


def bbm92_finite_key(
    n_key: int, n_test: int, e_test: float, leak_ec: float, eps_sec: float = 1e-10, eps_cor: float = 1e-15
) -> BBM92FiniteKey:
    """:func:`bbm92_finite_key_length` with its parts, floored to whole bits (``reason`` says why none)."""
    bits = bbm92_finite_key_length(n_key, n_test, e_test, leak_ec, eps_sec, eps_cor)
    mu = math.inf
    if n_key > 0 and n_test > 0:
        mu = math.sqrt((n_key + n_test) / (n_key * n_test) * (n_test + 1) / n_test * math.log(2 / eps_sec))
    length = max(0, math.floor(bits)) if math.isfinite(bits) else 0
    reason = ""
    if length == 0:
        reason = (
            f"Tomamichel et al. Eq. (2) gives {bits:.0f} bits: n = {n_key}, k = {n_test}, "
            f"e_test + mu = {e_test:.4f} + {mu:.4f}, leak_EC = {leak_ec:.0f}"
        )
    return BBM92FiniteKey(int(n_key), int(n_test), float(e_test), float(leak_ec), mu, bits, length, reason)


def bbm92_finite_key_length(
    n_key: float, n_test: float, e_test: float, leak_ec: float, eps_sec: float = 1e-10, eps_cor: float = 1e-15
) -> float:
    """Secret bits from one block, Tomamichel et al. 2012 Eq. (2), before the floor (negative: none).

    Parameters
    ----------
    n_key, n_test : float
        Sifted bits in the key basis (n) and the test basis (k).
    e_test : float
        Error rate observed on the test bits.
    leak_ec : float
        Bits disclosed by error correction.
    """
    if n_key <= 0 or n_test <= 0:
        return -math.inf
    mu = math.sqrt((n_key + n_test) / (n_key * n_test) * (n_test + 1) / n_test * math.log(2 / eps_sec))
    e = e_test + mu
    h = 1.0 if e >= 0.5 else float(binary_entropy(e))
    return n_key * (1 - h) - leak_ec - math.log2(2 / (eps_sec**2 * eps_cor))


def bbm92_expected_finite_rate(
    sys: SystemBBM92,
    distance_km: float,
    lam: float,
    n_key: float,
    q_x: float = 0.5,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-15,
) -> float:
    """Secret bits per pulse for blocks of ``n_key`` key-basis bits with expected statistics.

    Both sides choose the key basis with probability ``q_x``: the block takes
    N = n_key / (q_x^2 Q) pulses, gives k = N (1 - q_x)^2 Q test bits at the
    model's QBER E, and leak_EC = f n_key h(E).  Floored at 0.  Never above
    ``bbm92_asymptotic_rate(sys, d, lam, q_basis=q_x**2)`` (mu > 0 and the
    log term are both penalties).
    """
    q, e = bbm92_gain_error(sys, distance_km, lam)
    n_pulses = n_key / (q_x**2 * q)
    n_test = n_pulses * (1 - q_x) ** 2 * q
    ell = bbm92_finite_key_length(n_key, n_test, e, sys.f_ec * n_key * float(binary_entropy(e)), eps_sec, eps_cor)
    return max(0.0, ell) / n_pulses

"""QBER estimation with exact (Clopper-Pearson) binomial confidence bounds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

__all__ = ["QberEstimate", "binary_entropy", "qber", "qber_from_counts"]


def binary_entropy(x):
    """h(x) = -x log2 x - (1-x) log2(1-x), with h(0) = h(1) = 0 (bits)."""
    x = np.clip(np.asarray(x, float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -x * np.log2(x) - (1 - x) * np.log2(1 - x)
    h = np.where((x <= 0) | (x >= 1), 0.0, h)
    return h if h.ndim else float(h)


@dataclass(frozen=True)
class QberEstimate:
    """Errors ``errors`` among ``n`` compared bits, with a two-sided interval."""

    n: int
    errors: int
    value: float
    lower: float
    upper: float
    confidence: float


def qber_from_counts(n: int, errors: int, confidence: float = 0.99) -> QberEstimate:
    """QBER and Clopper-Pearson interval at ``confidence`` (two-sided)."""
    if n <= 0:
        raise ValueError("QBER estimation: no compared bits")
    if not 0 <= errors <= n:
        raise ValueError(f"QBER estimation: errors={errors} not in [0, {n}]")
    a = 1.0 - confidence
    lo = 0.0 if errors == 0 else float(beta.ppf(a / 2, errors, n - errors + 1))
    hi = 1.0 if errors == n else float(beta.ppf(1 - a / 2, errors + 1, n - errors))
    return QberEstimate(int(n), int(errors), errors / n, lo, hi, confidence)


def qber(alice_bits: np.ndarray, bob_bits: np.ndarray, confidence: float = 0.99) -> QberEstimate:
    """QBER of two disclosed bit strings of equal length."""
    a, b = np.asarray(alice_bits), np.asarray(bob_bits)
    if a.shape != b.shape:
        raise ValueError(f"QBER estimation: lengths differ ({a.size} vs {b.size})")
    return qber_from_counts(a.size, int(np.count_nonzero(a != b)), confidence)

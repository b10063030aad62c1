"""Detector health: dark counts, the SNSPD bias choice, latch detection, the pair-source check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import chi2


def dark_rate_hz(counts: int, duration_s: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Dark count rate (Hz) with its exact Poisson (Garwood) interval: (rate, low, high)."""
    if duration_s <= 0 or counts < 0:
        raise ValueError(f"need counts >= 0 and duration_s > 0, got {counts} and {duration_s}")
    alpha = 1 - confidence
    low = 0.0 if counts == 0 else chi2.ppf(alpha / 2, 2 * counts) / 2
    high = chi2.ppf(1 - alpha / 2, 2 * counts + 2) / 2
    return counts / duration_s, float(low / duration_s), float(high / duration_s)


@dataclass(frozen=True)
class BiasChoice:
    """The chosen SNSPD bias and why: plateau efficiency, the efficiency and dark rate at the bias, the fit."""

    bias_ua: float | None
    plateau_efficiency: float
    efficiency: float
    dark_hz: float
    reason: str
    fit: tuple[float, float, float]  # (plateau, mid_ua, width_ua) of the sigmoid


def _sigmoid(bias, plateau, mid, width):
    return plateau / (1 + np.exp(-(bias - mid) / width))


def choose_bias(
    bias_ua, efficiency, dark_hz, *, plateau_fraction: float = 0.95, dark_budget_hz: float = 100.0
) -> BiasChoice:
    """The lowest swept bias whose efficiency reaches ``plateau_fraction`` of the plateau within the dark budget.

    The plateau is the saturation of a sigmoid η(I) = η_max/(1 + e^{−(I − I_mid)/w}) fitted
    to the sweep (a sweep that never flattens out is caught: its fitted plateau lies far
    above the largest measured efficiency). Efficiencies may be relative (count rate
    over the incident photon rate). When no bias meets both conditions, ``bias_ua`` is None
    and ``reason`` says which failed.
    """
    b, eff, dark = (np.asarray(x, float) for x in (bias_ua, efficiency, dark_hz))
    if not b.shape == eff.shape == dark.shape or b.size < 4:
        raise ValueError(
            f"bias, efficiency and dark counts need >= 4 equal-length points, got {b.shape}, {eff.shape}, {dark.shape}"
        )
    order = np.argsort(b)
    b, eff, dark = b[order], eff[order], dark[order]
    p0 = [eff.max(), b[np.argmin(np.abs(eff - eff.max() / 2))], max((b[-1] - b[0]) / 20, 1e-3)]
    (plateau, mid, width), _ = curve_fit(_sigmoid, b, eff, p0=p0, maxfev=10_000)
    fit = (float(plateau), float(mid), float(abs(width)))
    if plateau > 1.2 * eff.max():
        return BiasChoice(None, fit[0], 0.0, 0.0, "no efficiency plateau within the swept bias range", fit)
    good = eff >= plateau_fraction * plateau
    quiet = dark <= dark_budget_hz
    both = np.flatnonzero(good & quiet)
    if both.size == 0:
        why = (
            "no bias reaches the plateau fraction"
            if not good.any()
            else f"dark counts exceed {dark_budget_hz:g} Hz wherever the efficiency is on the plateau"
        )
        return BiasChoice(None, fit[0], 0.0, 0.0, why, fit)
    i = int(both[0])
    rule = f"lowest bias with efficiency >= {plateau_fraction:.0%} of plateau and dark <= {dark_budget_hz:g} Hz"
    return BiasChoice(float(b[i]), fit[0], float(eff[i]), float(dark[i]), rule, fit)


def detect_latch(rate_hz, *, expected_hz: float, dead_fraction: float = 0.01, min_bins: int = 3) -> int | None:
    """Index of the first bin of a latch in a rate trace, or None.

    A latched SNSPD stops clicking: the rate falls below ``dead_fraction`` of the expected
    rate (which must be well above the dark counts) for ``min_bins`` consecutive bins
    after having clicked.
    """
    rate = np.asarray(rate_hz, float)
    if expected_hz <= 0:
        raise ValueError(f"expected_hz must be > 0, got {expected_hz}")
    dead = rate < dead_fraction * expected_hz
    alive_before = np.cumsum(~dead) > 0
    run = 0
    for i, (is_dead, was_alive) in enumerate(zip(dead, alive_before, strict=True)):
        run = run + 1 if (is_dead and was_alive) else 0
        if run >= min_bins:
            return i - min_bins + 1
    return None


def pair_visibility(parallel: float, orthogonal: float) -> tuple[float, float]:
    """Two-photon visibility (C_∥ − C_⊥)/(C_∥ + C_⊥) and its Poisson error."""
    total = parallel + orthogonal
    if total <= 0:
        raise ValueError("no coincidences: visibility undefined")
    v = (parallel - orthogonal) / total
    err = 2 * np.sqrt(parallel * orthogonal / total**3)
    return float(v), float(err)


def pair_source_check(counts_by_basis: dict[str, tuple[float, float]], threshold: float = 0.9) -> dict:
    """Visibility per basis (name -> (C_∥, C_⊥)) against ``threshold``: per-basis results and ``passed``."""
    out: dict = {"threshold": threshold, "bases": {}}
    for basis, (par, orth) in counts_by_basis.items():
        v, err = pair_visibility(par, orth)
        out["bases"][basis] = {"visibility": v, "error": err, "passed": v >= threshold}
    out["passed"] = all(b["passed"] for b in out["bases"].values())
    return out

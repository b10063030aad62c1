"""CHSH S from coincidences, with Poisson uncertainties (raw and accidental-corrected).

``S = E(a, b) + E(a, b′) + E(a′, b) − E(a′, b′)`` (the pair ``minus`` carries the minus
sign; default the fourth). Each correlation is
``E = (N++ − N+− − N−+ + N−−) / (N++ + N+− + N−+ + N−−)`` from the four outcomes of a
setting pair: both PBS outputs at once, or the transmitted port at the four
orthogonal-setting combinations (a/a⊥ × b/b⊥) — the arrays have the same layout.
For Φ+ the polarizer angles ``a = 0°, a′ = 45°, b = 22.5°, b′ = −22.5°`` give
``S = 2√2 V`` (``E(α, β) = V cos 2(α − β)``); local models obey ``|S| <= 2``.

Uncertainty: the counts are independent Poisson variables, so
``σ_E² = Σ_k (∂E/∂N_k)² N_k`` (for raw counts this is ``(1 − E²)/N``); with accidentals
subtracted the derivatives are those of the corrected E but the variance is still that
of the recorded (raw) counts, plus any stated variance of the accidental estimate.
"""

from dataclasses import dataclass

import numpy as np

CHSH_ANGLES_DEG = {"a": 0.0, "a'": 45.0, "b": 22.5, "b'": -22.5}
"""Analyzer (polarizer-axis) angles that maximize S for Φ+ with the sign convention above."""

_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # outcome order ++, +−, −+, −−


@dataclass(frozen=True)
class ChshResult:
    """S, its standard deviation and the correlations.

    Attributes
    ----------
    s, s_std : float
        CHSH value and its standard deviation.
    correlations, correlation_std : numpy.ndarray
        (4,) E of the setting pairs (a b, a b′, a′ b, a′ b′) and their standard deviations.
    sigmas_above_2 : float
        ``(|S| − 2) / σ_S`` (negative when below the local bound).
    """

    s: float
    s_std: float
    correlations: np.ndarray
    correlation_std: np.ndarray
    sigmas_above_2: float


def chsh(counts, *, accidentals=None, accidentals_var=None, efficiency=None, minus=3):
    """CHSH S with Poisson uncertainty.

    Parameters
    ----------
    counts : array_like
        (4, 4) coincidences: rows the setting pairs (a b, a b′, a′ b, a′ b′), columns the
        outcomes (++, +−, −+, −−).
    accidentals : array_like, optional
        (4, 4) expected accidental coincidences, subtracted before forming E.
    accidentals_var : array_like, optional
        (4, 4) variance of the accidental estimates (default 0: known exactly).
    efficiency : array_like, optional
        (4,) relative efficiency of the outcome detector pairs (++, +−, −+, −−); counts are
        divided by it (matters only when the two PBS outputs are used).
    minus : int
        Index of the setting pair that enters S with a minus sign.

    Returns
    -------
    ChshResult
    """
    n = np.asarray(counts, dtype=float)
    if n.shape != (4, 4):
        raise ValueError(f"chsh counts: expected shape (4, 4) (setting pairs × outcomes), got {n.shape}")
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError("chsh counts: must be finite and >= 0")
    acc = np.zeros((4, 4)) if accidentals is None else np.asarray(accidentals, dtype=float)
    acc_var = np.zeros((4, 4)) if accidentals_var is None else np.asarray(accidentals_var, dtype=float)
    eff = np.ones(4) if efficiency is None else np.asarray(efficiency, dtype=float)
    if acc.shape != (4, 4) or acc_var.shape != (4, 4) or eff.shape != (4,) or np.any(eff <= 0):
        raise ValueError("chsh: accidentals (4, 4), accidentals_var (4, 4) and efficiency (4,) > 0 expected")
    if minus not in range(4):
        raise ValueError(f"chsh: minus = {minus!r} must be 0..3")
    corrected = (n - acc) / eff
    total = corrected.sum(axis=1)
    if np.any(total <= 0):
        bad = int(np.nonzero(total <= 0)[0][0])
        raise ValueError(f"chsh: setting pair {bad} has no coincidences left after accidental subtraction")
    e = corrected @ _SIGNS / total
    # ∂E/∂N_k = (s_k − E) / (η_k · total) for the corrected E
    derivative = (_SIGNS[None, :] - e[:, None]) / (eff[None, :] * total[:, None])
    e_var = np.sum(derivative**2 * (n + acc_var), axis=1)
    sign = np.ones(4)
    sign[minus] = -1
    s = float(sign @ e)
    s_std = float(np.sqrt(np.sum(e_var)))
    sigmas = (abs(s) - 2) / s_std if s_std > 0 else float("inf") * np.sign(abs(s) - 2)
    return ChshResult(s, s_std, e, np.sqrt(e_var), float(sigmas))

"""Closed form of a CW pair source seen by free-running detectors: singles, coincidences, QBER.

The source emits pairs at Poisson times at ``pair_rate_hz`` in the Werner state
V |Phi+><Phi+| + (1 - V) I/4. Photon A reaches each of Alice's two analyzer ports with
probability eta_A / 2 (eta_A: coupling x fibre x detector efficiency), B likewise. Each
detector has dark counts, a non-paralyzable dead time tau and, after each registered
click, an afterpulse with probability p at tau + Exp(mean a).

Per detector, with r = R eta / 2 + dark the rate of would-be clicks, the clicks form a
renewal process of mean interval tau + (1 - p)/r + p/(r + 1/a), so it registers
m = 1 / (that) clicks per second and is live a fraction L = 1 - m tau of the time.
A pair sent to ports (i, j) is registered on both when both detectors are live; the
two are dead together after a common pair, which adds c_ij tau (1 - (m_i + m_j) tau) to
L_i L_j (c_ij the rate of registered pairs on (i, j), first order in tau). With matched
analyzer bases P(TT) = P(RR) = (1 + V)/4 and P(TR) = P(RT) = (1 - V)/4; with bases
differing by 45 deg every port pair has 1/4. Uncorrelated clicks coincide at
m_i m_j 2 w (w: the largest |t_B - t_A|, full width 2 w) and are wrong half the time;
true pairs fall outside the window with probability erfc(w / (sqrt 2 sigma)).
Double clicks on one side (about m 2 w, < 1e-3 on the sim lab) are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PairRates", "cw_pair_rates", "fibre_transmittance"]


def fibre_transmittance(length_km: float, loss_db_per_km: float = 0.2) -> float:
    """10^(-alpha L / 10)."""
    return 10.0 ** (-loss_db_per_km * length_km / 10.0)


@dataclass(frozen=True)
class PairRates:
    """What the closed form predicts (rates in Hz, per second of acquisition).

    Attributes
    ----------
    singles_hz : registered clicks per detector, (A_T, A_R, B_T, B_R)
    live : live fraction of each detector, same order
    true_hz : coincidences from one pair, inside the window
    accidental_hz : coincidences of uncorrelated clicks
    qber : error fraction of all coincidences (matched bases)
    """

    singles_hz: tuple[float, float, float, float]
    live: tuple[float, float, float, float]
    true_hz: float
    accidental_hz: float
    qber: float

    @property
    def coincidence_hz(self) -> float:
        return self.true_hz + self.accidental_hz


def _registered(incident_hz: float, dead_s: float, p_ap: float, ap_delay_s: float) -> float:
    if incident_hz <= 0:
        return 0.0
    after = p_ap / (incident_hz + 1.0 / ap_delay_s) if p_ap > 0 else 0.0
    return 1.0 / (dead_s + (1 - p_ap) / incident_hz + after)


def cw_pair_rates(
    pair_rate_hz: float,
    eta_a: float,
    eta_b: float,
    visibility: float,
    window_ps: float,
    *,
    dark_hz: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
    dead_time_s: float = 0.0,
    afterpulse_probability: float = 0.0,
    afterpulse_delay_s: float = 2e-6,
    jitter_ps: float = 0.0,
    matched: bool = True,
) -> PairRates:
    """Singles, coincidences and QBER of the source (module docstring).

    Parameters
    ----------
    pair_rate_hz : pairs emitted per second
    eta_a, eta_b : probability that photon A (B) is detected by a live detector of its side
    visibility : Werner visibility V
    window_ps : coincidence window, the largest |t_B - t_A| (ps)
    dark_hz : dark count rate of each detector (A_T, A_R, B_T, B_R) (Hz)
    dead_time_s : non-paralyzable dead time of every detector (s)
    afterpulse_probability, afterpulse_delay_s : afterpulse per registered click and its mean delay after
        the dead time (s)
    jitter_ps : rms of t_B - t_A for one pair (ps)
    matched : analyzers in the same basis (else 45 deg apart: no correlation)
    """
    for name, value in (("eta_a", eta_a), ("eta_b", eta_b), ("visibility", visibility)):
        if not 0 <= value <= 1:
            raise ValueError(f"cw_pair_rates: {name}={value} must be in [0, 1]")
    if pair_rate_hz < 0 or window_ps <= 0 or dead_time_s < 0:
        raise ValueError(
            f"cw_pair_rates: pair_rate_hz={pair_rate_hz} (>= 0), window_ps={window_ps} (> 0), "
            f"dead_time_s={dead_time_s} (>= 0)"
        )
    eta = (eta_a, eta_a, eta_b, eta_b)
    m = [
        _registered(pair_rate_hz * e / 2 + d, dead_time_s, afterpulse_probability, afterpulse_delay_s)
        for e, d in zip(eta, dark_hz, strict=True)
    ]
    live = [1 - x * dead_time_s for x in m]
    inside = math.erf(window_ps / (math.sqrt(2) * jitter_ps)) if jitter_ps > 0 else 1.0
    same, other = ((1 + visibility) / 4, (1 - visibility) / 4) if matched else (0.25, 0.25)
    true = errors = accidental = 0.0
    for i in (0, 1):
        for j in (2, 3):
            wrong = (i == 0) != (j == 2)
            p = other if wrong else same
            sent = pair_rate_hz * eta_a * eta_b * p
            registered = sent * live[i] * live[j]
            both_live = live[i] * live[j] + registered * dead_time_s * (1 - (m[i] + m[j]) * dead_time_s)
            c = sent * both_live * inside
            true += c
            errors += c if wrong else 0.0
            accidental += m[i] * m[j] * 2 * window_ps * 1e-12
    total = true + accidental
    qber = (errors + accidental / 2) / total if total > 0 else 0.5
    return PairRates(tuple(m), tuple(live), true, accidental, qber)  # pyright: ignore[reportArgumentType]

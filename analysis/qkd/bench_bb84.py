"""Closed form of the bench's decoy BB84 receivers: gain and QBER per intensity and basis.

Alice sends a weak coherent pulse of mean photon number mu_k (level k) in state (basis b,
bit a), i.i.d. per slot (basis X with probability q_x, level k with p_k). A coherent pulse
splits into independent Poisson modes, so each detector gate fires independently with
p = 1 - (1 - d) exp(-eta m) (m: mean photons reaching it, eta: its efficiency, d: its dark
count probability per gate). Bob's decoding (Lim et al. 2014, Sec. II step 2, squashing):
no click, no detection; one click gives its basis and bit; clicks in one basis give that
basis and a random bit; clicks in both bases a random basis and a random bit.

Receivers:

- polarization (:func:`polarization_receiver`): 50:50 splitter to a Z (H/V) and an X (D/A)
  analyzer; an analyzer in Alice's basis sends 1 - e of the light to the right port and e
  (``misalignment``) to the other, one in the other basis 1/2 to each.
- time-bin (:func:`time_bin_receiver`): 50:50 splitter; detector Z sees the early or late
  bin (the bit); an unbalanced Mach-Zehnder (arm difference = bin separation) gives each
  output three arrival positions: 1/4 of the early bin, the middle (1 + s V cos phi)/4
  (s = +1 for X0 sent to output X0, -1 to X1; 1/4 for Z states) and 1/4 of the late bin.
  Only the middle is decoded; a side-peak click is dropped but leaves the detector dead.

Dead time (non-paralyzable, ``dead_slots`` whole slots after a registered click in which
the detector's gates are dead): with the pattern i.i.d. per slot, a detector is live in a
slot with probability L = 1 / (1 + n r), r its probability to register in a live slot
(averaged over Alice's states and levels), n = ``dead_slots`` (renewal: a live run lasts
1/r slots on average, then n dead ones), independently of what Alice sends in that slot.
Inside a slot only a detector's first click registers (the gates are ns apart). Neglected:
correlations between different detectors' dead times (a relative 1e-3 of the double
clicks) and, time-bin, the late side peak of slot s + n when the click of slot s was an
early side peak (a relative 4e-4 of r). Dark counts outside the gates are too rare here
(1e-6 per slot) to matter for dead time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .decoy import Intensities
from .estimation import binary_entropy
from .keyrate import FiniteKey, finite_key_length

__all__ = [
    "ReceiverExpectation",
    "dead_slots",
    "expected_finite_key",
    "finite_key_spread",
    "polarization_receiver",
    "time_bin_receiver",
]

# outcome of a gate: (basis, bit); a detector's possible registrations per state are
# lists of (probability, outcome or None)


def dead_slots(dead_time_ps: float, period_ps: float, span_ps: float = 0.0) -> int:
    """Slots after a click whose gates are all dead: j >= 1 with j period + span < dead time.

    ``span_ps``: the latest decoded gate after the earliest click position within a slot
    (0 for polarization, the bin separation for time-bin).
    """
    if dead_time_ps < 0 or period_ps <= 0:
        raise ValueError(f"bench_bb84: dead time {dead_time_ps} ps and period {period_ps} ps must be >= 0 and > 0")
    return max(0, math.ceil((dead_time_ps - span_ps) / period_ps) - 1)


@dataclass(frozen=True)
class ReceiverExpectation:
    """Per-slot probabilities, indexed [basis b of Alice (0 Z, 1 X), level k].

    Attributes
    ----------
    mu : mean photon numbers of the levels (signal, decoy, vacuum)
    gain : P(Bob has a detection | level k), shape (3,), Alice's bases mixed by q_x
    sifted : P(Bob's basis equals Alice's | b, k), shape (2, 3)
    errors : P(sifted and Bob's bit differs | b, k), shape (2, 3)
    double : P(double click | level k), shape (3,), bases mixed by q_x
    live : each detector's live fraction
    """

    mu: tuple[float, float, float]
    gain: np.ndarray
    sifted: np.ndarray
    errors: np.ndarray
    double: np.ndarray
    live: dict[str, float]

    @property
    def qber(self) -> np.ndarray:
        """E[b, k] = errors / sifted (nan where nothing is sifted)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.sifted > 0, self.errors / self.sifted, np.nan)

    def counts(self, slots: int, q_x: float, p: tuple[float, float, float]) -> dict[str, np.ndarray]:
        """Expected counts of ``slots`` slots: sent per level, detections per level, sifted and errors [b, k]."""
        p_arr = np.asarray(p, float)
        q = np.array([1.0 - q_x, q_x])[:, None]
        sent = slots * p_arr
        return {
            "sent": sent,
            "detected": sent * self.gain,
            "sifted": sent * q * self.sifted,
            "errors": sent * q * self.errors,
        }


def _registrations(detectors: dict[str, list[list[tuple[float, tuple[int, int] | None]]]], n_dead: int, weights):
    """Live fractions, then per state the registered outcome distribution of each detector.

    ``detectors[name][state]``: the detector's gates in time order as (fire probability,
    outcome or None for a dropped side peak); a live detector registers its first firing gate.
    ``weights``: probability of each state (Alice's basis, bit and level).
    """
    live, per_state = {}, {}
    for name, gates_by_state in detectors.items():
        dists = []
        for gates in gates_by_state:
            none_yet, dist = 1.0, []
            for fire, outcome in gates:
                dist.append((none_yet * fire, outcome))
                none_yet *= 1.0 - fire
            dists.append((1.0 - none_yet, dist))
        r = float(sum(w * reg for w, (reg, _) in zip(weights, dists, strict=True)))
        live[name] = 1.0 / (1.0 + n_dead * r)
        per_state[name] = [dist for _, dist in dists]
    return live, per_state


def _decode(outcomes: list[tuple[int, int]], basis: int, bit: int) -> tuple[float, float, bool]:
    """(P sifted, P sifted with a wrong bit, double click) of one set of registered outcomes."""
    codes = set(outcomes)
    if len(codes) == 1:
        b, a = next(iter(codes))
        return (1.0, float(a != bit), False) if b == basis else (0.0, 0.0, False)
    bases = {b for b, _ in codes}
    if bases == {basis}:
        return 1.0, 0.5, True
    if len(bases) == 2:
        return 0.5, 0.25, True
    return 0.0, 0.0, True


def _expect(mu, detectors, n_dead, q_x, p) -> ReceiverExpectation:
    """Enumerate every combination of registered outcomes per state (states: (b, a, k) in order)."""
    states = [(b, a, k) for b in (0, 1) for a in (0, 1) for k in range(3)]
    weights = [(q_x if b else 1.0 - q_x) * 0.5 * p[k] for b, a, k in states]
    live, per_state = _registrations(detectors, n_dead, weights)
    gain, double = np.zeros(3), np.zeros(3)
    sifted, errors = np.zeros((2, 3)), np.zeros((2, 3))
    names = list(detectors)
    for s, (b, a, k) in enumerate(states):
        options = []
        for name in names:
            reg = [(live[name] * prob, out) for prob, out in per_state[name][s] if out is not None]
            options.append([(1.0 - sum(x for x, _ in reg), None), *reg])
        for combo in itertools.product(*options):
            prob = math.prod(x for x, _ in combo)
            outs = [out for _, out in combo if out is not None]
            if not outs or prob == 0.0:
                continue
            sift, err, dbl = _decode(outs, b, a)
            q_b = q_x if b else 1.0 - q_x
            gain[k] += q_b * 0.5 * prob  # each bit is half of a basis's slots
            double[k] += q_b * 0.5 * prob * dbl
            sifted[b, k] += 0.5 * prob * sift
            errors[b, k] += 0.5 * prob * err
    return ReceiverExpectation(tuple(mu), gain, sifted, errors, double, live)


def _fire(eta: float, mean: float, dark: float) -> float:
    return 1.0 - (1.0 - dark) * math.exp(-eta * mean)


def polarization_receiver(
    mu: tuple[float, float, float],
    transmittance: float,
    efficiency: dict[str, float],
    misalignment: float,
    dark_per_gate: dict[str, float],
    n_dead: int,
    q_x: float,
    p: tuple[float, float, float],
) -> ReceiverExpectation:
    """Passive polarization BB84 receiver (detectors H, V, D, A).

    ``transmittance``: fiber x Bob's optics before the splitter; ``efficiency``,
    ``dark_per_gate``: per detector; ``n_dead``: :func:`dead_slots`.
    """
    role = {"H": (0, 0), "V": (0, 1), "D": (1, 0), "A": (1, 1)}
    detectors: dict[str, list] = {}
    for name, (rb, ra) in role.items():
        gates = []
        for b, a, k in ((b, a, k) for b in (0, 1) for a in (0, 1) for k in range(3)):
            share = (1.0 - misalignment if ra == a else misalignment) if rb == b else 0.5
            mean = mu[k] * transmittance * 0.5 * share
            gates.append([(_fire(efficiency[name], mean, dark_per_gate[name]), (rb, ra))])
        detectors[name] = gates
    return _expect(mu, detectors, n_dead, q_x, p)


def time_bin_receiver(
    mu: tuple[float, float, float],
    transmittance: float,
    efficiency: dict[str, float],
    visibility: float,
    phase_rad: float,
    dark_per_gate: dict[str, float],
    n_dead: int,
    q_x: float,
    p: tuple[float, float, float],
) -> ReceiverExpectation:
    """Time-bin BB84 receiver (detector Z, interferometer outputs X0 and X1), see the module text.

    Dark counts enter the decoded gates (Z early and late, X middle); side peaks have none.
    """
    states = [(b, a, k) for b in (0, 1) for a in (0, 1) for k in range(3)]
    contrast = visibility * math.cos(phase_rad)
    detectors: dict[str, list] = {"Z": [], "X0": [], "X1": []}
    for b, a, k in states:
        half = mu[k] * transmittance * 0.5
        early = (1.0 - a) if b == 0 else 0.5
        late = 1.0 - early
        eta_z, d_z = efficiency["Z"], dark_per_gate["Z"]
        detectors["Z"].append([(_fire(eta_z, half * early, d_z), (0, 0)), (_fire(eta_z, half * late, d_z), (0, 1))])
        for name, port, bit in (("X0", 1.0, 0), ("X1", -1.0, 1)):
            sign = 0.0 if b == 0 else (1.0 if a == 0 else -1.0)
            middle = (1.0 + port * sign * contrast) / 4
            eta, dark = efficiency[name], dark_per_gate[name]
            detectors[name].append(
                [
                    (_fire(eta, half * early / 4, 0.0), None),
                    (_fire(eta, half * middle, dark), (1, bit)),
                    (_fire(eta, half * late / 4, 0.0), None),
                ]
            )
    return _expect(mu, detectors, n_dead, q_x, p)


def expected_finite_key(
    expectation: ReceiverExpectation,
    slots: int,
    q_x: float,
    p: tuple[float, float, float],
    f_ec: float = 1.1,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-15,
    finite: bool = True,
) -> FiniteKey:
    """Lim et al. Eq. (1) at the expected counts of ``slots`` slots (key basis X, test basis Z).

    Leakage f_ec n_X h(E_X) (Cascade here: f = 1.03-1.05 on 1e5-bit blocks); ``finite=False``:
    the same bounds without the finite-size terms.
    """
    c = expectation.counts(slots, q_x, p)
    n_x, n_z, m_z = c["sifted"][1], c["sifted"][0], c["errors"][0]
    e_x = float(c["errors"][1].sum() / n_x.sum())
    lam = f_ec * float(n_x.sum()) * float(binary_entropy(e_x))
    return finite_key_length(n_x, n_z, m_z, Intensities(expectation.mu, p), lam, eps_sec, eps_cor, finite)


def finite_key_spread(
    expectation: ReceiverExpectation,
    slots: int,
    q_x: float,
    p: tuple[float, float, float],
    f_ec: float = 1.1,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-15,
) -> float:
    """Standard deviation (bits) of Eq. (1) before its floor, from the counts' Poisson spread.

    Delta method: the correct and the wrong sifted bits of each basis and level are
    independent Poisson counts (the leakage f n_X h(E_X) follows the key-basis ones);
    each derivative by a central difference of one standard deviation.
    """
    c = expectation.counts(slots, q_x, p)
    base = np.stack([c["sifted"] - c["errors"], c["errors"]])  # [correct/wrong, basis, level]
    mu = expectation.mu

    def ell(x: np.ndarray) -> float:
        n = x[0] + x[1]
        n_x = n[1]
        e_x = float(x[1, 1].sum() / n_x.sum())
        lam = f_ec * float(n_x.sum()) * float(binary_entropy(e_x))
        return finite_key_length(n_x, n[0], x[1, 0], Intensities(mu, p), lam, eps_sec, eps_cor).bits

    variance = 0.0
    for index in np.ndindex(base.shape):
        sd = math.sqrt(base[index])
        if sd == 0.0:
            continue
        step = min(sd, base[index] / 2)  # keeps the count positive
        up, down = base.copy(), base.copy()
        up[index] += step
        down[index] -= step
        variance += ((ell(up) - ell(down)) / (2 * step) * sd) ** 2
    return math.sqrt(variance)

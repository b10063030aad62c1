"""The bench receivers' closed form against a click-by-click simulation and Ma et al.'s limit.

The simulation here is independent of the closed form and of the sim world: every slot
draws Alice's state, each gate's Poisson photons and dark counts, a detector registers a
gate's click only if at least the dead time (ps, exact times) has passed since its last
registered click, then Bob decodes with the squashing rules. Bright light (mean click
probability per detector ~0.1-0.2) makes the dead-time term large (live fractions 0.6-0.8),
so the renewal formula is tested where it matters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnetlab.analysis.qkd.bench_bb84 import (
    dead_slots,
    expected_finite_key,
    polarization_receiver,
    time_bin_receiver,
)
from qnetlab.analysis.qkd.keyrate import SystemMa2005, ma2005_gain_error

MU = (0.8, 0.3, 0.0)
P = (0.5, 0.3, 0.2)
Q_X = 0.6
PERIOD_PS, SEP_PS, DEAD_PS = 12_500.0, 2_000.0, 40_000.0
SLOTS = 200_000


def _simulate(gates_of, detectors, rng):
    """Click-by-click: ``gates_of(b, a, k)`` -> {detector: [(mean photons x efficiency, dark, position, outcome)]}.

    Returns per slot (level, Alice basis, Alice bit, Bob basis or -1, Bob bit, double click).
    """
    basis = (rng.random(SLOTS) < Q_X).astype(int)
    bit = rng.integers(0, 2, SLOTS)
    level = np.searchsorted(np.cumsum(P)[:-1], rng.random(SLOTS), side="right")
    states = [(b, a, k) for b in (0, 1) for a in (0, 1) for k in range(3)]
    state = basis * 6 + bit * 3 + level
    # every gate of every detector, in time order within the slot: (detector, position, outcome)
    layout = [(name, g[2], g[3]) for name, gates in gates_of(0, 0, 0).items() for g in gates]
    fire_p = np.array(
        [[1 - (1 - g[1]) * math.exp(-g[0]) for gates in gates_of(*st).values() for g in gates] for st in states]
    )
    fires = rng.random((SLOTS, len(layout))) < fire_p[state]
    order = sorted(range(len(layout)), key=lambda i: layout[i][1])
    last = dict.fromkeys(detectors, -math.inf)
    bob_basis, bob_bit, double = np.full(SLOTS, -1), np.zeros(SLOTS, int), np.zeros(SLOTS, bool)
    for s in np.flatnonzero(fires.any(axis=1)):
        outs = []
        for i in order:
            if fires[s, i]:
                name, position, outcome = layout[i]
                t = s * PERIOD_PS + position * SEP_PS
                if t - last[name] >= DEAD_PS:
                    last[name] = t
                    if outcome is not None:
                        outs.append(outcome)
        if not outs:
            continue
        codes = set(outs)
        if len(codes) == 1:
            bob_basis[s], bob_bit[s] = next(iter(codes))
            continue
        double[s] = True
        bases = {b for b, _ in codes}
        bob_basis[s] = next(iter(bases)) if len(bases) == 1 else rng.integers(0, 2)
        bob_bit[s] = rng.integers(0, 2)
    return level, basis, bit, bob_basis, bob_bit, double


def _compare(expected, sim):
    level, basis, bit, bob_basis, bob_bit, double = sim
    for k in range(3):
        mine = level == k
        n = int(mine.sum())
        detected = int(np.count_nonzero(mine & (bob_basis >= 0)))
        g = expected.gain[k]
        assert abs(detected - n * g) <= 4 * math.sqrt(n * g * (1 - g)) + 1, (k, detected, n * g)
        dbl = int(np.count_nonzero(mine & double))
        assert abs(dbl - n * expected.double[k]) <= 4 * math.sqrt(n * expected.double[k]) + 1, (k, dbl)
        for b in (0, 1):
            sent = mine & (basis == b)
            sifted = sent & (bob_basis == b)
            n_s, errors = int(sifted.sum()), int(np.count_nonzero(sifted & (bob_bit != bit)))
            ps = expected.sifted[b, k]
            assert abs(n_s - sent.sum() * ps) <= 4 * math.sqrt(sent.sum() * ps * (1 - ps)) + 1, (k, b, n_s)
            if k < 2:
                e = expected.qber[b, k]
                assert abs(errors - n_s * e) <= 4 * math.sqrt(n_s * e * (1 - e)) + 1, (k, b, errors, n_s * e)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(2026)


def test_polarization_closed_form_matches_a_click_by_click_simulation(rng):
    eff = {"H": 0.8, "V": 0.7, "D": 0.75, "A": 0.85}
    dark = {"H": 1e-4, "V": 2e-4, "D": 1e-4, "A": 3e-4}
    t, e = 0.5, 0.03
    role = {"H": (0, 0), "V": (0, 1), "D": (1, 0), "A": (1, 1)}

    def gates(b, a, k):
        out = {}
        for name, (rb, ra) in role.items():
            share = (1 - e if ra == a else e) if rb == b else 0.5
            out[name] = [(eff[name] * MU[k] * t * 0.5 * share, dark[name], 0, (rb, ra))]
        return out

    n_dead = dead_slots(DEAD_PS, PERIOD_PS)
    assert n_dead == 3
    expected = polarization_receiver(MU, t, eff, e, dark, n_dead, Q_X, P)
    assert 0.8 < min(expected.live.values()) < 0.95  # the dead time matters here
    _compare(expected, _simulate(gates, list(role), rng))


def test_time_bin_closed_form_matches_a_click_by_click_simulation(rng):
    eff = {"Z": 0.8, "X0": 0.7, "X1": 0.9}
    dark = {"Z": 1e-4, "X0": 2e-4, "X1": 1e-4}
    t, v, phase = 0.6, 0.95, 0.3
    contrast = v * math.cos(phase)

    def gates(b, a, k):
        half = MU[k] * t * 0.5
        early = (1 - a) if b == 0 else 0.5
        late = 1 - early
        sign = 0 if b == 0 else (1 if a == 0 else -1)
        out = {"Z": [(eff["Z"] * half * early, dark["Z"], 0, (0, 0)), (eff["Z"] * half * late, dark["Z"], 1, (0, 1))]}
        for name, port, bob_bit in (("X0", 1, 0), ("X1", -1, 1)):
            middle = (1 + port * sign * contrast) / 4
            out[name] = [
                (eff[name] * half * early / 4, 0.0, 0, None),
                (eff[name] * half * middle, dark[name], 1, (1, bob_bit)),
                (eff[name] * half * late / 4, 0.0, 2, None),
            ]
        return out

    n_dead = dead_slots(DEAD_PS, PERIOD_PS, SEP_PS)
    assert n_dead == 3
    expected = time_bin_receiver(MU, t, eff, v, phase, dark, n_dead, Q_X, P)
    assert min(expected.live.values()) < 0.9
    _compare(expected, _simulate(gates, ["Z", "X0", "X1"], rng))


def test_weak_light_without_dead_time_is_ma_2005s_gain_and_qber():
    """Y0 + 1 - exp(-eta mu) and (e0 Y0 + e_d (1 - exp(-eta mu))) / Q: equal efficiencies and no dead
    time. Squashed double clicks add ~eta mu / 4 to the QBER, so at eta mu = 5e-5 the two agree to 2e-3."""
    eta, e_d, dark = 1e-4, 0.015, 1e-7
    mu = (0.5, 0.1, 0.0)
    expected = polarization_receiver(mu, eta, dict.fromkeys("HVDA", 1.0), e_d, dict.fromkeys("HVDA", dark), 0, 0.5, P)
    y0 = 1 - (1 - dark) ** 4
    system = SystemMa2005(alpha_db_km=0.2, eta_bob=eta, e_detector=e_d, y0=y0)
    for k in range(2):
        q, e = ma2005_gain_error(system, 0.0, mu[k])
        assert expected.gain[k] == pytest.approx(float(q), rel=1e-3)
        assert expected.qber[0, k] == pytest.approx(float(e), rel=2e-3)
        assert expected.qber[1, k] == pytest.approx(float(e), rel=2e-3)
    assert expected.gain[2] == pytest.approx(y0, rel=1e-9)
    assert np.allclose(expected.qber[:, 2], 0.5)
    # the squashed double clicks raise the QBER with the light: at mu eta = 0.25 well above e_d
    bright = polarization_receiver(
        (10.0, 1.0, 0.0), 0.05, dict.fromkeys("HVDA", 1.0), e_d, dict.fromkeys("HVDA", 0.0), 0, 0.5, P
    )
    assert bright.qber[0, 0] > e_d + 0.02


def test_finite_key_grows_with_the_light_sent_and_is_never_above_its_asymptotic_limit():
    roles = ("Z", "X0", "X1")
    link = time_bin_receiver(
        (0.5, 0.1, 0.0), 0.2, dict.fromkeys(roles, 0.8), 0.98, 0.0, dict.fromkeys(roles, 1e-6), 3, 0.5, P
    )
    lengths = [expected_finite_key(link, n, 0.5, P).length for n in (2e6, 1e7, 1e8)]
    assert lengths[0] < lengths[1] < lengths[2]
    asymptotic = expected_finite_key(link, 1e8, 0.5, P, finite=False)
    assert lengths[2] < asymptotic.bits


def test_dead_slots_counts_the_slots_whose_gates_fall_in_the_dead_time():
    assert dead_slots(40_000, 12_500) == 3
    assert dead_slots(37_500, 12_500) == 2  # a gate exactly at the end of the dead time is live
    assert dead_slots(40_000, 12_500, 2_000) == 3
    assert dead_slots(40_000, 12_500, 3_000) == 2
    assert dead_slots(0, 12_500) == 0
    with pytest.raises(ValueError, match="period"):
        dead_slots(1, 0)

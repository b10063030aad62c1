"""The simulated bench of the calibration tests: the ONE file that imports sim_backends.

Names not yet exported at the top of ``qnetlab.sim_backends`` are imported from their
modules here, so the move of those modules is repointed in one place.
"""

from __future__ import annotations

import math

import numpy as np

from qnetlab.analysis.calibration.reference_counts import correct_dead_time, counts_by_sent_state
from qnetlab.sim_backends import (
    DetectorModel,
    EntangledPairLink,
    FiberModel,
    OpticalWorld,
    PaddleController,
    PhaseShifter,
    PolarizationBB84Link,
    SnspdModel,
    SplitterLink,
    TaggerChannelModel,
    TaggerModel,
    TimeBinBB84Link,
    TransmitterModel,
    Waveplate,
    encode_slots,
)
from qnetlab.sim_backends.world.links import GROUP_DELAY_PS_PER_KM
from qnetlab.sim_backends.world.polarization import random_su2

PERIOD_PS = 12_500  # 80 MHz
FIBER_KM = 10.0
DEAD_TIME_PS = 20_000
PADDLE_SPEED_DEG_S = 200.0  # MPC320 at its default 50 % of 400 deg/s
REFERENCE_PATTERN = encode_slots(np.array([0, 1]), np.array([0, 0]), np.array([0, 0]))  # H, D alternating

__all__ = [
    "PERIOD_PS",
    "EntangledPairLink",
    "PaddleController",
    "PhaseShifter",
    "SnspdModel",
    "SplitterLink",
    "TimeBinBB84Link",
    "Waveplate",
    "random_su2",
]


def _detector(**kw) -> DetectorModel:
    base = dict(efficiency=0.8, dark_count_hz=100.0, dead_time_ps=DEAD_TIME_PS, jitter_ps=20.0)
    return DetectorModel(**{**base, **kw})


def _tagger(wiring: dict[int, str], **kw) -> dict[str, TaggerModel]:
    channels = {number: TaggerChannelModel(name, dead_time_ps=1_000) for number, name in wiring.items()}
    return {"tagger": TaggerModel(channels, jitter_ps=5.0, **kw)}


class PolarizationBench:
    """Alice -> 10 km drifting fiber (Haar-random start) -> MPC320 paddles -> passive BB84 receiver.

    :meth:`measure` moves the paddles (simulated travel time passes, the fiber drifts),
    has Alice send her H/D reference pattern for ``duration_ps`` and returns the
    (2, 4) count table from the tags. Counts of measurements and simulated time are kept.
    """

    def __init__(self, seed: int, *, misalignment: float = 0.01, duration_ps: int = 5_000_000_000, drift_time_s=3600.0):
        rng = np.random.default_rng(1000 + seed)
        tx = TransmitterModel(rep_rate_hz=80e6, power_dbm=-10.0, attenuation_db=76.0, encoding="polarization")
        tx.pattern, tx.pattern_on = REFERENCE_PATTERN, True
        fiber = FiberModel(length_km=FIBER_KM, rotation=random_su2(rng), polarization_drift_time_s=drift_time_s)
        roles = {"H": "h", "V": "v", "D": "d", "A": "a"}
        self.controller = PaddleController()
        self.world = OpticalWorld(
            transmitters={"alice": tx},
            fibers={"fiber": fiber},
            links=[PolarizationBB84Link("alice", "fiber", roles, controller="pc", misalignment=misalignment)],
            detectors={name: _detector() for name in roles.values()},
            taggers=_tagger({1: "h", 2: "v", 3: "d", 4: "a"}),
            actuators={"pc": self.controller},
            seed=seed,
        )
        self.duration_ps = int(duration_ps)
        self.measurements = 0
        self.simulated_s = 0.0
        self.slot0_ps = int(round(FIBER_KM * GROUP_DELAY_PS_PER_KM))

    def angles(self) -> np.ndarray:
        return np.array([p.angle_deg for p in self.controller.paddles])

    def move(self, angles_deg) -> None:
        travel_s = float(np.sum(np.abs(np.asarray(angles_deg) - self.angles()))) / PADDLE_SPEED_DEG_S
        for paddle, angle in zip(self.controller.paddles, angles_deg, strict=True):
            paddle.angle_deg = float(angle)
        self.world.advance(int(travel_s * 1e12))
        self.simulated_s += travel_s

    def measure(self, angles_deg) -> np.ndarray:
        self.move(angles_deg)
        t, c = self.world.acquire(self.duration_ps)
        self.measurements += 1
        self.simulated_s += self.duration_ps * 1e-12
        counts = counts_by_sent_state(t, c, [1, 2, 3, 4], np.array([0, 1]), PERIOD_PS, self.slot0_ps, 2)
        return correct_dead_time(counts, self.duration_ps, DEAD_TIME_PS)

    def true_qber(self, misalignment: float = 0.01) -> tuple[float, float]:
        """The world's own QBER of the H and D references at the paddles now (no shot noise)."""
        link = self.world.links[0]
        total = link.rotation(self.world)
        h, d = total @ np.array([1, 0]), total @ np.array([1, 1]) / math.sqrt(2)
        p_v = abs(h[1]) ** 2
        p_a = abs(d[0] - d[1]) ** 2 / 2
        e = misalignment
        return ((1 - e) * p_v + e * (1 - p_v), (1 - e) * p_a + e * (1 - p_a))


def pair_world(*, visibility: float = 0.95, delays_ps: dict[int, int] | None = None, seed: int = 3) -> OpticalWorld:
    """A CW SPDC Werner-state source, analyzers at H/V, tagger inputs 1-4 = A_T, A_R, B_T, B_R with delays."""
    plates = {n: Waveplate(0.5 if n.endswith("hwp") else 0.25, 0.0) for n in ("a_qwp", "a_hwp", "b_qwp", "b_hwp")}
    link = EntangledPairLink(
        pair_rate_hz=2e5,
        visibility=visibility,
        heralding_a=0.5,
        heralding_b=0.4,
        analyzers={"A": {"qwp": "a_qwp", "hwp": "a_hwp"}, "B": {"qwp": "b_qwp", "hwp": "b_hwp"}},
        detectors={"A_T": "at", "A_R": "ar", "B_T": "bt", "B_R": "br"},
    )
    dets = {n: _detector(dark_count_hz=200.0, dead_time_ps=1_000, jitter_ps=30.0) for n in ("at", "ar", "bt", "br")}
    taggers = _tagger({1: "at", 2: "ar", 3: "bt", 4: "br"})
    for number, delay in (delays_ps or {}).items():
        taggers["tagger"].channels[number].delay_ps = int(delay)
    return OpticalWorld(
        transmitters={}, fibers={}, links=[link], detectors=dets, taggers=taggers, actuators=plates, seed=seed
    )


def time_bin_world(*, visibility: float = 0.95, phase_offset_rad: float = 0.0, seed: int = 2) -> OpticalWorld:
    """Alice (time-bin X0 states only) -> Bob's interferometer behind a piezo; tagger 1 = Z, 2 = X0, 3 = X1."""
    tx = TransmitterModel(
        rep_rate_hz=80e6, power_dbm=-10.0, attenuation_db=76.0, encoding="time_bin", time_bin_separation_ps=2_000
    )
    tx.pattern, tx.pattern_on = encode_slots(np.array([1]), np.array([0]), np.array([0])), True
    link = TimeBinBB84Link(
        "alice",
        "fiber",
        {"Z": "z", "X0": "x0", "X1": "x1"},
        phase_shifter="piezo",
        visibility=visibility,
        phase_offset_rad=phase_offset_rad,
    )
    return OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": FiberModel(length_km=0.0)},
        links=[link],
        detectors={name: _detector(dead_time_ps=10_000, jitter_ps=15.0) for name in ("z", "x0", "x1")},
        taggers=_tagger({1: "z", 2: "x0", 3: "x1"}),
        actuators={"piezo": PhaseShifter(0.0, 60.0)},
        seed=seed,
    )

"""The entangled-pair link: a CW SPDC source of polarization-entangled pairs and two analyzers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from qnetlab.sim_backends.world.bounds import (
    PARAMETERS_CONFIG,
    DelayPs,
    Fraction,
    PairRateHz,
    check_detector_roles,
)
from qnetlab.sim_backends.world.jones import jones_key, jones_of

Side = Literal["A", "B"]
SIDES: tuple[Side, Side] = ("A", "B")


@dataclass
class EntangledPairLink:
    """A CW SPDC source of polarization-entangled pairs and two analyzers.

    The pairs are emitted at Poisson times at ``pair_rate_hz`` (Hz, 0..10 GHz; so
    multi-pair emission within any window comes with the statistics) in the Werner state
    V·|Φ+><Φ+| + (1 − V)·I/4, V = ``visibility`` (0..1). Each side has a quarter-wave then
    a half-wave plate (actuator names in ``analyzers``: side -> {"qwp": ..., "hwp": ...},
    either may be left out) before a polarizing splitter whose transmitted (T) and
    reflected (R) ports feed the detectors ``detectors``: {"A_T", "A_R", "B_T", "B_R"} ->
    name. Photon A reaches its analyzer with probability ``heralding_a`` (coupling and
    optics, 0..1), B with ``heralding_b``; the detectors' efficiencies come on top. Side
    B's photons arrive ``delay_b_ps`` later (ps, |d| <= 1 ms).
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG
    kind: ClassVar[str] = "entangled_pairs"
    roles: ClassVar[tuple[str, ...]] = ("A_T", "A_R", "B_T", "B_R")

    pair_rate_hz: PairRateHz
    detectors: dict[str, str]
    visibility: Fraction = 0.95
    heralding_a: Fraction = 0.2
    heralding_b: Fraction = 0.2
    analyzers: dict[Side, dict[Literal["qwp", "hwp"], str]] = field(default_factory=dict)
    delay_b_ps: DelayPs = 0

    def __post_init__(self) -> None:
        check_detector_roles(self.kind, self.detectors, self.roles, ())

    def projectors(self, world, side: Side) -> tuple[np.ndarray, np.ndarray]:
        """States projected on by the T and R ports of one side's analyzer."""
        plates = self.analyzers.get(side, {})
        unitary = np.eye(2, dtype=complex)
        for name in (plates.get("qwp"), plates.get("hwp")):
            if name:
                unitary = jones_of(world.actuators[name]) @ unitary
        return unitary.conj().T @ np.array([1, 0]), unitary.conj().T @ np.array([0, 1])

    def joint_probabilities(self, world) -> np.ndarray:
        """P(a, b) for a, b in (T, R), flattened as TT, TR, RT, RR."""
        key = (
            self.visibility,
            *(
                jones_key(world.actuators[name])
                for side in SIDES
                for name in self.analyzers.get(side, {}).values()
                if name
            ),
        )
        cached = getattr(self, "_joint_cache", None)
        if cached is not None and cached[0] == key and None not in key:
            return cached[1]
        p = self._joint_probabilities(world)
        self._joint_cache = (key, p)
        return p

    def _joint_probabilities(self, world) -> np.ndarray:
        a_t, a_r = self.projectors(world, "A")
        b_t, b_r = self.projectors(world, "B")
        # <a⊗b|Φ+> = (a0* b0* + a1* b1*)/√2
        p = np.array(
            [
                self.visibility * abs(np.conj(a[0] * b[0] + a[1] * b[1])) ** 2 / 2 + (1 - self.visibility) / 4
                for a in (a_t, a_r)
                for b in (b_t, b_r)
            ]
        )
        return p / p.sum()

    def events(
        self,
        world,
        start_ps: int,
        stop_ps: int,
        sources: dict[str, int],
        counts: np.ndarray,
        state: np.ndarray,
        sigma: np.ndarray | None = None,
        normal_table: np.ndarray | None = None,
        buffers=None,
        origin_ps: int = 0,
    ):
        """Detected photons of the pairs emitted in [start, stop) (world time), time-ordered,
        in ps since ``origin_ps`` (the tagger's clock origin).

        Only pairs with a photon detected on at least one side are drawn: with
        h = heralding × best detector efficiency per side, such pairs come at rate
        R·(1 − (1 − h_A)(1 − h_B)) (a Poisson process); which sides fired, which ports,
        and the per-port efficiency (relative to the best) are then drawn for those pairs
        alone (:func:`qnetlab.sim_backends.world.kernels.pairs.pair_events`). Returns ``(times, sources)`` or
        None; ``counts[source]`` grows by the photons drawn. With ``sigma`` and
        ``normal_table`` the times carry each source's timing jitter.
        """
        from qnetlab.sim_backends.world.kernels.pairs import pair_events
        from qnetlab.sim_backends.world.kernels.splitmix import add_jitter
        from qnetlab.sim_backends.world.kernels.streams import restore_order_pairs

        if self.pair_rate_hz <= 0:
            return None
        eff = {role: world.detectors[name].detection_efficiency() for role, name in self.detectors.items()}
        best = {side: max(eff.get(f"{side}_T", 0.0), eff.get(f"{side}_R", 0.0)) for side in "AB"}
        h_a = self.heralding_a * best["A"]
        h_b = self.heralding_b * best["B"]
        p_any = 1 - (1 - h_a) * (1 - h_b)
        if p_any <= 0:
            return None
        role_src = np.full(4, -1, np.int32)
        keep_ratio = np.zeros(4)
        for index, role in enumerate(self.roles):
            name = self.detectors.get(role)
            if name in sources and best[role[0]] > 0:
                role_src[index] = sources[name]
                keep_ratio[index] = eff[role] / best[role[0]]
        if np.all(role_src < 0):
            return None
        p_sides = np.array([h_a * (1 - h_b), (1 - h_a) * h_b, h_a * h_b]) / p_any
        joint_cum = np.cumsum(self.joint_probabilities(world))
        times, srcs = pair_events(
            int(start_ps - origin_ps),
            int(stop_ps - origin_ps),
            self.pair_rate_hz * p_any * 1e-12,
            p_sides,
            joint_cum,
            keep_ratio,
            role_src,
            int(self.delay_b_ps),
            counts,
            state,
        )
        if sigma is not None:
            add_jitter(times, srcs, sigma, normal_table, state)
            restore_order_pairs(times, srcs)
        return times, srcs

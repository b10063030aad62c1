"""Optical links: what each detector of a receiver is sent, given the world's state now.

A link turns a source and the actuators along its path into photon arrival times at its
detectors (before detector efficiency losses are applied, which happen here too because a
coherent pulse splits into independent Poisson modes: each detector fires independently
with p = 1 − exp(−η·μ_d)). Dark counts, jitter and dead time are the detector's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from qnetlab.sim_backends.world.actuators import PaddleController, Waveplate
from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, SyncDivider
from qnetlab.sim_backends.world.clock import SlotClock
from qnetlab.sim_backends.world.eavesdropper import intercept_resend
from qnetlab.sim_backends.world.polarization import BB84_KETS, analyzer_probabilities
from qnetlab.sim_backends.world.transmitter import decode_slots

GROUP_DELAY_PS_PER_KM = 4_895_000  # n_g = 1.4676 (SMF-28 at 1550 nm)

_BASIS_OF_CODE, _BIT_OF_CODE, _ = decode_slots(np.arange(16, dtype=np.uint8))
_STATE_OF_CODE = 2 * _BASIS_OF_CODE + _BIT_OF_CODE  # row of BB84_KETS sent by each pattern code

_JONES_CACHE: dict[tuple[float, float], np.ndarray] = {}
_SLOT_CLOCKS: dict[float, SlotClock] = {}


def slot_clock(rep_rate_hz: float) -> SlotClock:
    """The exact period of a pulse train at ``rep_rate_hz`` (remembered per rate)."""
    clock = _SLOT_CLOCKS.get(rep_rate_hz)
    if clock is None:
        clock = _SLOT_CLOCKS[rep_rate_hz] = SlotClock.of_rate(rep_rate_hz)
    return clock


def jones_key(actuator):
    """What a waveplate's or paddle controller's Jones matrix depends on (None: unknown)."""
    if isinstance(actuator, Waveplate):
        return (float(actuator.retardance_waves), float(actuator.angle_deg))
    if isinstance(actuator, PaddleController):
        return tuple(jones_key(paddle) for paddle in actuator.paddles)
    return None


def jones_of(actuator) -> np.ndarray:
    """``actuator.jones()``, remembered per waveplate setting (computed once per angle)."""
    if isinstance(actuator, Waveplate):
        key = jones_key(actuator)
        matrix = _JONES_CACHE.get(key)
        if matrix is None:
            if len(_JONES_CACHE) > 4096:
                _JONES_CACHE.clear()
            matrix = actuator.jones()
            matrix.flags.writeable = False
            _JONES_CACHE[key] = matrix
        return matrix
    if isinstance(actuator, PaddleController):
        total = np.eye(2, dtype=complex)
        for paddle in actuator.paddles:
            total = jones_of(paddle) @ total
        return total
    return actuator.jones()


@dataclass
class PulsedLink:
    """Base of the links fed by Alice's pulsed transmitter through a fiber."""

    transmitter: str
    fiber: str
    detectors: dict[str, str]
    receiver_loss_db: float = 0.0
    encoding = "none"

    def modes(self, world) -> list[tuple[str, int, np.ndarray]]:  # pragma: no cover - abstract
        """(detector, time offset ps, mean photons by pattern code[16]) per spatial/temporal mode."""
        raise NotImplementedError

    def channel_transmission(self, world) -> float:
        return world.fibers[self.fiber].transmission() * 10 ** (-self.receiver_loss_db / 10)

    def delay_ps(self, world) -> int:
        return int(round(world.fibers[self.fiber].length_km * GROUP_DELAY_PS_PER_KM))

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
        """Detected photons of the detectors in ``sources`` (name -> source index), in time order.

        Returns ``(times int64, sources int32)`` or None when the link is dark; times are
        ps since ``origin_ps`` (the tagger's clock origin, world time). All modes
        are walked together (:func:`qnetlab.sim_backends.world.kernels.pulsed_walk.pulsed_link_events`): each mode
        fires with p = 1 − exp(−η·μ), independently of the others.
        ``counts[source]`` grows by the photons drawn; ``state`` is the generator state.
        With ``sigma`` (rms jitter per source) and ``normal_table`` the times carry the
        timing jitter; ``buffers(size)`` may lend reusable output arrays.
        """
        inputs = self.walk_inputs(world, start_ps, stop_ps, sources, origin_ps)
        if inputs is None:
            return None
        return walk(inputs, counts, state, sigma, normal_table, buffers, getattr(world, "threads", 1))

    def walk_inputs(
        self, world, start_ps: int, stop_ps: int, sources: dict[str, int], origin_ps: int = 0
    ) -> WalkInputs | None:
        """Everything the draws of [start, stop) (world time) depend on (None: the link is dark);
        the walk's times are ps since ``origin_ps``."""
        source = world.transmitters[self.transmitter]
        if source.encoding != self.encoding or not source.output_on:
            return None
        efficiency: dict[str, float] = {}
        chosen = []
        for detector, offset_ps, mu_by_code in self.modes(world):
            if detector not in sources:
                continue
            if detector not in efficiency:
                efficiency[detector] = world.detectors[detector].detection_efficiency()
            chosen.append((int(offset_ps), sources[detector], efficiency[detector] * mu_by_code))
        if not chosen:
            return None
        chosen.sort(key=lambda mode: mode[0])
        offsets = np.array([mode[0] for mode in chosen], np.int64)
        mode_src = np.array([mode[1] for mode in chosen], np.int32)
        eta_mu = np.stack([mode[2] for mode in chosen], axis=1)  # (16 codes, modes)
        p_modes = -np.expm1(-eta_mu)
        p_any = -np.expm1(-eta_mu.sum(axis=1))
        p_max = float(p_any[source.codes_in_use()].max())
        if p_max <= 0.0:
            return None
        clock = slot_clock(source.rep_rate_hz)
        delay = self.delay_ps(world)
        first_slot = clock.first_slot_at(start_ps - delay)
        n_slots = clock.first_slot_at(stop_ps - delay) - first_slot
        phase = clock.phase(first_slot)
        # whole ps of the first slot without its rounding share (the kernel adds that back)
        base_ps = first_slot * clock.whole_ps + (first_slot * clock.remainder) // clock.denominator + delay - origin_ps
        return WalkInputs(
            first_slot,
            n_slots,
            source.active_pattern(),
            *clock,
            phase,
            base_ps,
            offsets,
            mode_src,
            p_modes,
            p_any,
            p_max,
        )


class WalkInputs(NamedTuple):
    """The arguments of one pulsed link's walk over a slice (see :func:`walk`)."""

    first_slot: int
    n_slots: int
    pattern: np.ndarray
    period_whole_ps: int  # the period is whole + remainder / denominator ps, exactly
    period_remainder: int
    period_denominator: int
    phase: int  # first_slot · remainder mod denominator
    base_ps: int  # first slot's whole ps + link delay − the tagger's clock origin
    offsets: np.ndarray
    mode_src: np.ndarray
    p_modes: np.ndarray
    p_any: np.ndarray
    p_max: float

    def same_as(self, other: WalkInputs | None) -> bool:
        """True when ``other`` would draw from the same law over the same slots."""
        if other is None:
            return False
        return all(
            np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(self, other, strict=False)
        )


def walk(inputs: WalkInputs, counts, state, sigma=None, normal_table=None, buffers=None, threads=1):
    """Run a pulsed link's walk: ``(times int64, sources int32)``, jittered, in time order."""
    from qnetlab.sim_backends.world.kernels.pulsed_walk import pulsed_link_events

    return pulsed_link_events(*inputs, counts, state, sigma, normal_table, buffers, threads)


@dataclass
class SplitterLink(PulsedLink):
    """Unencoded pulses split onto detectors by fixed fractions (``detectors``: role -> name)."""

    fractions: dict[str, float] = field(default_factory=dict)  # role -> fraction of the fiber output

    def modes(self, world):
        mu = world.transmitters[self.transmitter].mean_photons_by_code() * self.channel_transmission(world)
        return [(name, 0, mu * self.fractions[role]) for role, name in self.detectors.items()]


@dataclass
class PolarizationBB84Link(PulsedLink):
    """Polarization BB84: fiber rotation, Bob's paddle controller, passive BB84 receiver.

    ``detectors`` maps roles H, V, D, A to detector names. Bob's 50:50 splitter sends
    half the light to a Z analyzer (H/V) and half to an X analyzer (D/A); each analyzer
    leaks ``misalignment`` of the light to the wrong port (the QBER floor).
    """

    controller: str = ""
    misalignment: float = 0.01
    eavesdropper: bool = False  # an intercept-resend Eve on the fiber (sim_backends/world/eavesdropper.py)
    encoding = "polarization"

    def rotation(self, world) -> np.ndarray:
        """Jones matrix from Alice's output to Bob's analyzers."""
        fiber = world.fibers[self.fiber].rotation
        controller = jones_of(world.actuators[self.controller]) if self.controller else np.eye(2)
        return controller @ fiber

    def modes(self, world):
        source = world.transmitters[self.transmitter]
        mu = source.mean_photons_by_code() * self.channel_transmission(world) * 0.5
        arriving = BB84_KETS @ self.rotation(world).T  # row i: rotation @ (H, V, D, A)[i]
        per_state = analyzer_probabilities(arriving, self.misalignment)
        if self.eavesdropper:
            per_state = intercept_resend(per_state)
        return [
            (self.detectors[role], 0, mu * per_state[role][_STATE_OF_CODE]) for role in "HVDA" if role in self.detectors
        ]


@dataclass
class TimeBinBB84Link(PulsedLink):
    """Time-bin BB84: Z basis by arrival time, X basis through an unbalanced interferometer.

    Alice sends |early> (Z0), |late> (Z1) or (|early> ± |late>)/√2 (X0, X1).
    Bob's 50:50 splitter sends half to detector Z (the arrival time is the bit) and half
    into a Mach-Zehnder with an arm difference equal to the bin separation, whose phase
    φ = piezo + interferometer drift + ``phase_offset_rad``; its outputs X0/X1 see three time
    positions, the middle one interfering: (1 ± V·cos φ)/4 of the light for an X0 state.

    The drift is the interferometers' (Alice's and Bob's arm differences, thermal and
    acoustic), not the fiber's (both bins share the fiber): ``interferometer_phase_rad``
    random-walks by √(dt/τ) rad over dt, τ = ``interferometer_drift_time_s`` (inf: none).
    """

    phase_shifter: str = ""
    visibility: float = 0.98
    phase_offset_rad: float = 0.0
    interferometer_drift_time_s: float = math.inf
    interferometer_phase_rad: float = 0.0
    encoding = "time_bin"

    def phase_rad(self, world) -> float:
        piezo = world.actuators[self.phase_shifter].phase_rad() if self.phase_shifter else 0.0
        return piezo + self.interferometer_phase_rad + self.phase_offset_rad

    def drift(self, dt_s: float, rng: np.random.Generator) -> None:
        """Let the interferometers' phase random-walk for ``dt_s`` seconds."""
        if dt_s > 0 and math.isfinite(self.interferometer_drift_time_s):
            self.interferometer_phase_rad += rng.normal(0.0, math.sqrt(dt_s / self.interferometer_drift_time_s))

    def modes(self, world):
        source = world.transmitters[self.transmitter]
        mu = source.mean_photons_by_code() * self.channel_transmission(world) * 0.5
        sep = source.time_bin_separation_ps
        basis, bit, _ = decode_slots(np.arange(16, dtype=np.uint8))
        z_basis = basis == 0
        early = np.where(z_basis, 1.0 - bit, 0.5)  # |a_early|²
        late = 1.0 - early
        sign = np.where(z_basis, 0.0, np.where(bit == 0, 1.0, -1.0))  # Re(a_late* a_early)/|.|
        coherence = sign * np.sqrt(early * late)  # Re(a_l* a_e) for the X states, 0 for Z
        cos_phi = math.cos(self.phase_rad(world))
        v = self.visibility
        modes = [
            (self.detectors["Z"], 0, mu * early),
            (self.detectors["Z"], sep, mu * late),
        ]
        for role, port in (("X0", 1.0), ("X1", -1.0)):
            middle = (early + late + port * 2 * v * coherence * cos_phi) / 4
            modes += [
                (self.detectors[role], 0, mu * early / 4),
                (self.detectors[role], sep, mu * middle),
                (self.detectors[role], 2 * sep, mu * late / 4),
            ]
        return modes


@dataclass
class EntangledPairLink:
    """A CW SPDC source of polarization-entangled pairs and two analyzers.

    The pairs are emitted at Poisson times at ``pair_rate_hz`` (so multi-pair emission
    within any window comes with the statistics) in the Werner state
    V·|Φ+><Φ+| + (1 − V)·I/4. Each side has a quarter-wave then a half-wave plate
    (actuator names in ``analyzers``: side -> {"qwp": ..., "hwp": ...}) before a
    polarizing splitter whose transmitted (T) and reflected (R) ports feed the detectors
    ``detectors``: {"A_T", "A_R", "B_T", "B_R"} -> name. Photon A reaches its analyzer with
    probability ``heralding_a`` (coupling and optics), B with ``heralding_b``; the
    detectors' efficiencies come on top.
    """

    pair_rate_hz: float
    visibility: float
    heralding_a: float
    heralding_b: float
    analyzers: dict[str, dict[str, str]]
    detectors: dict[str, str]
    delay_b_ps: int = 0
    on: bool = True

    def projectors(self, world, side: str) -> tuple[np.ndarray, np.ndarray]:
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
                for side in "AB"
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

        if not self.on or self.pair_rate_hz <= 0:
            return None
        roles = ("A_T", "A_R", "B_T", "B_R")
        eff = {role: world.detectors[name].detection_efficiency() for role, name in self.detectors.items()}
        best = {side: max(eff.get(f"{side}_T", 0.0), eff.get(f"{side}_R", 0.0)) for side in "AB"}
        h_a = self.heralding_a * best["A"]
        h_b = self.heralding_b * best["B"]
        p_any = 1 - (1 - h_a) * (1 - h_b)
        if p_any <= 0:
            return None
        role_src = np.full(4, -1, np.int32)
        keep_ratio = np.zeros(4)
        for index, role in enumerate(roles):
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


@dataclass
class SyncOutput:
    """Alice's sync output: one marker per pattern repetition (or every ``divider`` pulses)."""

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    transmitter: str
    divider: SyncDivider = 1024

    def arrivals(self, world, start_ps: int, stop_ps: int, origin_ps: int = 0) -> np.ndarray:
        """Marker times in [start, stop) (world time), int64 ps since ``origin_ps``, exact."""
        source = world.transmitters[self.transmitter]
        every = source.active_pattern().size if source.pattern_on else self.divider
        clock = slot_clock(source.rep_rate_hz).scaled(every)
        first = clock.first_slot_at(start_ps)
        count = clock.first_slot_at(stop_ps) - first
        start_of_first = clock.time_ps(first) - origin_ps
        return start_of_first + clock.relative_times_ps(first, np.arange(count, dtype=np.int64))

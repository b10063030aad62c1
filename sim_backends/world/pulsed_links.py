"""Links fed by Alice's pulsed transmitter through a fiber: the base, its walk, the splitter.

A pulsed link turns the transmitter's pattern and the optics along its path into a mean
photon number per detector mode and pattern code (:meth:`PulsedLink.modes`); a coherent
pulse splits into independent Poisson modes, so each detector fires independently with
p = 1 − exp(−η·μ_d). :meth:`PulsedLink.walk_inputs` gathers what a slice's draws depend
on, and :func:`walk` runs the numba walk over the slots that click.

Each link's parameters are declared once, on its dataclass, which the lab config's
``world.links`` validates directly (``instruments/world_config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, AttenuationDb, Fraction, check_detector_roles
from qnetlab.sim_backends.world.clock import slot_clock

GROUP_DELAY_PS_PER_KM = 4_895_000  # n_g = 1.4676 (SMF-28 at 1550 nm)


@dataclass
class PulsedLink:
    """Base of the links fed by Alice's pulsed transmitter through a fiber.

    Attributes
    ----------
    transmitter, fiber : names of the world's transmitter and fiber span
    detectors : role -> world detector (the roles are each kind's ``roles``)
    receiver_loss_db : loss of Bob's optics before the detectors (dB), 0..200
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG
    encoding: ClassVar[str] = "none"
    kind: ClassVar[str] = "pulsed"  # the config's name of the link kind
    roles: ClassVar[tuple[str, ...] | None] = None  # the detector roles (None: any)
    required_roles: ClassVar[tuple[str, ...]] = ()

    transmitter: str
    fiber: str
    detectors: dict[str, str]
    receiver_loss_db: AttenuationDb = 0.0

    def __post_init__(self) -> None:
        check_detector_roles(self.kind, self.detectors, self.roles, self.required_roles)

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
    """Unencoded pulses split onto detectors by fixed fractions (``detectors``: role -> name).

    ``fractions``: role -> fraction of the fiber output (0..1 each, summing to at most 1),
    one per detector role. In the lab config the roles are the detectors' names: a
    splitter is given by its ``fractions`` (detector -> fraction) alone.
    """

    kind: ClassVar[str] = "splitter"

    fractions: dict[str, Fraction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if set(self.fractions) != set(self.detectors):
            raise ValueError(f"fractions name {sorted(self.fractions)}, the detectors {sorted(self.detectors)}")
        total = sum(self.fractions.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fractions sum to {total:g}, above 1")

    def modes(self, world):
        mu = world.transmitters[self.transmitter].mean_photons_by_code() * self.channel_transmission(world)
        return [(name, 0, mu * self.fractions[role]) for role, name in self.detectors.items()]

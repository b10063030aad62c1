"""The one shared optical world: every emulator reads and writes it, under one clock."""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np

from qnetlab.sim_backends.world.clock import CLOCK_START_PS, check_tagger_time, check_world_time
from qnetlab.sim_backends.world.detectors import NEVER_PS, DetectorModel
from qnetlab.sim_backends.world.fiber import FiberModel
from qnetlab.sim_backends.world.prefetch import WalkPrefetch
from qnetlab.sim_backends.world.pulsed_links import PulsedLink, walk
from qnetlab.sim_backends.world.sync import SyncOutput
from qnetlab.sim_backends.world.tagger import TaggerModel
from qnetlab.sim_backends.world.transmitter import TransmitterModel

__all__ = ["CLOCK_START_PS", "OpticalWorld", "SourceArrays"]


class OpticalWorld:
    """A seeded simulation of the bench.

    Parameters
    ----------
    transmitters : name -> Alice's pulsed transmitter(s)
    fibers : name -> fiber span
    links : the optical paths (see :mod:`sim_backends.world.links`), each feeding some detectors
    detectors : name -> detector model
    taggers : name -> tagger model (its inputs name detectors or sync outputs)
    actuators : name -> waveplates, paddle controllers, phase shifters (emulators move them)
    syncs : name -> marker outputs a tagger input may be wired to
    seed : seed of the world's numpy Generator; the same seed replays the same tags
    time_scale : simulated seconds per real second for paced acquisitions (inf: flat out)
    threads : 2 uses the second core (numba releases the GIL): a slice's pulsed-link walk
        is split over two threads, and in an acquisition of many slices (``flush=False``)
        the next slice's walk is drawn while this one is tagged
        (:mod:`sim_backends.world.prefetch`). The stream then differs from the one-thread
        stream of the same seed (same statistics; still the same for the same seed)

    The world has its own clock, ``now_ps`` (a Python int, exact for centuries: see
    :mod:`qnetlab.sim_backends.world.clock`); it runs only when an acquisition or
    :meth:`advance` moves it (so hours of fiber drift pass in a real second), and the
    fibers drift as it runs. A tagger's tags are int64 ps since its clock origin (world
    time 0 until :meth:`restart_tagger_clock`), good for 53 days of tagger time; beyond,
    :meth:`acquire` raises :class:`~qnetlab.sim_backends.world.clock.ClockRangeError`.
    All access goes through ``lock`` so emulator threads may
    share the world.
    """

    def __init__(
        self,
        *,
        transmitters: dict[str, TransmitterModel],
        fibers: dict[str, FiberModel],
        links: list,
        detectors: dict[str, DetectorModel],
        taggers: dict[str, TaggerModel],
        actuators: dict | None = None,
        syncs: dict[str, SyncOutput] | None = None,
        seed: int = 0,
        time_scale: float = math.inf,
        threads: int = 1,
    ):
        self.transmitters = transmitters
        self.fibers = fibers
        self.links = list(links)
        self.detectors = detectors
        self.taggers = taggers
        self.actuators = dict(actuators or {})
        self.syncs = dict(syncs or {})
        self.rng = np.random.default_rng(seed)
        self.time_scale = time_scale
        self.threads = int(threads)
        self.now_ps = CLOCK_START_PS  # a tagger's clock runs long before the first tag: no negative times
        self.lock = threading.RLock()
        self._scratch: dict = {}
        self._tagger_origin_ps: dict[str, int] = {}  # world time at which a tagger's clock reads 0
        self._pending_afterpulse_ps: dict[str, int] = {}  # detector -> afterpulse due after the last slice
        self._prefetch = WalkPrefetch(self._buffers)
        self._check_wiring()

    def _check_wiring(self) -> None:
        known = set(self.detectors) | set(self.syncs)
        for name, tagger in self.taggers.items():
            for number, channel in tagger.channels.items():
                if channel.detector not in known:
                    raise ValueError(f"tagger {name!r} input {number} is wired to unknown {channel.detector!r}")
        for link in self.links:
            for detector in link.detectors.values():
                if detector not in self.detectors:
                    raise ValueError(f"{type(link).__name__} feeds unknown detector {detector!r}")

    # --- the skeleton's single-laser, single-tagger view -------------------------------
    @property
    def laser(self) -> TransmitterModel:
        """The transmitter, when the world has exactly one."""
        (only,) = self.transmitters.values()
        return only

    @property
    def tagger(self) -> TaggerModel:
        """The tagger, when the world has exactly one."""
        (only,) = self.taggers.values()
        return only

    def mean_photons_at(self, detector: str) -> float:
        """Mean photon number per signal pulse arriving at ``detector`` (unencoded links)."""
        for link in self.links:
            if hasattr(link, "modes") and detector in link.detectors.values():
                return float(sum(mu[0] for name, _, mu in link.modes(self) if name == detector))
        return 0.0

    # --- time ----------------------------------------------------------------------------
    def advance(self, duration_ps: int) -> None:
        """Let simulated time pass without recording anything (the fibers drift)."""
        with self.lock:
            check_world_time(self.now_ps + int(duration_ps))
            self._drift(int(duration_ps))
            self.now_ps += int(duration_ps)

    def tagger_origin_ps(self, tagger: str) -> int:
        """World time (ps) at which ``tagger``'s clock reads 0."""
        return self._tagger_origin_ps.get(tagger, 0)

    def restart_tagger_clock(self, tagger: str) -> None:
        """Restart a tagger's clock (as at its power-on): it reads ``CLOCK_START_PS`` now.

        Its held-back tags, input dead times and buffer state start afresh.
        """
        with self.lock:
            model = self.taggers[tagger]
            self._tagger_origin_ps[tagger] = self.now_ps - CLOCK_START_PS
            for channel in model.channels.values():
                channel.last_tag_ps = NEVER_PS
            model._held = None
            model._fill, model._fill_at_ps, model._overflow_end_ps, model._missed = 0.0, 0, None, {}

    def _drift(self, duration_ps: int) -> None:
        for fiber in self.fibers.values():
            fiber.drift(duration_ps * 1e-12, self.rng)
        for link in self.links:  # the interferometers' phase (time-bin links)
            if hasattr(link, "drift"):
                link.drift(duration_ps * 1e-12, self.rng)

    def acquire(self, duration_ps: int, tagger: str | None = None, flush: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Run the world for ``duration_ps`` and return one tagger's stream for it.

        Returns ``(timestamps_ps int64, channels int32)`` sorted by time. With
        ``flush=False`` (all but the last slice of an acquisition) tags near the end of the
        slice are held for the next call, so consecutive slices form one sorted stream.

        The slice is made in a few ordered passes (numba, :mod:`qnetlab.sim_backends.world.kernels`):
        each link draws its detectors' photons as one time-ordered, jittered stream of
        (time, source); the detectors then see the slice's light (an SNSPD may latch);
        sync markers and dark counts are drawn, jittered and sorted; the streams are merged;
        then one pass applies each detector's dead time and afterpulsing and the tagger
        inputs' delay and dead time, and writes the tag stream.
        """
        with self.lock:
            if tagger is None:
                (tagger,) = self.taggers
            model = self.taggers[tagger]
            start, stop = self.now_ps, self.now_ps + int(duration_ps)
            check_world_time(stop)
            origin = self.tagger_origin_ps(tagger)
            check_tagger_time(tagger, start - origin, stop - origin)
            names = sorted({channel.detector for channel in model.channels.values()})
            sources = {name: index for index, name in enumerate(names)}
            state = self.rng.integers(0, 2**64, size=1, dtype=np.uint64, endpoint=False)
            table = _normal_table()
            wired = [(index, self.detectors[name]) for index, name in enumerate(names) if name not in self.syncs]
            per_source = SourceArrays.of(len(names), model.jitter_ps, wired, origin)
            for index, _ in wired:
                due = self._pending_afterpulse_ps.get(names[index], -1)
                per_source.pending[index] = due - origin if due >= start else -1  # (none lost to advance())
            counts = np.zeros(len(names), np.int64)
            streams, pulsed = self._photon_streams(start, stop, sources, counts, state, per_source.sigma, table, origin)
            seconds = (stop - start) * 1e-12
            dark_hz = np.zeros(len(names))
            for index, detector in wired:
                detector.expose(counts[index] / seconds if seconds else 0.0)
                per_source.enabled[index] = detector.registers_clicks()
                dark_hz[index] = detector.dark_rate_hz()
            self._drift(stop - start)
            if not flush:  # more slices follow: draw the next one's photons while this one is tagged
                # (after the drift and the detectors' exposure, which the next walk sees)
                self._draw_ahead(pulsed, start, stop, sources, per_source.sigma, table, origin)
            few = self._markers_and_dark_counts(names, start, stop, dark_hz, per_source.sigma, table, state, origin)
            if few is not None:
                streams.append(few)
            small, big = _merge_smallest_first(streams)
            stamps, chans = model.tag_events(
                big,
                small,
                per_source.enabled,
                names,
                per_source.dead,
                per_source.last,
                per_source.ap_p,
                per_source.ap_tau,
                start - origin,
                stop - origin,
                flush,
                state,
                per_source.pending,
            )
            for index, detector in wired:
                last = int(per_source.last[index])
                detector.last_click_ps = last + origin if last > NEVER_PS else NEVER_PS
                due = int(per_source.pending[index])
                if due >= 0:  # an afterpulse after this slice's last event: it comes in the next
                    self._pending_afterpulse_ps[names[index]] = due + origin
                else:
                    self._pending_afterpulse_ps.pop(names[index], None)
            self.now_ps = stop
            return stamps, chans

    def _photon_streams(self, start, stop, sources, counts, state, sigma, table, origin):
        """Each link's jittered photon stream for the sources of this tagger (drawn ahead when
        ``threads > 1`` and still valid), and the (index, link) of the pulsed links seen."""
        streams = []
        ahead = self._prefetch if self.threads > 1 else None
        pulsed = []
        for number, link in enumerate(self.links):
            if sources.keys().isdisjoint(link.detectors.values()):
                continue
            if ahead is not None and isinstance(link, PulsedLink):
                pulsed.append((number, link))
                inputs = link.walk_inputs(self, start, stop, sources, origin)
                found = ahead.take(number, inputs, sigma, counts)
                if found is None and inputs is not None:
                    found = walk(inputs, counts, state, sigma, table, self._buffers(number), self.threads)
            else:
                found = link.events(
                    self, start, stop, sources, counts, state, sigma, table, self._buffers(number), origin_ps=origin
                )
            if found is not None and found[0].size:
                streams.append(found)
        return streams, pulsed

    def _draw_ahead(self, pulsed, start, stop, sources, sigma, table, origin) -> None:
        """Launch the next slice's walk of each pulsed link on the worker thread."""
        for number, link in pulsed:
            upcoming = link.walk_inputs(self, stop, 2 * stop - start, sources, origin)
            if upcoming is not None:
                next_state = self.rng.integers(0, 2**64, size=1, dtype=np.uint64, endpoint=False)
                self._prefetch.launch(number, upcoming, sigma, table, next_state)

    def _markers_and_dark_counts(self, names, start, stop, dark_hz, sigma, table, state, origin):
        """Sync markers and dark counts of [start, stop) as one jittered, sorted stream (None: none),
        in ps since ``origin``."""
        from qnetlab.sim_backends.world.kernels.splitmix import add_jitter

        times, srcs = [], []
        for index, name in enumerate(names):
            if name in self.syncs:
                marks = self.syncs[name].arrivals(self, start, stop, origin)
                times.append(marks)
                srcs.append(np.full(marks.size, index, np.int32))
        n_dark = self.rng.poisson(dark_hz * (stop - start) * 1e-12)
        if n_dark.sum():
            times.append(self.rng.integers(start - origin, stop - origin, size=int(n_dark.sum()), dtype=np.int64))
            srcs.append(np.repeat(np.arange(len(names), dtype=np.int32), n_dark))
        if not times:
            return None
        all_times, all_srcs = np.concatenate(times), np.concatenate(srcs)
        add_jitter(all_times, all_srcs, sigma, table, state)
        order = np.argsort(all_times, kind="stable")
        return all_times[order], all_srcs[order]

    def _buffers(self, key):
        """A lender of reusable (times int64, sources int32) arrays for one link's draws.

        The link's stream lives only within one acquisition, so its memory is kept and
        reused (fresh pages cost more than the draws that fill them).
        """

        def lend(size: int, part: int = 0) -> tuple[np.ndarray, np.ndarray]:
            held = self._scratch.get((key, part))
            if held is None or held[0].size < size:
                held = (np.empty(int(size * 1.25), np.int64), np.empty(int(size * 1.25), np.int32))
                self._scratch[(key, part)] = held
            return held

        return lend


class SourceArrays(NamedTuple):
    """What the tagging pass needs of each source (detector or marker) wired to a tagger, by index."""

    sigma: np.ndarray  # rms jitter, detector's and tagger's together (ps)
    dead: np.ndarray  # detector dead time (int64 ps)
    last: np.ndarray  # detector's last registered click (int64 ps), updated by the pass
    ap_p: np.ndarray  # afterpulse probability per registered click
    ap_tau: np.ndarray  # mean afterpulse delay after the dead time (ps)
    enabled: np.ndarray  # False: the detector registers nothing this slice (a latched SNSPD)
    pending: np.ndarray  # afterpulse due (int64 ps, −1: none), carried across slices

    @classmethod
    def of(
        cls,
        n_sources: int,
        tagger_jitter_ps: float,
        detectors: list[tuple[int, DetectorModel]],
        origin_ps: int = 0,
    ) -> SourceArrays:
        """The arrays for ``n_sources``; ``detectors`` are (index, model), the other sources markers.

        Times are ps since ``origin_ps`` (the tagger's clock origin)."""
        arrays = cls(
            np.full(n_sources, float(tagger_jitter_ps)),
            np.zeros(n_sources, np.int64),
            np.full(n_sources, NEVER_PS, np.int64),
            np.zeros(n_sources),
            np.ones(n_sources),
            np.ones(n_sources, np.bool_),
            np.full(n_sources, -1, np.int64),
        )
        for index, detector in detectors:
            arrays.sigma[index] = math.hypot(detector.jitter_ps, tagger_jitter_ps)
            arrays.dead[index] = int(detector.dead_time_ps)
            arrays.last[index] = max(int(detector.last_click_ps) - origin_ps, NEVER_PS)
            arrays.ap_p[index], arrays.ap_tau[index] = detector.afterpulsing()
        return arrays


def _merge_smallest_first(streams: list) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Merge time-ordered streams down to two (the small ones first, Huffman order: least
    copying); the tagging pass merges the last two as it reads them. Returns (smaller, larger)."""
    from qnetlab.sim_backends.world.kernels.streams import merge_streams

    streams = sorted(streams, key=lambda stream: stream[0].size)
    while len(streams) > 2:
        streams = [merge_streams(*streams[0], *streams[1]), *streams[2:]]
        streams.sort(key=lambda stream: stream[0].size)
    empty = (np.empty(0, np.int64), np.empty(0, np.int32))
    small, big = (empty, empty, *streams)[-2:]
    return small, big


def _normal_table() -> np.ndarray:
    """The 65536 mid-quantiles of N(0, 1) (tails cut at ±4.3σ); 16 random bits pick one."""
    global _NORMAL_TABLE
    if _NORMAL_TABLE is None:
        from scipy.special import ndtri

        _NORMAL_TABLE = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)  # 256 kB: stays in cache
    return _NORMAL_TABLE


_NORMAL_TABLE = None

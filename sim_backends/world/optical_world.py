"""The one shared optical world: every emulator reads and writes it, under one clock."""

from __future__ import annotations

import math
import threading

import numpy as np

from qnetlab.sim_backends.world.detectors import NEVER_PS, DetectorModel, SnspdModel
from qnetlab.sim_backends.world.fiber import FiberModel
from qnetlab.sim_backends.world.links import PulsedLink, SyncOutput, walk
from qnetlab.sim_backends.world.prefetch import WalkPrefetch
from qnetlab.sim_backends.world.tagger import TaggerModel
from qnetlab.sim_backends.world.transmitter import TransmitterModel

CLOCK_START_PS = 1_000_000_000  # 1 ms, a whole number of 80 MHz periods


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

    The world has its own clock, ``now_ps``; it runs only when an acquisition or
    :meth:`advance` moves it (so hours of fiber drift pass in a real second), and the
    fibers drift as it runs. All access goes through ``lock`` so emulator threads may
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
            self._drift(int(duration_ps))
            self.now_ps += int(duration_ps)

    def _drift(self, duration_ps: int) -> None:
        for fiber in self.fibers.values():
            fiber.drift(duration_ps * 1e-12, self.rng)

    def acquire(self, duration_ps: int, tagger: str | None = None, flush: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Run the world for ``duration_ps`` and return one tagger's stream for it.

        Returns ``(timestamps_ps int64, channels int32)`` sorted by time. With
        ``flush=False`` (all but the last slice of an acquisition) tags near the end of the
        slice are held for the next call, so consecutive slices form one sorted stream.

        The slice is made in a few ordered passes (numba, :mod:`sim_backends.world._kernels`):
        each link draws its detectors' photons as one time-ordered stream of
        (time, source); dark counts, sync markers and the links' streams are merged and
        jittered; then one pass applies each detector's dead time and afterpulsing and the
        tagger inputs' delay and dead time, and writes the tag stream.
        """
        from qnetlab.sim_backends.world._kernels import add_jitter, merge_streams

        with self.lock:
            model = self.taggers[tagger] if tagger is not None else self.tagger
            start, stop = self.now_ps, self.now_ps + int(duration_ps)
            seconds = (stop - start) * 1e-12
            names = sorted({channel.detector for channel in model.channels.values()})
            sources = {name: index for index, name in enumerate(names)}
            n_src = len(names)
            state = self.rng.integers(0, 2**64, size=1, dtype=np.uint64, endpoint=False)
            table = _normal_table()
            enabled = np.ones(n_src, np.bool_)
            sigma = np.full(n_src, float(model.jitter_ps))
            dead = np.zeros(n_src, np.int64)
            last = np.full(n_src, NEVER_PS, np.int64)
            ap_p = np.zeros(n_src)
            ap_tau = np.ones(n_src)
            detectors = []
            for index, name in enumerate(names):
                if name in self.syncs:
                    continue
                detector = self.detectors[name]
                detectors.append((index, detector))
                sigma[index] = math.hypot(detector.jitter_ps, model.jitter_ps)
                dead[index] = int(detector.dead_time_ps)
                last[index] = int(detector.last_click_ps)
                ap_p[index] = float(getattr(detector, "afterpulse_probability", 0.0))
                ap_tau[index] = float(getattr(detector, "afterpulse_tau_ps", 1.0))
            counts = np.zeros(n_src, np.int64)
            streams = []
            ahead = self._prefetch if self.threads > 1 else None
            pulsed = []  # (index, link) of the pulsed links this tagger sees
            for number, link in enumerate(self.links):
                if sources.keys().isdisjoint(link.detectors.values()):
                    continue
                if ahead is not None and isinstance(link, PulsedLink):
                    pulsed.append((number, link))
                    inputs = link.walk_inputs(self, start, stop, sources)
                    found = ahead.take(number, inputs, sigma, counts)
                    if found is None and inputs is not None:
                        found = walk(inputs, counts, state, sigma, table, self._buffers(number), self.threads)
                else:
                    found = link.events(self, start, stop, sources, counts, state, sigma, table, self._buffers(number))
                if found is not None and found[0].size:
                    streams.append(found)
            small_t, small_s = [], []
            dark_hz = np.zeros(n_src)
            for index, detector in detectors:
                if isinstance(detector, SnspdModel):
                    detector.expose(counts[index] / seconds if seconds else 0.0)
                    enabled[index] = not detector.latched
                dark_hz[index] = detector.dark_rate_hz()
            self._drift(stop - start)
            if not flush:  # more slices follow: draw the next one's photons while this one is tagged
                # (after the drift and the detectors' exposure, which the next walk sees)
                for number, link in pulsed:
                    upcoming = link.walk_inputs(self, stop, 2 * stop - start, sources)
                    if upcoming is not None:
                        next_state = self.rng.integers(0, 2**64, size=1, dtype=np.uint64, endpoint=False)
                        ahead.launch(number, upcoming, sigma, table, next_state)
            for index, name in enumerate(names):
                if name in self.syncs:
                    marks = self.syncs[name].arrivals(self, start, stop)
                    small_t.append(marks)
                    small_s.append(np.full(marks.size, index, np.int32))
            n_dark = self.rng.poisson(dark_hz * seconds)
            if n_dark.sum():
                small_t.append(self.rng.integers(start, stop, size=int(n_dark.sum()), dtype=np.int64))
                small_s.append(np.repeat(np.arange(n_src, dtype=np.int32), n_dark))
            if small_t:  # syncs and dark counts: few, jittered then sorted here
                times, srcs = np.concatenate(small_t), np.concatenate(small_s)
                add_jitter(times, srcs, sigma, table, state)
                order = np.argsort(times, kind="stable")
                streams.append((times[order], srcs[order]))
            streams.sort(key=lambda stream: stream[0].size)
            while len(streams) > 2:  # the small streams first (Huffman order): least copying
                streams = [merge_streams(*streams[0], *streams[1]), *streams[2:]]
                streams.sort(key=lambda stream: stream[0].size)
            empty = (np.empty(0, np.int64), np.empty(0, np.int32))
            (small, big) = (empty, *streams)[-2:] if streams else (empty, empty)
            stamps, chans = model.tag_events(
                big, small, enabled, names, dead, last, ap_p, ap_tau, start, stop, flush, state
            )
            for index, detector in detectors:
                detector.last_click_ps = int(last[index])
            self.now_ps = stop
            return stamps, chans

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


def _normal_table() -> np.ndarray:
    """The 65536 mid-quantiles of N(0, 1) (tails cut at ±4.3σ); 16 random bits pick one."""
    global _NORMAL_TABLE
    if _NORMAL_TABLE is None:
        from scipy.special import ndtri

        _NORMAL_TABLE = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)  # 256 kB: stays in cache
    return _NORMAL_TABLE


_NORMAL_TABLE = None

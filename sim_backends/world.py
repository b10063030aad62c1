"""The one shared optical world: every emulator reads and writes it, under one clock."""

from __future__ import annotations

import math
import threading

import numpy as np

from sim_backends.detectors import DetectorModel, SnspdModel
from sim_backends.fiber import FiberModel
from sim_backends.links import SyncOutput
from sim_backends.tagger import TaggerModel
from sim_backends.transmitter import TransmitterModel


_NO_JITTER = np.empty(0, np.int64)


class OpticalWorld:
    """A seeded simulation of the bench.

    Parameters
    ----------
    transmitters : name -> Alice's pulsed transmitter(s)
    fibers : name -> fiber span
    links : the optical paths (see :mod:`sim_backends.links`), each feeding some detectors
    detectors : name -> detector model
    taggers : name -> tagger model (its inputs name detectors or sync outputs)
    actuators : name -> waveplates, paddle controllers, phase shifters (emulators move them)
    syncs : name -> marker outputs a tagger input may be wired to
    seed : seed of the world's numpy Generator; the same seed replays the same tags
    time_scale : simulated seconds per real second for paced acquisitions (inf: flat out)

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
        self.now_ps = 0
        self.lock = threading.RLock()
        self._jitter_tables: dict[float, np.ndarray] = {}
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

    def _jitter(self, sigma_ps: float, n: int) -> np.ndarray:
        """n Gaussian timing offsets (int64 ps, rms ``sigma_ps``) from a table of quantiles.

        The table holds the 65536 mid-quantiles of N(0, σ²) (tails cut at ±4.3σ); a
        uniform 16-bit index picks one, which costs a few ns per tag.
        """
        if sigma_ps <= 0 or n == 0:
            return _NO_JITTER
        table = self._jitter_tables.get(sigma_ps)
        if table is None:
            from scipy.special import ndtri

            quantiles = (np.arange(65536) + 0.5) / 65536
            table = np.rint(sigma_ps * ndtri(quantiles)).astype(np.int64)
            self._jitter_tables[sigma_ps] = table
        return table[self.rng.integers(0, 65536, n, dtype=np.uint16)]

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
        """
        from sim_backends._kernels import detector_pipeline, seed

        with self.lock:
            model = self.taggers[tagger] if tagger is not None else self.tagger
            start, stop = self.now_ps, self.now_ps + int(duration_ps)
            seconds = (stop - start) * 1e-12
            wanted = {channel.detector for channel in model.channels.values()}
            seed(int(self.rng.integers(2**31)))
            arrivals: dict[str, list[np.ndarray]] = {}
            for link in self.links:
                if wanted.isdisjoint(link.detectors.values()):
                    continue
                for name, times in link.arrivals(self, start, stop).items():
                    arrivals.setdefault(name, []).append(times)
            clicks = {}
            for name in wanted:
                if name in self.syncs:
                    marks = self.syncs[name].arrivals(self, start, stop)
                    clicks[name] = marks + np.rint(self.rng.normal(0, model.jitter_ps, marks.size)).astype(np.int64)
                    continue
                detector = self.detectors[name]
                parts = arrivals.get(name, [])
                photons = parts[0] if len(parts) == 1 else (np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64))
                if isinstance(detector, SnspdModel):
                    detector.expose(photons.size / seconds if seconds else 0.0)
                    if detector.latched:
                        photons = np.empty(0, np.int64)
                n_dark = self.rng.poisson(detector.dark_rate_hz() * seconds)
                dark = np.sort(self.rng.integers(start, stop, size=n_dark, dtype=np.int64))
                sigma = math.hypot(detector.jitter_ps, model.jitter_ps)
                jitter = self._jitter(sigma, photons.size + dark.size)
                afterpulse_p = getattr(detector, "afterpulse_probability", 0.0)
                afterpulse_tau = getattr(detector, "afterpulse_tau_ps", 1.0)
                times, detector.last_click_ps = detector_pipeline(
                    photons, dark, jitter, int(detector.dead_time_ps), int(detector.last_click_ps),
                    float(afterpulse_p), float(afterpulse_tau), stop,
                )
                clicks[name] = times
            self._drift(stop - start)
            self.now_ps = stop
            return model.tag(clicks, start, stop, flush=flush)

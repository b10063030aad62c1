"""The one shared optical world: every emulator reads and writes it, under one clock."""

from __future__ import annotations

import threading

import numpy as np

from sim_backends.detectors import DetectorModel
from sim_backends.fiber import FiberModel
from sim_backends.sources import PulsedLaserModel
from sim_backends.tagger import TaggerModel


class OpticalWorld:
    """A seeded simulation of the bench: laser -> fiber -> splitter -> detectors -> tagger.

    Parameters
    ----------
    laser, fiber, detectors, tagger : the parts (see their models)
    splitter : detector name -> fraction of the fiber output that reaches it
    seed : seed of the world's numpy Generator; the same seed replays the same clicks
    time_scale : simulated seconds per real second for paced acquisitions
        (``inf``: as fast as the computer goes)

    The world has its own clock, ``now_ps``; it runs only when an acquisition or
    :meth:`advance` moves it, so a simulated hour can pass in a real second.
    All access goes through ``lock`` so emulator threads may share the world.
    """

    def __init__(
        self,
        *,
        laser: PulsedLaserModel,
        fiber: FiberModel,
        splitter: dict[str, float],
        detectors: dict[str, DetectorModel],
        tagger: TaggerModel,
        seed: int = 0,
        time_scale: float = float("inf"),
    ):
        unknown = set(splitter) - set(detectors)
        if unknown:
            raise ValueError(f"splitter feeds unknown detectors {sorted(unknown)}")
        self.laser = laser
        self.fiber = fiber
        self.splitter = dict(splitter)
        self.detectors = detectors
        self.tagger = tagger
        self.rng = np.random.default_rng(seed)
        self.time_scale = time_scale
        self.now_ps = 0
        self.lock = threading.RLock()

    def mean_photons_at(self, detector: str) -> float:
        """Mean photon number per pulse arriving at ``detector`` (before its efficiency)."""
        return self.laser.mean_photon_number() * self.fiber.transmission() * self.splitter.get(detector, 0.0)

    def advance(self, duration_ps: int) -> None:
        """Let simulated time pass without recording anything."""
        with self.lock:
            self.now_ps += int(duration_ps)

    def acquire(self, duration_ps: int) -> tuple[np.ndarray, np.ndarray]:
        """Run the world for ``duration_ps`` and return the tagger's stream for it.

        Returns ``(timestamps_ps int64, channels int32)``, sorted by time.
        """
        with self.lock:
            start, stop = self.now_ps, self.now_ps + int(duration_ps)
            period = self.laser.period_ps
            clicks = {
                name: det.clicks(self.rng, start, stop, period, self.mean_photons_at(name))
                for name, det in self.detectors.items()
            }
            self.now_ps = stop
            return self.tagger.tag(self.rng, clicks)

"""Compile the world's numba passes ahead of any instrument timeout.

With numba's cache cold (a fresh clone, a new ``NUMBA_CACHE_DIR``) the passes take
seconds to compile (about 15 s on a busy 2-core machine), longer than a driver waits for
its first measurement. :func:`compile_world_kernels` runs a small world of every link kind
for two slices, so every pass compiles (or loads from the cache, well under a second)
with the argument types the bench uses; the lab start (``load_lab``) and the emulated
tagger SDK call it once per process before any driver waits on the world. When it takes
longer than :data:`NOTICE_AFTER_S` a line on stderr says what is happening.
"""

from __future__ import annotations

import sys
import threading
import time

NOTICE_AFTER_S = 3.0  # a warm cache loads in about 2 s (numba import included)
_DONE = threading.Event()
_LOCK = threading.Lock()


def kernel_dispatchers() -> dict[str, object]:
    """Every numba-compiled function of the world's passes, by ``module.name``."""
    from numba.core.registry import CPUDispatcher

    from qnetlab.sim_backends.world.kernels import detect_and_tag, pairs, pulsed_walk, splitmix, streams

    found = {}
    for module in (detect_and_tag, pairs, pulsed_walk, splitmix, streams):
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = value
    return found


def compile_world_kernels(stream=None) -> float:
    """Compile (or load from numba's cache) every pass of the world; once per process.

    Returns the seconds it took (0.0 when already done). ``stream`` (default stderr)
    gets one line when it takes longer than :data:`NOTICE_AFTER_S`, and one when done.
    """
    if _DONE.is_set():
        return 0.0
    with _LOCK:
        if _DONE.is_set():
            return 0.0
        out = sys.stderr if stream is None else stream
        started = time.perf_counter()
        notice = threading.Timer(
            NOTICE_AFTER_S,
            lambda: print("qnetlab: compiling the simulated world's kernels (once; numba caches them) ...", file=out),
        )
        notice.daemon = True
        notice.start()
        try:
            _run_small_world()
        finally:
            notice.cancel()
        elapsed = time.perf_counter() - started
        if elapsed > NOTICE_AFTER_S:
            print(f"qnetlab: simulated world's kernels ready in {elapsed:.1f} s", file=out)
        _DONE.set()
        return elapsed


def _run_small_world() -> None:
    """Two slices (held back, then flushed) of a world with every link kind, sync markers,
    dark counts, afterpulses and two tagger input delays: each pass runs at least once."""
    from qnetlab.sim_backends.world.actuators import PaddleController, PhaseShifter, Waveplate
    from qnetlab.sim_backends.world.detectors import DetectorModel, SpadModel
    from qnetlab.sim_backends.world.fiber import FiberModel
    from qnetlab.sim_backends.world.links import (
        EntangledPairLink,
        PolarizationBB84Link,
        SplitterLink,
        SyncOutput,
        TimeBinBB84Link,
    )
    from qnetlab.sim_backends.world.optical_world import OpticalWorld
    from qnetlab.sim_backends.world.tagger import TaggerChannelModel, TaggerModel
    from qnetlab.sim_backends.world.transmitter import TransmitterModel

    def detector(**kw):
        return DetectorModel(
            **{"efficiency": 0.8, "dark_count_hz": 1e6, "dead_time_ps": 20_000, "jitter_ps": 20.0, **kw}
        )

    transmitters = {
        "plain": TransmitterModel(attenuation_db=60.0),
        "pol": TransmitterModel(attenuation_db=60.0, encoding="polarization"),
        "tb": TransmitterModel(attenuation_db=60.0, encoding="time_bin"),
    }
    fibers = {"fiber": FiberModel(length_km=1.0)}
    links = [
        SplitterLink("plain", "fiber", {"s": "s"}, fractions={"s": 1.0}),
        PolarizationBB84Link("pol", "fiber", {"H": "h", "V": "v"}, controller="pc"),
        TimeBinBB84Link("tb", "fiber", {"Z": "z", "X0": "x0", "X1": "x1"}, phase_shifter="piezo"),
        EntangledPairLink(
            pair_rate_hz=5e6,
            visibility=0.9,
            heralding_a=0.5,
            heralding_b=0.5,
            analyzers={"A": {"hwp": "hwp"}},
            detectors={"A_T": "at", "A_R": "ar", "B_T": "bt", "B_R": "br"},
        ),
    ]
    names = ["s", "h", "v", "z", "x0", "x1", "at", "ar", "bt", "br"]
    detectors = {name: detector() for name in names}
    detectors["s"] = SpadModel(efficiency=0.8, dead_time_ps=1_000, afterpulse_probability=0.5, afterpulse_tau_ps=500.0)
    wiring = [*names, "sync"]
    channels = {n + 1: TaggerChannelModel(name, delay_ps=1_000 * (n % 2)) for n, name in enumerate(wiring)}
    actuators = {"pc": PaddleController(), "piezo": PhaseShifter(), "hwp": Waveplate(0.5, 0.0)}
    for threads in (1, 2):
        world = OpticalWorld(
            transmitters=transmitters,
            fibers=fibers,
            links=links,
            detectors=detectors,
            taggers={"tagger": TaggerModel(channels)},
            actuators=actuators,
            syncs={"sync": SyncOutput("plain", divider=64)},
            seed=0,
            threads=threads,
        )
        for flush in (False, True):
            world.acquire(20_000_000, "tagger", flush=flush)  # 20 µs: 1600 pulses, a few hundred clicks

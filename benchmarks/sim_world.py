"""Speed of the simulated world on the full bench: prints ``<figure>: <number> <unit>`` lines.

Run: ``python benchmarks/sim_world.py [--seconds 1.0] [--repeats 5]``. The world is the one
of config/sim_lab.yaml (four polarization SNSPDs at 0.25–3.2 MHz, three idle time-bin
SNSPDs, four SPADs at ~47 kHz, Alice's sync at 78 kHz: ~7.4 MHz of tags), driven as the
emulated SDK drives it: ``world.acquire(SLICE_PS, "tagger", flush=False)`` slice after
slice (the SDK's step, 50 ms), each returning the merged, time-sorted (int64 ps, int32
channel) stream. Each figure is
the best of five repeats (``--repeats``), numba warmed up. On a shared VM the second
core is sometimes taken for seconds at a time; world_full_bench then falls to about the
one-core figure.

world_full_bench: the world as the config builds it (``world.threads: 2`` in
config/sim_lab.yaml: a worker thread draws the next slice's pulsed-link photons while
the main thread tags this one; see sim_backends/world/prefetch.py).
world_full_bench_one_core: the same world with ``threads = 1``.
world_full_bench_one_core_day_30: that world after 30 simulated days (slot times are exact
integers at any date: see sim_backends/world/clock.py).

There is no per-channel figure: the dead-time / tagger pass writes the merged stream in
time order as it goes, so there is no separate merge left to defer.

Reference figures beside it:
  reference_numpy_sort_merge: the same slices' tags, split per channel, put back into one
    sorted stream by numpy (concatenate + stable argsort): what merging alone costs done
    plainly, to set against the whole world above;
  memory_write: writing 12 bytes per tag (int64 time + int32 channel) into fresh arrays,
    the floor for any generator that returns new arrays.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qnetlab.sim_backends.emulators.timetagger_sdk import SLICE_PS  # noqa: E402  (the emulated SDK's step)


def build_world():
    """The world of config/sim_lab.yaml as load_lab leaves it: twins started, the instruments'
    settings (SNSPD bias, SPAD efficiency and dead time, tagger inputs) applied through the
    drivers; then the lab is closed (the world needs no emulator to run)."""
    from qnetlab.instruments.lab import load_lab

    with load_lab(REPO / "config" / "sim_lab.yaml") as lab:
        return lab.world


def run_world(world, n_slices):
    tags = 0
    last = None
    for _ in range(n_slices):
        stamps, channels = world.acquire(SLICE_PS, "tagger", flush=False)
        tags += stamps.size
        last = (stamps, channels)
    return tags, last


def best(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="simulated seconds per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs of --seconds each")
    args = parser.parse_args()
    n_slices = max(1, int(round(args.seconds * 1e12 / SLICE_PS)))
    simulated_s = n_slices * SLICE_PS * 1e-12

    world = build_world()
    run_world(world, 5)  # compile / load the numba kernels
    seconds, (tags, (stamps, channels)) = best(lambda: run_world(world, n_slices), args.repeats)
    print(
        f"world_full_bench: {tags / seconds:.3g} tags/s (simulated rate {tags / simulated_s:.3g} tags/s; "
        f"{simulated_s / seconds:.1f}x real time; {n_slices} slices of {SLICE_PS / 1e9:g} ms, merged sorted stream; "
        f"threads={world.threads} as configured)"
    )

    world_1 = build_world()
    world_1.threads = 1
    run_world(world_1, 5)
    seconds_1, (tags_1, _) = best(lambda: run_world(world_1, n_slices), args.repeats)
    print(
        f"world_full_bench_one_core: {tags_1 / seconds_1:.3g} tags/s "
        f"({simulated_s / seconds_1:.1f}x real time; everything on one core)"
    )

    world_1.advance(30 * 86_400 * 10**12)  # the exact integer clock costs the same a month on
    run_world(world_1, 1)
    seconds_30, (tags_30, _) = best(lambda: run_world(world_1, n_slices), args.repeats)
    print(
        f"world_full_bench_one_core_day_30: {tags_30 / seconds_30:.3g} tags/s "
        f"(the same after 30 simulated days; reference: world_full_bench_one_core)"
    )

    # the same slice split per channel, merged back by numpy
    per_channel = [stamps[channels == c] for c in np.unique(channels)]
    chans = [np.full(t.size, c, np.int32) for t, c in zip(per_channel, np.unique(channels), strict=False)]

    def numpy_merge():
        t = np.concatenate(per_channel)
        c = np.concatenate(chans)
        order = np.argsort(t, kind="stable")
        return t[order], c[order]

    merge_s, (merged, _) = best(numpy_merge, 5)
    assert np.array_equal(merged, stamps)
    print(
        f"reference_numpy_sort_merge: {stamps.size / merge_s:.3g} tags/s "
        f"(concatenate + stable argsort of one slice's {len(per_channel)} per-channel arrays, {stamps.size} tags)"
    )

    n = 4 * stamps.size

    def write():
        t = np.empty(n, np.int64)
        c = np.empty(n, np.int32)
        t.fill(1)
        c.fill(1)
        return t, c

    write_s, _ = best(write, 5)
    print(f"memory_write: {12 * n / write_s:.3g} bytes/s (= {n / write_s:.3g} tags/s at 12 bytes/tag, fresh arrays)")


if __name__ == "__main__":
    main()

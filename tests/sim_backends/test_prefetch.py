"""Two-thread worlds draw the next slice ahead; a change between slices must still show at once."""

from __future__ import annotations

import numpy as np

SLICE_PS = 10_000_000_000  # 10 ms slices (shorter than the emulated SDK's step, to keep the test quick)


def slices(world, n, flush_last=True):
    """``n`` consecutive acquisitions as the emulated SDK makes them (all but the last hold back)."""
    return [world.acquire(SLICE_PS, flush=flush_last and i == n - 1) for i in range(n)]


def h_counts(parts):
    return [int(np.count_nonzero(channels == 1)) for _, channels in parts]


def test_same_seed_gives_the_same_stream_with_two_threads(bench):
    runs = []
    for _ in range(2):
        world = bench.polarization_world(controller=bench.PaddleController())
        world.threads = 2
        runs.append(slices(world, 4))
    for (t1, c1), (t2, c2) in zip(*runs, strict=False):
        assert np.array_equal(t1, t2) and np.array_equal(c1, c2)


def test_two_thread_stream_has_the_one_thread_rates_and_stays_sorted(bench):
    rates = {}
    for threads in (1, 2):
        world = bench.polarization_world(controller=bench.PaddleController(), seed=3 + threads)
        world.threads = threads
        parts = slices(world, 6)
        stamps = np.concatenate([t for t, _ in parts])
        assert np.all(np.diff(stamps) >= 0)
        rates[threads] = np.bincount(np.concatenate([c for _, c in parts]), minlength=5)[1:]
    for one, two in zip(rates[1], rates[2], strict=False):
        assert abs(int(one) - int(two)) < 5 * np.sqrt(one + two) + 1


def test_power_change_between_slices_shows_in_the_next_slice(bench):
    world = bench.polarization_world(controller=bench.PaddleController())
    world.threads = 2
    before = h_counts(slices(world, 2, flush_last=False))  # the walk of slice 3 is now drawn ahead
    world.transmitters["alice"].power_dbm -= 10.0  # a tenth of the photons
    after = h_counts(slices(world, 2))
    assert min(before) > 1000
    assert max(after) < 0.2 * min(before)


def test_paddle_move_between_slices_shows_in_the_next_slice(bench):
    controller = bench.PaddleController()  # λ/4, λ/2, λ/4 at 0°: H stays H
    world = bench.polarization_world(controller=controller)  # pattern off: every pulse H
    world.threads = 2

    def h_and_v(parts):
        return [(np.count_nonzero(c == 1), np.count_nonzero(c == 2)) for _, c in parts]

    before = h_and_v(slices(world, 2, flush_last=False))
    controller.paddles[1].angle_deg = 45.0  # the half-wave paddle at 45°: H -> V
    after = h_and_v(slices(world, 1))
    assert all(v < 0.05 * h for h, v in before)
    assert all(h < 0.05 * v for h, v in after)


def test_pattern_rewritten_in_place_between_slices_is_noticed(bench):
    pattern = np.full(64, 0b000, np.uint8)  # all Z, bit 0: H only
    world = bench.polarization_world(controller=bench.PaddleController(), pattern=pattern)
    world.threads = 2
    first = slices(world, 2, flush_last=False)
    pattern[:] = 0b001  # all Z, bit 1: V only, written into the same memory
    second = slices(world, 1)
    assert all(np.count_nonzero(c == 2) < 0.05 * np.count_nonzero(c == 1) for _, c in first)
    ((_, c),) = second
    assert np.count_nonzero(c == 1) < 0.05 * np.count_nonzero(c == 2)

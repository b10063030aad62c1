"""The fused kernels of the simulated world against the unfused model, in closed form.

A pulsed link's modes are walked together (candidate slots at p_any, then which modes fire
from one table draw); that must leave each mode's click probability p_m exact and the
modes independent, as for a split coherent state: a pair of modes fires together on a
slot at the product rate p_a·p_b. Counts are binomial; each check allows 5σ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnetlab.sim_backends.world.kernels import pulsed_walk as K
from qnetlab.sim_backends.world.kernels.detect_and_tag import detect_and_tag
from qnetlab.sim_backends.world.kernels.splitmix import uniforms
from qnetlab.sim_backends.world.kernels.streams import restore_order_pairs

PERIOD = 12_500.0
CLOCK_ARGS = (12_500, 0, 1, 0, 0)  # period 12500 + 0/1 ps, phase 0, base 0 ps


def walk(eta_mu, pattern, n_slots, offsets=None, seed=5):
    """All clicks of a link with mean detected photons ``eta_mu[code, mode]`` (modes = sources)."""
    n_modes = eta_mu.shape[1]
    offsets = np.zeros(n_modes, np.int64) if offsets is None else np.asarray(offsets, np.int64)
    p_modes = -np.expm1(-eta_mu)
    p_any = -np.expm1(-eta_mu.sum(axis=1))
    p_max = float(p_any[np.unique(pattern)].max())
    counts = np.zeros(n_modes, np.int64)
    state = np.array([seed], np.uint64)
    times, srcs = K.pulsed_link_events(
        0,
        n_slots,
        pattern,
        *CLOCK_ARGS,
        offsets,
        np.arange(n_modes, dtype=np.int32),
        p_modes,
        p_any,
        p_max,
        counts,
        state,
    )
    return times, srcs, counts, p_modes


def slots_of(times, offsets, srcs):
    return np.rint((times - np.asarray(offsets)[srcs]) / PERIOD).astype(np.int64)


def within(observed, expected):
    return abs(observed - expected) < 5 * math.sqrt(max(expected, 1.0))


@pytest.mark.parametrize("scale", [1.0, 0.02], ids=["table-skips", "log-skips"])
def test_fused_link_keeps_each_mode_marginal_and_independence(scale):
    eta_mu = np.zeros((16, 4))
    eta_mu[0] = [0.30, 0.05, 0.10, 0.20]
    eta_mu[3] = [0.01, 0.20, 0.15, 0.15]
    eta_mu[5] = [0.0, 0.0, 0.0, 0.0]  # a vacuum code: never fires
    eta_mu *= scale
    pattern = np.array([0, 3, 0, 3, 3, 5, 0], np.uint8)
    n_slots = 3_000_000 if scale == 1.0 else 20_000_000
    times, srcs, counts, p_modes = walk(eta_mu, pattern, n_slots)
    assert np.all(np.diff(times) >= 0)
    assert np.array_equal(counts, np.bincount(srcs, minlength=4))
    slots = slots_of(times, np.zeros(4, np.int64), srcs)
    codes = pattern[slots % pattern.size]
    slots_by_code = {c: np.count_nonzero(pattern[np.arange(n_slots) % pattern.size] == c) for c in (0, 3, 5)}
    assert np.count_nonzero(codes == 5) == 0
    fired = np.zeros((n_slots, 4), bool)
    fired[slots, srcs] = True
    for code in (0, 3):
        rows = fired[pattern[np.arange(n_slots) % pattern.size] == code]
        for m in range(4):
            assert within(rows[:, m].sum(), slots_by_code[code] * p_modes[code, m]), (code, m)
        for a in range(4):
            for b in range(a + 1, 4):  # double clicks at the product rate
                both = np.count_nonzero(rows[:, a] & rows[:, b])
                assert within(both, slots_by_code[code] * p_modes[code, a] * p_modes[code, b]), (code, a, b)
        triple = np.count_nonzero(rows[:, 0] & rows[:, 2] & rows[:, 3])
        assert within(triple, slots_by_code[code] * p_modes[code, 0] * p_modes[code, 2] * p_modes[code, 3])


def test_modes_with_offsets_beyond_a_period_come_out_sorted_through_the_link():
    """Time-bin style: modes at 0, 1.5 and 3 periods still give a sorted stream."""
    from qnetlab.sim_backends.world.links import PulsedLink

    eta_mu = np.zeros((16, 3))
    eta_mu[0] = [0.2, 0.1, 0.3]
    offsets = [0, 18_750, 37_500]
    times, srcs, _counts, p_modes = walk(eta_mu, np.zeros(1, np.uint8), 1_000_000, offsets=offsets)
    restore_order_pairs(times, srcs)  # what PulsedLink.events does for such offsets
    assert np.all(np.diff(times) >= 0)
    for m in range(3):
        assert within(np.count_nonzero(srcs == m), 1_000_000 * p_modes[0, m])
    assert hasattr(PulsedLink, "events")


def test_chunked_walk_resumes_exactly():
    """A buffer far too small makes the walk stop and resume many times; the law is unchanged."""
    eta_mu = np.zeros((16, 2))
    eta_mu[0] = [0.2, 0.1]
    p_modes = -np.expm1(-eta_mu)
    p_any = -np.expm1(-eta_mu.sum(axis=1))
    geo_prob, geo_alias = np.ones(1 << K.GEOMETRIC_TABLE_BITS), np.zeros(1 << K.GEOMETRIC_TABLE_BITS, np.int64)
    mask_prob, mask_alias = np.ones((16, 4)), np.zeros((16, 4), np.int64)
    K.link_tables(p_modes, p_any, p_any[0], geo_prob, geo_alias, mask_prob, mask_alias)
    state = np.array([9], np.uint64)
    counts = np.zeros(2, np.int64)
    first, left, parts = 0, 2_000_000, []
    while left > 0:
        times, srcs = np.empty(1000, np.int64), np.empty(1000, np.int32)
        n, done = K.pulsed_link_chunk(
            first,
            left,
            np.zeros(1, np.uint8),
            12_500,
            0,
            1,
            0,
            first * 12_500,  # the resumed chunk's first slot time (ps)
            np.zeros(2, np.int64),
            np.arange(2, dtype=np.int32),
            p_any[0],
            geo_prob,
            geo_alias,
            mask_prob,
            mask_alias,
            counts,
            state,
            times,
            srcs,
            np.zeros(2),
            np.zeros(65536, np.float32),
        )
        parts.append((times[:n], srcs[:n]))
        first, left = first + done, left - done
    assert len(parts) > 100
    times = np.concatenate([p[0] for p in parts])
    srcs = np.concatenate([p[1] for p in parts])
    assert np.all(np.diff(times) >= 0)
    slots = np.rint(times / PERIOD).astype(np.int64)
    assert slots.min() >= 0 and slots.max() < 2_000_000
    for m in range(2):
        assert within(np.count_nonzero(srcs == m), 2_000_000 * p_modes[0, m])
    both = np.count_nonzero(np.bincount(slots, minlength=2_000_000) == 2)
    assert within(both, 2_000_000 * p_modes[0, 0] * p_modes[0, 1])


def test_alias_table_reproduces_its_weights_exactly():
    rng = np.random.default_rng(3)
    for size in (2, 16, 256, 1024):
        weights = rng.random(size) ** 3
        weights[rng.integers(size)] = 0.0
        prob, alias = np.ones(size), np.zeros(size, np.int64)
        K.alias_table(weights, prob, alias)
        implied = prob.copy()
        np.add.at(implied, alias, 1.0 - prob)
        assert np.allclose(implied / size, weights / weights.sum(), rtol=0, atol=1e-12)


def test_geometric_table_has_the_geometric_law():
    """Outcomes g < K − 1 have P = p(1 − p)^g, the last "≥ K − 1" the rest; padding cells none."""
    p = 0.09
    geo_prob, geo_alias = np.ones(1 << K.GEOMETRIC_TABLE_BITS), np.zeros(1 << K.GEOMETRIC_TABLE_BITS, np.int64)
    K.link_tables(
        np.full((16, 1), p), np.full(16, p), p, geo_prob, geo_alias, np.ones((16, 2)), np.zeros((16, 2), np.int64)
    )
    size = geo_prob.size
    outcomes = size >> K.GEOMETRIC_TABLE_PAD_BITS
    implied = np.zeros(size)
    kept = np.arange(size)
    np.add.at(implied, kept, geo_prob)
    np.add.at(implied, geo_alias, 1.0 - geo_prob)
    g = np.arange(outcomes - 1)
    assert np.allclose(implied[: outcomes - 1] / size, p * (1 - p) ** g, rtol=1e-9, atol=1e-15)
    assert implied[outcomes - 1] / size == pytest.approx((1 - p) ** (outcomes - 1), rel=1e-6, abs=1e-15)
    assert np.all(implied[outcomes:] == 0.0)


def test_firing_pattern_table_has_the_joint_law_of_independent_modes():
    """Mask m of code c: Π_m (p_m or 1 − p_m)/p_max; mask 0 takes the rest; padding none."""
    p_modes = np.zeros((16, 3))
    p_modes[0] = [0.06, 0.02, 0.01]
    p_modes[1] = [0.03, 0.0, 0.005]
    p_any = 1 - np.prod(1 - p_modes, axis=1)
    p_max = float(p_any.max())
    cells = 1 << K.MASK_TABLE_MIN_BITS
    mask_prob, mask_alias = np.ones((16, cells)), np.zeros((16, cells), np.int64)
    K.link_tables(p_modes, p_any, p_max, np.ones(1024), np.zeros(1024, np.int64), mask_prob, mask_alias)
    for code in (0, 1):
        implied = mask_prob[code].copy()
        np.add.at(implied, mask_alias[code], 1.0 - mask_prob[code])
        expected = np.zeros(cells)
        for mask in range(1, 8):
            expected[mask] = (
                np.prod([p_modes[code, m] if mask >> m & 1 else 1 - p_modes[code, m] for m in range(3)]) / p_max
            )
        expected[0] = 1 - p_any[code] / p_max
        assert np.allclose(implied / cells, expected, rtol=0, atol=1e-12)
    assert np.all(mask_prob[2] == 0.0) and np.all(mask_alias[2] == 0)  # a code that never fires


def test_generator_is_uniform():
    u = uniforms(1_000_000, np.array([123], np.uint64))
    assert 0.0 <= u.min() and u.max() < 1.0
    counts = np.bincount((u * 100).astype(int), minlength=100)
    chi2 = (((counts - 10_000) ** 2) / 10_000).sum()
    assert chi2 < 99 + 5 * math.sqrt(2 * 99)


@pytest.mark.parametrize("threads", [1, 2])
def test_double_clicks_through_the_world_at_the_product_rate(bench, threads):
    """Two detectors behind a splitter fire together on a pulse at rate f·p_a·p_b (one or two threads)."""
    from qnetlab.sim_backends import FiberModel, OpticalWorld, TransmitterModel
    from qnetlab.sim_backends.world.links import SplitterLink

    tx = TransmitterModel(rep_rate_hz=80e6, power_dbm=-7.0, attenuation_db=73.0)
    link = SplitterLink("alice", "fiber", {"a": "a", "b": "b"}, fractions={"a": 0.6, "b": 0.4})
    world = OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": FiberModel(length_km=0.0)},
        links=[link],
        detectors={
            n: bench.detector(dead_time_ps=10_000, jitter_ps=20.0) for n in ("a", "b")
        },  # τ < period: no slot lost
        taggers=bench.tagger({1: "a", 2: "b"}),
        seed=8,
        threads=threads,
    )
    seconds = 0.05
    stamps, channels = world.acquire(int(seconds * 1e12))
    assert np.all(np.diff(stamps) >= 0)
    slots = np.rint(stamps / tx.period_ps).astype(np.int64)
    a, b = slots[channels == 1], slots[channels == 2]
    n_slots = tx.rep_rate_hz * seconds
    mu = tx.mean_photon_number()
    p_a, p_b = (-math.expm1(-0.8 * mu * f) for f in (0.6, 0.4))
    assert within(a.size, n_slots * p_a) and within(b.size, n_slots * p_b)
    assert within(np.intersect1d(a, b).size, n_slots * p_a * p_b)


def test_afterpulses_follow_the_dead_time_and_survive_a_tiny_output_buffer():
    """Afterpulse chains through the resumable pass: R/(1 − P) clicks per photon rate R.

    Photons come every 100 µs (dead time 1 µs, afterpulses 1 µs + Exp(0.5 µs) later), so
    every gap under 100 µs is an afterpulse and no photon meets a dead detector. The output
    buffer is sized for the photons alone: the pass must grow it and resume.
    """
    n = 10_000
    span = n * 100_000_000
    times = np.arange(n, dtype=np.int64) * 100_000_000
    srcs = np.zeros(n, np.int32)
    dead = np.array([1_000_000], np.int64)
    last = np.array([-(2**62)], np.int64)
    ap_p, ap_tau = np.array([0.3]), np.array([500_000.0])
    one = dict(
        ch_ptr=np.array([0, 1]),
        ch_number=np.array([1], np.int32),
        ch_delay=np.zeros(1, np.int64),
        ch_dead=np.zeros(1, np.int64),
        ch_last=np.full(1, -(2**62), np.int64),
    )
    tags, _chans = detect_and_tag(
        times,
        srcs,
        dead,
        last,
        ap_p,
        ap_tau,
        span,
        one["ch_ptr"],
        one["ch_number"],
        one["ch_delay"],
        one["ch_dead"],
        one["ch_last"],
        np.empty(0, np.int64),
        np.empty(0, np.int32),
        np.array([2], np.uint64),
        0,
    )
    assert np.all(np.diff(tags) >= 1_000_000)
    expected = n / (1 - 0.3)  # each photon starts a geometric chain of afterpulses
    assert within(tags.size, expected)
    is_afterpulse = tags[1:] % 100_000_000 != 0
    after = np.diff(tags)[is_afterpulse] - 1_000_000
    assert abs(after.mean() - 500_000) < 5 * 500_000 / math.sqrt(after.size)


def test_jitter_drawn_in_the_walk_is_gaussian_and_the_stream_sorted():
    from qnetlab.sim_backends.world.optical_world import _normal_table

    eta_mu = np.zeros((16, 2))
    eta_mu[0] = [0.3, 0.3]
    sigma = np.array([30.0, 1_000.0])  # the second as wide as the gap between the modes: they swap
    offsets = np.array([0, 1_000], np.int64)
    p_modes = -np.expm1(-eta_mu)
    p_any = -np.expm1(-eta_mu.sum(axis=1))
    times, srcs = K.pulsed_link_events(
        0,
        1_000_000,
        np.zeros(1, np.uint8),
        *CLOCK_ARGS,
        offsets,
        np.arange(2, dtype=np.int32),
        p_modes,
        p_any,
        p_any[0],
        np.zeros(2, np.int64),
        np.array([4], np.uint64),
        sigma,
        _normal_table(),
    )
    assert np.all(np.diff(times) >= 0)
    for m in range(2):
        t = times[srcs == m] - offsets[m]
        residual = t - np.rint(t / PERIOD) * PERIOD
        n = residual.size
        assert abs(residual.mean()) < 5 * sigma[m] / math.sqrt(n)
        assert abs(residual.std() / sigma[m] - 1) < 5 / math.sqrt(2 * n) + 1e-3  # table tails cut at 4.3σ


@pytest.mark.parametrize("delay_ps", [3_000, 50_000_000], ids=["small-spread", "large-spread"])
def test_tagger_input_delays_keep_the_stream_sorted_across_slices(bench, delay_ps):
    """Input delays reorder tags of different inputs; the stream must stay one sorted stream."""
    world = bench.polarization_world(controller=bench.Waveplate(0.5, 22.5))
    world.tagger.channels[2].delay_ps = delay_ps
    reference = bench.polarization_world(controller=bench.Waveplate(0.5, 22.5))
    parts = [world.acquire(10**9, flush=(i == 19)) for i in range(20)]
    stamps = np.concatenate([p[0] for p in parts])
    chans = np.concatenate([p[1] for p in parts])
    assert np.all(np.diff(stamps) >= 0)
    _ref_stamps, ref_chans = reference.acquire(20 * 10**9)
    for channel in (1, 2, 3, 4):  # same counts as without the delay (5σ), channel 2 shifted
        n, m = np.count_nonzero(chans == channel), np.count_nonzero(ref_chans == channel)
        assert abs(n - m) < 5 * math.sqrt(2 * max(m, 1)), (channel, n, m)
    shifted = stamps[chans == 2]
    assert shifted.min() >= delay_ps - 1_000


def test_vanishing_click_probability_gives_no_clicks_and_terminates():
    # a skip of ~1e40 slots must not overflow an int64 nor loop: the walk ends at once
    p_modes = np.full((16, 1), 1e-40)
    times, srcs = K.pulsed_link_events(
        0,
        10**9,
        np.zeros(1, np.uint8),
        *CLOCK_ARGS,
        np.zeros(1, np.int64),
        np.zeros(1, np.int32),
        p_modes,
        p_modes[:, 0],
        1e-40,
        np.zeros(1, np.int64),
        np.array([5], np.uint64),
    )
    assert times.size == 0 and srcs.size == 0

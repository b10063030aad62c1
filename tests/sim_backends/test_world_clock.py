"""The world's clock: exact slot times for a simulated year, a clear error beyond its range,
and afterpulses that cross a slice end."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from qnetlab.sim_backends.world.clock import (
    CLOCK_START_PS,
    PS_PER_DAY,
    TAGGER_CLOCK_LIMIT_PS,
    ClockRangeError,
    SlotClock,
)

DETECTOR_JITTER_PS, TAGGER_JITTER_PS = 20.0, 5.0
TABLE_VARIANCE = 0.99967  # variance of N(0, 1) cut at ±4.3σ (the kernels' quantile table)


@pytest.mark.parametrize("rate_hz", [80e6, 76.3e6, 1e9 / 3])
def test_slot_times_are_exact_at_any_slot(rate_hz):
    clock = SlotClock.of_rate(rate_hz)
    period = Fraction(clock.numerator, clock.denominator)
    assert abs(float(period) - 1e12 / rate_hz) < 1e-6  # the asked-for period to a µps
    year_slots = int(365.25 * 86_400 * rate_hz)
    rng = np.random.default_rng(0)
    for slot in [0, 1, 7, 2**53 + 1, year_slots, *rng.integers(0, 10 * year_slots, 20).tolist()]:
        exact = slot * period
        assert clock.time_ps(slot) == math.floor(exact + Fraction(1, 2))
        assert clock.first_slot_at(clock.time_ps(slot)) in (slot, slot + 1)  # rounding may put it before
        assert slot * period >= clock.first_slot_at(int(exact)) * period - period
    first = year_slots + 12_345
    k = rng.integers(0, 10**9, 500)
    expected = [clock.time_ps(first + int(i)) - clock.time_ps(first) for i in k]
    assert clock.relative_times_ps(first, k).tolist() == expected


def _world(rate_hz, seed=4):
    from qnetlab.sim_backends import FiberModel, OpticalWorld, TransmitterModel
    from qnetlab.sim_backends.world.links import SplitterLink

    from .conftest import detector, tagger

    tx = TransmitterModel(rep_rate_hz=rate_hz, power_dbm=-4.0, attenuation_db=73.0)
    return OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": FiberModel(length_km=10.0)},
        links=[SplitterLink("alice", "fiber", {"a": "a"}, fractions={"a": 1.0})],
        detectors={"a": detector(dead_time_ps=5_000, jitter_ps=DETECTOR_JITTER_PS)},
        taggers=tagger({1: "a"}),
        seed=seed,
    )


def _jitter_rms_ps(world, stamps) -> float:
    """RMS distance (ps) of tags from their pulse's exact arrival time (integer arithmetic)."""
    link = world.links[0]
    clock = SlotClock.of_rate(world.laser.rep_rate_hz)
    origin = world.tagger_origin_ps("tagger")
    offsets = []
    for stamp in stamps.tolist():
        since = stamp + origin - link.delay_ps(world)  # world time of the pulse leaving, jittered
        slot = (2 * since * clock.denominator + clock.numerator) // (2 * clock.numerator)
        offsets.append(since - clock.time_ps(slot))
    offsets = np.array(offsets, float)
    assert abs(offsets.mean()) < 5 * offsets.std() / math.sqrt(offsets.size) + 0.5  # centred on the pulse
    return float(np.sqrt(np.mean(offsets**2)))


@pytest.mark.parametrize("rate_hz", [80e6, 76.3e6])
def test_click_jitter_after_30_simulated_days_is_as_at_day_0(rate_hz):
    """σ = √(σ_det² + σ_tagger²) (quantile table cut at 4.3σ, tags in whole ps: + 1/12 ps²),
    within 5 standard errors of a sample rms (√(1/2n) relative), at day 0 and at day 30."""
    sigma = math.sqrt((DETECTOR_JITTER_PS**2 + TAGGER_JITTER_PS**2) * TABLE_VARIANCE + 1 / 12)
    world = _world(rate_hz)
    for day in (0, 30):
        if day:
            world.advance(day * PS_PER_DAY)
        stamps, _ = world.acquire(400_000_000)  # 0.4 ms: ~20 000 clicks
        assert stamps.size > 10_000
        assert stamps[0] >= day * PS_PER_DAY + CLOCK_START_PS - 200  # tagger time (origin 0) has run 30 days
        rms = _jitter_rms_ps(world, stamps)
        assert abs(rms / sigma - 1) < 5 / math.sqrt(2 * stamps.size), (day, rms, sigma)


def test_a_simulated_year_with_the_taggers_clock_restarted():
    world = _world(80e6)
    world.advance(365 * PS_PER_DAY)
    world.restart_tagger_clock("tagger")
    stamps, _ = world.acquire(200_000_000)
    assert CLOCK_START_PS - 200 <= stamps[0] and stamps[-1] < CLOCK_START_PS + 200_000_000 + 10**6
    sigma = math.sqrt((DETECTOR_JITTER_PS**2 + TAGGER_JITTER_PS**2) * TABLE_VARIANCE + 1 / 12)
    assert abs(_jitter_rms_ps(world, stamps) / sigma - 1) < 5 / math.sqrt(2 * stamps.size)


def test_beyond_the_taggers_int64_range_acquisition_raises_clearly():
    world = _world(80e6)
    world.advance(TAGGER_CLOCK_LIMIT_PS - world.now_ps - 10**6)
    with pytest.raises(ClockRangeError, match=r"tagger 'tagger'.*days since its origin.*restart"):
        world.acquire(10**9)
    stamps, _ = world.acquire(10**5)  # still inside: tags, none wrapped around
    assert stamps.size == 0 or stamps.min() > TAGGER_CLOCK_LIMIT_PS - 2 * 10**6
    with pytest.raises(ClockRangeError, match="world clock"):
        world.advance(10**23)


def test_the_emulated_sdk_measurement_stops_with_the_error_logged(caplog):
    from qnetlab.sim_backends.emulators.timetagger_sdk import emulated_timetagger_sdk

    world = _world(80e6)
    world.advance(60 * PS_PER_DAY)
    sdk = emulated_timetagger_sdk(world)
    tt = sdk.createTimeTagger()
    stream = sdk.TimeTagStream(tt, 1000, [1])
    with caplog.at_level("ERROR"):
        stream.startFor(10**9)
        assert stream.waitUntilFinished(10_000)
    assert stream.getCaptureDuration() == 0
    assert any("beyond the int64 ps range" in record.getMessage() for record in caplog.records)


def test_an_afterpulse_due_after_the_slice_end_comes_in_the_next_slice():
    from qnetlab.sim_backends.world.kernels.detect_and_tag import detect_and_tag

    never = -(2**62)
    wiring = dict(
        ch_ptr=np.array([0, 1]),
        ch_number=np.array([1], np.int32),
        ch_delay=np.full(1, 100, np.int64),
        ch_dead=np.zeros(1, np.int64),
    )
    ch_last = np.full(1, never, np.int64)
    last, pending = np.array([never], np.int64), np.full(1, -1, np.int64)
    dead, ap_p, ap_tau = np.array([1_000], np.int64), np.array([1.0]), np.array([500.0])
    state = np.array([3], np.uint64)
    none_t, none_c = np.empty(0, np.int64), np.empty(0, np.int32)

    def one_slice(times, stop_ps):
        return detect_and_tag(
            times, np.zeros(times.size, np.int32), dead, last, ap_p, ap_tau, stop_ps,
            wiring["ch_ptr"], wiring["ch_number"], wiring["ch_delay"], wiring["ch_dead"], ch_last,
            none_t, none_c, state, 0, pending=pending,
        )  # fmt: skip

    first, _ = one_slice(np.array([9_900], np.int64), 10_000)  # its afterpulse is due after 10 900 ps
    assert first.tolist() == [10_000]
    due = int(pending[0])
    assert due >= 10_900
    second, _ = one_slice(np.empty(0, np.int64), due + 1)  # the next slice: the afterpulse, then its own
    assert second[0] == due + 100
    assert pending[0] == -1 or pending[0] > due + 1


def test_an_afterpulse_chain_runs_on_across_400_slices():
    """A dark SPAD that afterpulses after every click (p = 1): after its first click it
    clicks as a renewal process of interval dead + Exp(rate 1/τ + r_dark) (the next click is
    the afterpulse or a dark count, whichever comes first once it is live), so T = 2 ms
    gives N = T / (dead + 1/(1/τ + r_dark)) clicks, CV of an interval = its Exp part over
    the mean; within 5σ + 20 (the first click's wait, 1/r_dark = 10 µs). Slices of 5 µs:
    dropping the afterpulses due after a slice end would break the chain at every slice."""
    from qnetlab.sim_backends.world.detectors import SpadModel

    dead_s, tau_s, dark_hz, span_s = 1e-6, 1e-6, 1e5, 2e-3
    world = _world(80e6, seed=6)
    world.transmitters["alice"].output_on = False
    world.detectors["a"] = SpadModel(
        efficiency=0.1, dark_count_hz=dark_hz, dead_time_ps=int(dead_s * 1e12), afterpulse_probability=1.0,
        afterpulse_tau_ps=tau_s * 1e12, jitter_ps=50.0,
    )  # fmt: skip
    world.taggers["tagger"].channels[1].dead_time_ps = 2_000
    n_slices = 400
    clicks = sum(
        world.acquire(int(span_s * 1e12) // n_slices, flush=i == n_slices - 1)[0].size for i in range(n_slices)
    )
    waiting_s = 1 / (1 / tau_s + dark_hz)
    interval_s = dead_s + waiting_s
    expected = span_s / interval_s
    sigma = math.sqrt(expected) * waiting_s / interval_s
    assert abs(clicks - expected) < 5 * sigma + 20, (clicks, expected, sigma)

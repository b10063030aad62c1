"""Delay calibration, fringe fit and detector health: closed forms and closed loops on the sim."""

from __future__ import annotations

import numpy as np
import pytest
from sim_bench import PERIOD_PS, pair_world, time_bin_world

from qnetlab.analysis.calibration.delays import channel_delays_ps, peak_position_ps
from qnetlab.analysis.calibration.detector_health import (
    choose_bias,
    dark_rate_hz,
    detect_latch,
    pair_source_check,
    pair_visibility,
)
from qnetlab.analysis.calibration.fringe import fit_fringe, phase_hold_step
from qnetlab.analysis.calibration.reference_counts import counts_by_sent_state

BIN_PS = 10


def test_injected_delays_are_recovered_within_one_bin():
    injected = {1: 0, 2: 1_234, 3: -2_718, 4: 3_141}  # ps, on the tagger inputs
    world = pair_world(delays_ps=injected)
    t, c = world.acquire(50_000_000_000)  # 50 ms of pairs
    # analyzers at H/H: A_T pairs with B_T (1-3), A_R with B_R (2-4)
    pairs = {3: 1, 4: 2}
    for channel, reference in pairs.items():
        ((new_delay, peak),) = channel_delays_ps(t, c, reference, [channel], bin_width_ps=BIN_PS).values()
        # the delay (relative to the reference's) that cancels the injected offset
        assert abs(new_delay - (injected[reference] - injected[channel])) <= BIN_PS, (channel, new_delay, peak)
        assert peak.centre_err_ps < BIN_PS / 3
        # applied, the peak sits at zero
        delays = {reference: 0, channel: new_delay}
        ((_, again),) = channel_delays_ps(t, c, reference, [channel], bin_width_ps=BIN_PS, delays_ps=delays).values()
        assert abs(again.centre_ps) < BIN_PS


def test_peak_fit_is_sub_bin_on_a_synthetic_gaussian():
    rng = np.random.default_rng(1)
    edges = np.arange(-2000, 2001, 40.0)
    for true in rng.uniform(-300, 300, 10):
        hist = np.histogram(rng.normal(true, 60.0, 5000), edges)[0] + rng.poisson(3, edges.size - 1)
        peak = peak_position_ps(hist, edges)
        assert abs(peak.centre_ps - true) < 4 * peak.centre_err_ps + 1e-9
        assert abs(peak.centre_ps - true) < 40 / 4  # a quarter of a bin
        assert abs(peak.sigma_ps - 60.0) < 6.0


def test_fringe_fit_matches_truth_and_its_error_matches_the_scatter():
    rng = np.random.default_rng(2)
    voltage = np.linspace(0, 120, 41)
    fits = [
        fit_fringe(voltage, rng.poisson(500 * (1 + 0.9 * np.cos(2 * np.pi * voltage / 60 + 1.0)))) for _ in range(200)
    ]
    vis = np.array([f.visibility for f in fits])
    assert abs(vis.mean() - 0.9) < 3 * vis.std() / np.sqrt(vis.size)
    assert 0.8 < np.mean([f.visibility_err for f in fits]) / vis.std() < 1.25  # reported σ is the real scatter
    assert abs(np.mean([f.v_2pi_v for f in fits]) - 60.0) < 0.1
    assert abs(np.mean([f.phase_rad for f in fits]) - 1.0) < 0.01
    assert 0.8 < np.mean([f.chi2_reduced for f in fits]) < 1.2


def test_time_bin_phase_lock_closed_loop():
    world = time_bin_world(phase_offset_rad=2.0)
    piezo = world.actuators["piezo"]
    voltage = np.linspace(0, 120, 25)

    def middle_bin(duration_ps):  # X0, X1 clicks in the interfering (middle) time bin, ±500 ps
        t, c = world.acquire(duration_ps)
        return counts_by_sent_state(t, c, [2, 3], np.array([0]), PERIOD_PS, 2_000, 1, gate_ps=500)[0]

    x0 = []
    for v in voltage:
        piezo.voltage_v = float(v)
        x0.append(middle_bin(2_000_000_000)[0])
    fit = fit_fringe(voltage, np.array(x0), v_2pi_v=60.0)
    assert abs(fit.visibility - 0.95) < 4 * fit.visibility_err + 0.01
    lock = fit.maximum_voltage_v((0.0, 150.0))
    piezo.voltage_v = lock
    assert np.cos(piezo.phase_rad() + 2.0) > 0.999  # the phase of maximum X0 counts
    # hold: the interferometers' phase drifts by 0.3 rad; one dithered step brings it back
    world.links[0].interferometer_phase_rad += 0.3

    def contrast(v):
        piezo.voltage_v = v
        n0, n1 = middle_bin(5_000_000_000)
        return (n0 - n1) / (n0 + n1)

    new_v, phi = phase_hold_step(lock, contrast(lock - 3.0), contrast(lock + 3.0), 3.0, 60.0)
    assert abs(phi - 0.3) < 0.08
    piezo.voltage_v = new_v
    assert np.cos(piezo.phase_rad() + 2.0 + 0.3) > 0.995


def test_bias_choice_follows_the_stated_rule():
    bias = np.linspace(5, 11.8, 35)
    plateau, mid, width = 0.85, 8.0, 0.6
    eff = plateau / (1 + np.exp(-(bias - mid) / width))
    dark = 20 + 1e5 * np.exp((bias - 12.0) / 0.35)
    choice = choose_bias(bias, eff, dark, plateau_fraction=0.95, dark_budget_hz=1000)
    # closed form: η = 0.95·plateau at I = mid + w·ln(19) = 9.77 µA; the next swept bias
    first = bias[np.argmax(eff >= 0.95 * plateau)]
    assert choice.bias_ua == pytest.approx(first) and choice.bias_ua >= 8.0 + 0.6 * np.log(19) - 1e-9
    assert abs(choice.plateau_efficiency - plateau) < 1e-3
    tight = choose_bias(bias, eff, dark, dark_budget_hz=10)
    assert tight.bias_ua is None and "dark counts exceed" in tight.reason
    rising = choose_bias(bias[:12], eff[:12], dark[:12])
    assert rising.bias_ua is None and "plateau" in rising.reason


def test_dark_counts_latch_and_pair_visibility_closed_forms():
    rate, low, high = dark_rate_hz(100, 2.0)
    assert rate == 50.0 and low == pytest.approx(40.68, abs=0.05) and high == pytest.approx(60.81, abs=0.05)
    assert dark_rate_hz(0, 1.0)[2] == pytest.approx(3.689, abs=1e-3)  # −ln(0.025)
    trace = np.r_[np.full(10, 1e5), np.full(2, 0.0), np.full(5, 1e5), np.full(6, 30.0)]
    assert detect_latch(trace, expected_hz=1e5) == 17  # a 2-bin dip is not a latch
    assert detect_latch(np.full(10, 1e5), expected_hz=1e5) is None
    v, err = pair_visibility(950, 50)
    assert v == pytest.approx(0.9) and err == pytest.approx(2 * np.sqrt(950 * 50 / 1000**3))
    check = pair_source_check({"HV": (980, 20), "DA": (900, 100)}, threshold=0.9)
    assert check["bases"]["HV"]["passed"] and not check["bases"]["DA"]["passed"] and not check["passed"]


def test_pair_source_visibility_on_the_sim():
    world = pair_world(visibility=0.92)
    t, c = world.acquire(100_000_000_000)
    from qnetlab.analysis.timetags import count_coincidences

    same = count_coincidences(t, c, (1, 3), 500) + count_coincidences(t, c, (2, 4), 500)
    cross = count_coincidences(t, c, (1, 4), 500) + count_coincidences(t, c, (2, 3), 500)
    v, err = pair_visibility(same, cross)
    assert abs(v - 0.92) < 4 * err + 0.01  # HV basis of a Werner state: V

"""The simulated bench against closed-form optics, within stated statistical bounds.

Counts are Poisson to a good approximation here (dead times are far below the mean click
spacing), so each check allows 5σ with σ = √N unless it says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import curve_fit, minimize

from qnetlab.sim_backends.world.transmitter import decode_slots

SECOND_PS = 10**12


def counts(world, seconds, n_channels=4):
    _, channels = world.acquire(int(seconds * SECOND_PS))
    return np.bincount(channels, minlength=n_channels + 1)[1:]


def test_malus_law_through_a_rotated_half_wave_plate(bench):
    # Alice's H pulses; a HWP at φ in front of Bob's Z analyzer rotates the analyzer by θ = 2φ.
    plate = bench.Waveplate(0.5, 0.0)
    world = bench.polarization_world(controller=plate, mu_dbm=-20.0)  # μ·η ≈ 4e-3: linear regime
    thetas = np.deg2rad(np.arange(0, 181, 15))
    measured = []
    for theta in thetas:
        plate.angle_deg = np.rad2deg(theta) / 2
        measured.append(counts(world, 0.05)[0])  # detector H
    measured = np.array(measured, float)
    model = lambda t, amplitude, theta0: amplitude * np.cos(t - theta0) ** 2  # noqa: E731
    (amplitude, theta0), _ = curve_fit(model, thetas, measured, p0=[measured.max(), 0.1])
    assert abs(np.rad2deg(theta0)) < 1.0
    sigma = np.sqrt(np.maximum(measured, 1.0))
    chi2 = np.sum(((measured - model(thetas, amplitude, theta0)) / sigma) ** 2)
    assert chi2 / (len(thetas) - 2) < 3.0


def sifted_qber(world, seconds=0.05):
    """QBER per basis from Alice's pattern and Bob's clicks (slot = round((t − fiber delay)/T))."""
    link = world.links[0]
    source = world.transmitters["alice"]
    stamps, channels = world.acquire(int(seconds * SECOND_PS))
    slots = np.rint((stamps - link.delay_ps(world)) / source.period_ps).astype(np.int64)
    basis_a, bit_a, _ = decode_slots(source.pattern[slots % source.pattern.size])
    basis_b = np.where(channels <= 2, 0, 1)  # inputs 1,2 = H,V (Z); 3,4 = D,A (X)
    bit_b = np.where(channels % 2 == 1, 0, 1)  # H, D -> 0; V, A -> 1
    qber = {}
    for basis in (0, 1):
        sifted = (basis_a == basis) & (basis_b == basis)
        errors = np.count_nonzero(bit_a[sifted] != bit_b[sifted])
        qber["ZX"[basis]] = (errors / sifted.sum(), sifted.sum())
    return qber


def paddles_undoing(rotation, controller):
    """Paddle angles (deg) that make controller ∘ fiber the identity up to a phase."""

    def infidelity(angles):
        for paddle, angle in zip(controller.paddles, angles, strict=False):
            paddle.angle_deg = angle
        total = controller.jones() @ rotation
        return 1 - abs(np.trace(total)) / 2

    best = min(
        (
            minimize(infidelity, x0, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-12})
            for x0 in ([30, 60, 90], [120, 30, 45], [10, 100, 150])
        ),
        key=lambda r: r.fun,
    )
    infidelity(best.x)
    return best.fun


def test_qber_falls_to_misalignment_floor_when_controller_undoes_the_fiber(bench):
    rng = np.random.default_rng(11)
    from qnetlab.sim_backends.world.polarization import random_su2

    rotation = random_su2(rng)
    controller = bench.PaddleController()
    floor = 0.02
    world = bench.polarization_world(
        controller=controller, misalignment=floor, rotation=rotation, pattern=bench.random_bb84_pattern(rng)
    )
    uncompensated = sifted_qber(world)
    assert max(q for q, _ in uncompensated.values()) > floor + 0.10  # a random rotation scrambles a basis
    assert paddles_undoing(rotation, controller) < 1e-6
    # Exact floor from the click probabilities: the right detector sees x·(1 − e), the wrong
    # one x·e, with x = η·μ·T_fiber/2 (Bob's basis splitter); q = p_wrong/(p_wrong + p_right),
    # a little above e because the right detector saturates (1 − exp(−x)).
    x = 0.8 * world.transmitters["alice"].mean_photon_number() * 10 ** (-0.2 * 10.0 / 10) / 2
    p_wrong, p_right = -math.expm1(-x * floor), -math.expm1(-x * (1 - floor))
    expected = p_wrong / (p_wrong + p_right)
    assert floor < expected < 1.2 * floor
    compensated = sifted_qber(world)
    for basis, (qber, n) in compensated.items():
        sigma = math.sqrt(expected * (1 - expected) / n)
        assert abs(qber - expected) < 5 * sigma, (basis, qber, expected, n)


def test_fiber_drift_raises_qber_over_simulated_hours(bench):
    rng = np.random.default_rng(5)
    controller = bench.PaddleController()
    world = bench.polarization_world(controller=controller, misalignment=0.01, pattern=bench.random_bb84_pattern(rng))
    world.fibers["fiber"].polarization_drift_time_s = 600.0
    before = sifted_qber(world)
    world.advance(3 * 3600 * SECOND_PS)  # three simulated hours, in well under a real second
    after = sifted_qber(world)
    assert max(q for q, _ in before.values()) < 0.03
    assert max(q for q, _ in after.values()) > 0.05


def test_time_bin_x_counts_follow_interference_fringe(bench):
    visibility = 0.95
    x0_state = np.full(64, 0b010, np.uint8)  # basis X, bit 0, signal level
    world = bench.time_bin_world(visibility=visibility, pattern=x0_state)
    sep = world.transmitters["alice"].time_bin_separation_ps
    piezo = world.actuators["piezo"]
    for phase in np.linspace(0, 2 * np.pi, 9):
        piezo.voltage_v = phase / (2 * np.pi) * piezo.v_2pi_v
        stamps, channels = world.acquire(int(0.05 * SECOND_PS))
        position = np.rint((stamps % bench.PERIOD_PS) / sep).astype(int)  # 0 early, 1 middle, 2 late
        middle = position == 1
        n0 = np.count_nonzero(middle & (channels == 2))
        n1 = np.count_nonzero(middle & (channels == 3))
        # middle-bin mean photons per port: μ_X·(1 ± V cos φ)/4, μ_X = μ/2 (Bob's splitter);
        # the click probabilities 1 − exp(−η·μ) give the fringe (1 + V cos φ)/2 in the linear limit
        mu_x = world.transmitters["alice"].mean_photon_number() / 2
        p0, p1 = (-math.expm1(-0.8 * mu_x * (1 + s * visibility * math.cos(phase)) / 4) for s in (1, -1))
        expected = p0 / (p0 + p1)
        assert abs(expected - (1 + visibility * math.cos(phase)) / 2) < 0.01  # near-linear regime
        n = n0 + n1
        sigma = math.sqrt(max(expected * (1 - expected), 1e-4) / n)
        assert abs(n0 / n - expected) < 5 * sigma + 1e-3, (phase, n0 / n, expected)


def coincidences(stamps, channels, a, b, window_ps=500, offset_ps=0):
    """Pairs (a, b) with |t_b − t_a − offset| <= window (ps), by binary search."""
    ta = stamps[channels == a] + offset_ps
    tb = stamps[channels == b]
    return int(np.sum(np.searchsorted(tb, ta + window_ps, "right") - np.searchsorted(tb, ta - window_ps, "left")))


def test_pair_source_coincidences_accidentals_and_visibility(bench):
    rate, vis, (h_a, h_b), eff = 2e5, 0.9, (0.5, 0.4), 0.8
    world = bench.pair_world(pair_rate_hz=rate, visibility=vis, heralding=(h_a, h_b), efficiency=eff)
    seconds = 0.5
    stamps, channels = world.acquire(int(seconds * SECOND_PS))
    # all port combinations together: every detected pair is one coincidence
    true = sum(coincidences(stamps, channels, a, b) for a in (1, 2) for b in (3, 4))
    expected = rate * (h_a * eff) * (h_b * eff) * seconds
    assert abs(true - expected) < 5 * math.sqrt(expected) + 5 * math.sqrt(expected * 0.01)
    # accidentals: a window shifted far off the pair peak sees R_A·R_B·τ (τ = 2·window + 1 ps)
    singles_a = np.count_nonzero(channels <= 2) / seconds
    singles_b = np.count_nonzero(channels >= 3) / seconds
    window = 500
    shifted = sum(coincidences(stamps, channels, a, b, window, offset_ps=200_000) for a in (1, 2) for b in (3, 4))
    expected_acc = singles_a * singles_b * (2 * window + 1) * 1e-12 * seconds
    assert abs(shifted - expected_acc) < 5 * math.sqrt(expected_acc)
    # visibility in the H/V basis: same ports vs crossed ports
    same = coincidences(stamps, channels, 1, 3) + coincidences(stamps, channels, 2, 4)
    crossed = coincidences(stamps, channels, 1, 4) + coincidences(stamps, channels, 2, 3)
    measured = (same - crossed) / (same + crossed)
    assert abs(measured - vis) < 5 * math.sqrt((1 - vis**2) / (same + crossed)) + 0.005


def test_pair_visibility_in_diagonal_basis(bench):
    world = bench.pair_world(pair_rate_hz=2e5, visibility=0.9)
    for side in ("a", "b"):
        world.actuators[f"{side}_qwp"].angle_deg = 45.0  # a QWP at 0° on both sides would turn Φ+ into Φ−
        world.actuators[f"{side}_hwp"].angle_deg = 22.5  # both analyzers measure D/A
    stamps, channels = world.acquire(int(0.5 * SECOND_PS))
    same = coincidences(stamps, channels, 1, 3) + coincidences(stamps, channels, 2, 4)
    crossed = coincidences(stamps, channels, 1, 4) + coincidences(stamps, channels, 2, 3)
    assert abs((same - crossed) / (same + crossed) - 0.9) < 0.03


def test_snspd_efficiency_and_dark_counts_follow_bias(bench):
    from qnetlab.sim_backends import SnspdModel

    snspd = SnspdModel(
        efficiency=0.85, dead_time_ps=20_000, dark_floor_hz=50.0, dark_at_switching_hz=2e5, dark_slope_ua=0.4
    )
    world = bench.snspd_world(snspd)
    mu = world.mean_photons_at("s")
    for bias in (7.0, 8.0, 9.0, 10.5, 11.5):
        snspd.set_bias(bias)
        efficiency = 0.85 / (1 + math.exp(-(bias - snspd.bias_mid_ua) / snspd.bias_width_ua))
        dark = 50.0 + 2e5 * math.exp((bias - 12.0) / 0.4)
        raw = 80e6 * -math.expm1(-efficiency * mu) + dark
        blocked_slots = math.ceil(20_000 / 12_500) - 1  # pulsed dead time: mean interval K·T + T/p
        expected = raw / (1 + raw * blocked_slots * 12.5e-9) * 0.05
        measured = counts(world, 0.05, 1)[0]
        assert abs(measured - expected) < 5 * math.sqrt(expected), (bias, measured, expected)
    world.transmitters["alice"].output_on = False
    snspd.set_bias(11.5)
    dark = counts(world, 0.5, 1)[0]
    expected = (50.0 + 2e5 * math.exp((11.5 - 12.0) / 0.4)) * 0.5
    assert abs(dark - expected) < 5 * math.sqrt(expected)


def test_latched_snspd_reads_zero_until_reset(bench):
    from qnetlab.sim_backends import SnspdModel

    snspd = SnspdModel()
    world = bench.snspd_world(snspd)
    snspd.set_bias(10.0)
    assert counts(world, 0.01, 1)[0] > 1000
    snspd.set_bias(12.5)  # above the switching current: latches
    assert snspd.latched and counts(world, 0.05, 1)[0] == 0
    snspd.set_bias(10.0)  # still above retrapping: stays latched
    assert counts(world, 0.05, 1)[0] == 0
    snspd.set_bias(0.0)
    snspd.set_bias(10.0)  # reset
    assert counts(world, 0.01, 1)[0] > 1000


def test_excess_light_latches_snspd(bench):
    from qnetlab.sim_backends import SnspdModel

    snspd = SnspdModel(latch_rate_hz=5e6)
    world = bench.snspd_world(snspd, power_dbm=5.0)  # ~30x more light than the detector tolerates
    snspd.set_bias(10.0)
    counts(world, 0.01, 1)
    assert snspd.latched
    assert counts(world, 0.05, 1)[0] == 0


def test_tagger_overflow_loses_tags_and_counts_it(bench):
    world = bench.polarization_world(controller=bench.Waveplate(0.5, 22.5))
    world.tagger.max_rate_hz = 1e6
    world.tagger.buffer_tags = 1_000
    total = counts(world, 0.01).sum()
    # closed form: the link carries max_rate x T; at the end the buffer may hold up to buffer_tags more
    assert 1e6 * 0.01 - 1 <= total <= 1e6 * 0.01 + 1_000
    assert world.tagger.overflows >= 1
    types = {kind for _, kind, _, _ in world.tagger.take_markers()}
    assert {2, 4} <= types  # OverflowBegin and MissedEvents markers, never tags


def test_stream_is_time_ordered_across_slices(bench):
    world = bench.pair_world(pair_rate_hz=1e6, dark_hz=1e4)
    parts = [world.acquire(10**9, flush=(i == 49)) for i in range(50)]
    stamps = np.concatenate([p[0] for p in parts])
    assert np.all(np.diff(stamps) >= 0)

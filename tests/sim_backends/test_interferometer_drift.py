"""The time-bin phase drift is the interferometers' (on the time-bin link), not the fiber's."""

from __future__ import annotations

import math

import numpy as np

PS_PER_S = 10**12


def test_interferometer_phase_diffuses_as_sqrt_dt_over_tau_and_the_fiber_holds_none(bench):
    """Var φ(t) = t/τ for the random walk (closed form), within 5 standard errors of a sample
    variance (√(2/n) relative); the world's fiber carries no phase at all."""
    n, tau_s, dt_s = 4000, 600.0, 60.0
    world = bench.time_bin_world()
    link = world.links[0]
    link.interferometer_drift_time_s = tau_s
    steps = []
    for _ in range(n):  # increments over dt are independent N(0, dt/τ)
        before = link.interferometer_phase_rad
        world.advance(int(dt_s * PS_PER_S))
        steps.append(link.interferometer_phase_rad - before)
    steps = np.array(steps)
    assert abs(steps.mean()) < 5 * math.sqrt(dt_s / tau_s / n)
    assert abs(steps.var() / (dt_s / tau_s) - 1) < 5 * math.sqrt(2 / n)
    assert not hasattr(world.fibers["fiber"], "phase_rad")


def test_the_drift_moves_the_x_basis_fringe(bench):
    """X0's share of the interfering middle bin follows (1 + V·cos φ)/2 as the drift moves φ."""
    world = bench.time_bin_world(visibility=0.95)
    link = world.links[0]
    link.interferometer_phase_rad = math.pi / 3
    modes = link.modes(world)
    code_x0 = 2  # basis X (bit 1 of the code), bit 0
    middle = {name: mu[code_x0] for name, offset, mu in modes if offset == 2_000 and name in ("x0", "x1")}
    share = middle["x0"] / (middle["x0"] + middle["x1"])
    assert abs(share - (1 + 0.95 * math.cos(math.pi / 3)) / 2) < 1e-12


def test_the_sim_lab_config_puts_the_drift_on_the_time_bin_link():
    import pathlib

    from qnetlab.instruments.config import load_config
    from qnetlab.instruments.lab import build_world
    from qnetlab.sim_backends.world.links import TimeBinBB84Link

    config = load_config(pathlib.Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml")
    taggers = {name: e for name, e in config.instruments.items() if e.kind == "swabian_timetagger"}
    world = build_world(config.world, taggers)
    (link,) = [link for link in world.links if isinstance(link, TimeBinBB84Link)]
    assert link.interferometer_drift_time_s == 600.0

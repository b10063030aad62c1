"""Small worlds for the physics tests, built in code so each test states its own parameters."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qnetlab.sim_backends import (
    DetectorModel,
    FiberModel,
    OpticalWorld,
    SnspdModel,
    TaggerChannelModel,
    TaggerModel,
    TransmitterModel,
)
from qnetlab.sim_backends.world.actuators import PaddleController, PhaseShifter, Waveplate
from qnetlab.sim_backends.world.links import EntangledPairLink, PolarizationBB84Link, SplitterLink, TimeBinBB84Link
from qnetlab.sim_backends.world.transmitter import encode_slots

PERIOD_PS = 12_500  # 80 MHz


def detector(**kw) -> DetectorModel:
    base = dict(efficiency=0.8, dark_count_hz=0.0, dead_time_ps=20_000, jitter_ps=20.0)
    return DetectorModel(**{**base, **kw})


def tagger(wiring: dict[int, str], **kw) -> dict[str, TaggerModel]:
    channels = {number: TaggerChannelModel(name, dead_time_ps=1_000) for number, name in wiring.items()}
    return {"tagger": TaggerModel(channels, jitter_ps=5.0, **kw)}


def polarization_world(*, controller, misalignment=0.0, rotation=None, mu_dbm=-10.0, pattern=None, seed=1):
    """Alice -> 10 km fiber (rotation) -> controller (anything with .jones()) -> BB84 receiver."""
    tx = TransmitterModel(rep_rate_hz=80e6, power_dbm=mu_dbm, attenuation_db=73.0, encoding="polarization")
    if pattern is not None:
        tx.pattern, tx.pattern_on = pattern, True
    fiber = FiberModel(
        length_km=10.0, loss_db_per_km=0.2, rotation=np.eye(2, dtype=complex) if rotation is None else rotation
    )
    roles = {"H": "h", "V": "v", "D": "d", "A": "a"}
    link = PolarizationBB84Link("alice", "fiber", roles, controller="pc", misalignment=misalignment)
    return OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": fiber},
        links=[link],
        detectors={name: detector() for name in roles.values()},
        taggers=tagger({1: "h", 2: "v", 3: "d", 4: "a"}),
        actuators={"pc": controller},
        seed=seed,
    )


def random_bb84_pattern(rng, size=4096, levels=False) -> np.ndarray:
    basis = rng.integers(0, 2, size)
    bit = rng.integers(0, 2, size)
    level = rng.choice(3, size, p=[0.7, 0.2, 0.1]) if levels else np.zeros(size, int)
    return encode_slots(basis, bit, level)


def time_bin_world(*, visibility=0.95, pattern=None, seed=2):
    tx = TransmitterModel(
        rep_rate_hz=80e6, power_dbm=-10.0, attenuation_db=73.0, encoding="time_bin", time_bin_separation_ps=2_000
    )
    if pattern is not None:
        tx.pattern, tx.pattern_on = pattern, True
    link = TimeBinBB84Link(
        "alice", "fiber", {"Z": "z", "X0": "x0", "X1": "x1"}, phase_shifter="piezo", visibility=visibility
    )
    return OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": FiberModel(length_km=0.0)},
        links=[link],
        detectors={name: detector(dead_time_ps=10_000, jitter_ps=15.0) for name in ("z", "x0", "x1")},
        taggers=tagger({1: "z", 2: "x0", 3: "x1"}),
        actuators={"piezo": PhaseShifter(0.0, 60.0)},
        seed=seed,
    )


def pair_world(*, pair_rate_hz=2e5, visibility=0.9, heralding=(0.5, 0.4), efficiency=0.8, dark_hz=0.0, seed=3):
    plates = {n: Waveplate(0.5 if n.endswith("hwp") else 0.25, 0.0) for n in ("a_qwp", "a_hwp", "b_qwp", "b_hwp")}
    link = EntangledPairLink(
        pair_rate_hz=pair_rate_hz,
        visibility=visibility,
        heralding_a=heralding[0],
        heralding_b=heralding[1],
        analyzers={"A": {"qwp": "a_qwp", "hwp": "a_hwp"}, "B": {"qwp": "b_qwp", "hwp": "b_hwp"}},
        detectors={"A_T": "at", "A_R": "ar", "B_T": "bt", "B_R": "br"},
    )
    dets = {
        n: detector(efficiency=efficiency, dark_count_hz=dark_hz, dead_time_ps=1_000, jitter_ps=10.0)
        for n in ("at", "ar", "bt", "br")
    }
    return OpticalWorld(
        transmitters={},
        fibers={},
        links=[link],
        detectors=dets,
        taggers=tagger({1: "at", 2: "ar", 3: "bt", 4: "br"}),
        actuators=plates,
        seed=seed,
    )


def snspd_world(snspd: SnspdModel, *, power_dbm=-10.0):
    tx = TransmitterModel(rep_rate_hz=80e6, power_dbm=power_dbm, attenuation_db=73.0)
    link = SplitterLink("alice", "fiber", {"s": "s"}, fractions={"s": 1.0})
    return OpticalWorld(
        transmitters={"alice": tx},
        fibers={"fiber": FiberModel(length_km=50.0)},
        links=[link],
        detectors={"s": snspd},
        taggers=tagger({1: "s"}),
        seed=4,
    )


__all__ = [
    "PERIOD_PS",
    "PaddleController",
    "Waveplate",
    "pair_world",
    "polarization_world",
    "random_bb84_pattern",
    "snspd_world",
    "time_bin_world",
]


@pytest.fixture
def bench():
    """This module: the world builders above, for the physics tests."""
    return sys.modules[__name__]

"""Decoy BB84 on the sim lab: keys to the link's key store only, an eavesdropper stops the key."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from qnetlab import session
from qnetlab.analysis.qkd.keystore import link_store
from qnetlab.kms.pool import deposit_link_key
from qnetlab.plans.qkd import bb84

SIM_LAB = Path(__file__).resolve().parents[3] / "config" / "sim_lab.yaml"
NODES = ["alice", "bob"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    s = session.start(SIM_LAB, data_dir=tmp_path_factory.mktemp("data"), live_table=False, progress=False)
    world = s.lab.world
    world.time_scale = 0.05  # few simulated tags between pattern uploads (the upload is the slow part)
    fiber = world.fibers["pol_fiber"]
    fiber.rotation = np.eye(2, dtype=complex)  # aligned, not drifting: tracking is another test's business
    fiber.polarization_drift_time_s = math.inf
    yield s
    s.close()


def _sink(tmp_path: Path, received: list):
    roots = {node: tmp_path / "keys" / node for node in NODES}
    for root in roots.values():
        root.mkdir(parents=True, mode=0o700)
    deposit = functools.partial(deposit_link_key, roots, NODES, "alice-bob")

    def sink(bits: np.ndarray, key_id: str) -> None:
        received.append(bits.copy())
        deposit(bits, key_id)

    return sink, roots


def _mu(s) -> tuple[float, float, float]:
    mu1 = s.lab.world.transmitters["alice"].mean_photon_number()
    return (mu1, 0.2 * mu1, 0.0)


def test_polarization_bb84_gives_keys_only_to_the_key_store(lab, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    received: list[np.ndarray] = []
    sink, roots = _sink(tmp_path, received)
    (uid,) = lab.RE(
        bb84(
            lab.lab.tagger,
            lab.lab.laser,
            encoding="polarization",
            duration_s=1.0,
            intensities=_mu(lab),
            probabilities=(0.5, 0.3, 0.2),
            key_basis_probability=0.5,
            block_size=100_000,
            key_sink=sink,
            seed=11,
        )
    )
    blocks = lab.table(uid, "blocks")
    accepted = blocks[blocks["accepted"]]
    assert len(accepted) >= 1, blocks[["reason", "sifted_key_bits"]].to_string()
    assert (accepted["key_bits"] > 0).all()
    assert (blocks["qber_x"] < 0.05).all() and (blocks["qber_z"] < 0.05).all()
    assert (accepted["s_x1"] > 0).all() and (accepted["leaked_ec_bits"] > 0).all()
    # every key reached both ends of the link, and the catalog has its hash only
    assert [b.size for b in received] == accepted["key_bits"].tolist()
    for root in roots.values():
        store = link_store(root, "alice-bob")
        assert sum(store.length(k) for k in store.ids()) == sum(b.size for b in received)
    hashes = {hashlib.sha256(np.packbits(b).tobytes()).hexdigest() for b in received}
    assert set(accepted["key_sha256"]) <= hashes | {hashlib.sha256(b.tobytes()).hexdigest() for b in received}
    # no key bits in the catalog's tables and files, nor in the logs
    forms = set()
    for bits in received:
        forms |= {
            np.packbits(bits).tobytes()[:32],
            "".join(map(str, bits[:128])).encode(),
            np.packbits(bits).tobytes()[:32].hex().encode(),
        }
    stored = b"".join(p.read_bytes() for p in lab.data_dir.rglob("*.db*") if p.is_file())
    logs = caplog.text.encode()
    for form in forms:
        assert form not in stored and form not in logs
    frames = lab.table(uid, "frames")
    assert frames["frame_calibration"].iloc[0] and not frames["frame_calibration"].iloc[1:].any()
    assert frames["frame_pattern_sha256"].str.len().eq(64).all()


def test_intercept_resend_eavesdropper_raises_qber_to_a_quarter_and_stops_the_key(lab, tmp_path):
    received: list[np.ndarray] = []
    sink, _ = _sink(tmp_path, received)
    link = next(link for link in lab.lab.world.links if getattr(link, "encoding", "") == "polarization")
    link.eavesdropper = True
    try:
        (uid,) = lab.RE(
            bb84(
                lab.lab.tagger,
                lab.lab.laser,
                encoding="polarization",
                duration_s=0.4,
                intensities=_mu(lab),
                block_size=10_000,
                key_sink=sink,
                seed=12,
            )
        )
    finally:
        link.eavesdropper = False
    blocks = lab.table(uid, "blocks")
    assert len(blocks) >= 1 and not blocks["accepted"].any() and received == []
    # 1/4 from Eve on top of the link's ~2 %: 1/4 (1 - 2e) + e
    assert np.allclose(blocks["qber_z"], 0.26, atol=0.03), blocks["qber_z"].tolist()
    assert blocks["reason"].str.contains("QBER").all()


def test_time_bin_bb84_sifts_with_low_qber_in_both_bases(lab, tmp_path):
    received: list[np.ndarray] = []
    sink, _ = _sink(tmp_path, received)
    fiber = lab.lab.world.fibers["tb_fiber"]
    fiber.phase_drift_time_s, fiber.phase_rad = math.inf, 0.0  # interferometer at its fringe maximum
    (uid,) = lab.RE(
        bb84(
            lab.lab.tagger,
            lab.lab.laser,
            encoding="time-bin",
            duration_s=0.3,
            intensities=_mu(lab),
            block_size=10_000,
            key_sink=sink,
            seed=13,
        )
    )
    blocks = lab.table(uid, "blocks")
    assert len(blocks) >= 1
    # Z: early/late arrival (jitter << separation); X: interference of visibility 0.98 -> (1 - V) / 2 = 1 %
    assert (blocks["qber_z"] < 0.015).all() and (blocks["qber_x"] < 0.03).all(), blocks[["qber_z", "qber_x"]]
    assert (blocks["sifted_key_bits"] >= 10_000).all()

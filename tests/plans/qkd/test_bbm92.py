"""BBM92 on the sim lab's pair source: rates and QBER against the closed form, key rate against
Ma-Fung-Lo and Tomamichel et al. at the measured figures, keys only in the key store."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from qnetlab import session
from qnetlab.analysis.qkd.bbm92 import mfl_rate
from qnetlab.analysis.qkd.keystore import link_store
from qnetlab.analysis.qkd.pair_source import cw_pair_rates
from qnetlab.kms.pool import deposit_link_key
from qnetlab.plans import PlanArgumentError
from qnetlab.plans.entanglement import pair_analyzers
from qnetlab.plans.qkd import bbm92

SIM_LAB = Path(__file__).resolve().parents[3] / "config" / "sim_lab.yaml"
NODES = ["alice", "bob"]
WINDOW_PS = 1000


def _h(x):
    return -x * math.log2(x) - (1 - x) * math.log2(1 - x)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    s = session.start(SIM_LAB, data_dir=tmp_path_factory.mktemp("data"), live_table=False, progress=False, seed=21)
    yield s
    s.close()


@pytest.fixture(scope="module")
def run(lab, tmp_path_factory):
    """One 6 s run in 1 s segments, keys deposited at both ends of the link, the plan's log captured."""
    roots = {node: tmp_path_factory.mktemp("keys") / node for node in NODES}
    for root in roots.values():
        root.mkdir(mode=0o700)
    received: list[tuple[str, np.ndarray]] = []
    deposit = functools.partial(deposit_link_key, roots, NODES, "alice-bob")

    def sink(bits: np.ndarray, key_id: str) -> None:
        received.append((key_id, bits.copy()))
        deposit(bits, key_id)

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    old_level = root_logger.level
    root_logger.setLevel(logging.DEBUG)
    try:
        a, b = pair_analyzers(lab.lab)
        plan = bbm92(lab.lab.tagger, a, b, duration_s=6.0, segment_s=1.0, block_size=3000, key_sink=sink, seed=3)
        (uid,) = lab.RE(plan)
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(old_level)
    return {"uid": uid, "received": received, "roots": roots, "log": log.getvalue()}


def _closed_form(lab, matched=True):
    world = lab.lab.world
    (link,) = [link for link in world.links if type(link).__name__ == "EntangledPairLink"]
    det = [world.detectors[link.detectors[r]] for r in ("A_T", "A_R", "B_T", "B_R")]
    p_ap, ap_delay_ps = det[0].afterpulsing()
    jitter = math.sqrt(2 * (det[0].jitter_ps ** 2 + world.taggers["tagger"].jitter_ps ** 2))
    return cw_pair_rates(
        link.pair_rate_hz,
        link.heralding_a * det[0].detection_efficiency(),
        link.heralding_b * det[2].detection_efficiency(),
        link.visibility,
        WINDOW_PS,
        dark_hz=tuple(d.dark_rate_hz() for d in det),  # pyright: ignore[reportArgumentType]
        dead_time_s=det[0].dead_time_ps * 1e-12,
        afterpulse_probability=p_ap,
        afterpulse_delay_s=ap_delay_ps * 1e-12,
        jitter_ps=jitter,
        matched=matched,
    )


@pytest.mark.slow  # one 6 s run on the sim lab: 20-50 s of wall time
def test_rates_and_qber_match_the_pair_sources_closed_form(lab, run):
    segments = lab.table(run["uid"], "segments")
    assert len(segments) == 6 and set(segments["basis_a"]) | set(segments["basis_b"]) <= {"Z", "X"}
    assert (segments["sifted"] == (segments["basis_a"] == segments["basis_b"])).all()
    for matched in (True, False):
        chosen = segments[segments["sifted"] == matched]
        if chosen.empty:
            continue
        expected, seconds = _closed_form(lab, matched), chosen["duration_s"].sum()
        n = chosen["coincidences"].sum()
        # Poisson 4 sigma plus 0.5 % for the first-order dead-time terms of the closed form
        assert abs(n - expected.coincidence_hz * seconds) < 4 * math.sqrt(n) + 0.005 * n
        for port, rate in zip(("a_t", "a_r", "b_t", "b_r"), expected.singles_hz, strict=True):
            singles = chosen[f"singles_{port}"].sum()
            assert abs(singles - rate * seconds) < 4 * math.sqrt(singles) + 0.005 * singles
        accidentals = chosen["accidentals"].sum()
        assert abs(accidentals - expected.accidental_hz * seconds) < 4 * math.sqrt(expected.accidental_hz * seconds)
    # QBER of every sifted bit (both bases) against (1 - V)/2 diluted by the accidentals
    blocks = lab.table(run["uid"], "blocks")
    done = blocks[blocks["qber_z"].notna() & blocks["qber_x"].notna()]
    assert len(done) >= 1
    bits = (done["sifted_key_bits"] + done["sifted_test_bits"]).sum()
    errors = (done["qber_x"] * done["sifted_key_bits"] + done["qber_z"] * done["sifted_test_bits"]).sum()
    e = _closed_form(lab).qber
    assert abs(errors / bits - e) < 4 * math.sqrt(e * (1 - e) / bits), (errors / bits, e)


@pytest.mark.slow  # one 6 s run on the sim lab: 20-50 s of wall time
def test_key_rate_per_block_is_mfl_and_tlgr_at_the_measured_figures(lab, run):
    blocks = lab.table(run["uid"], "blocks")
    keyed = blocks[blocks["accepted"]]
    assert len(keyed) >= 1, blocks[["reason", "sifted_key_bits", "sifted_test_bits"]].to_string()
    for _, blk in keyed.iterrows():
        n, k, e_x, e_z = blk["sifted_key_bits"], blk["sifted_test_bits"], blk["qber_x"], blk["qber_z"]
        leak, seconds = blk["leaked_ec_bits"], blk["acquired_s"]
        # Tomamichel et al. Eq. (2), written here, at the block's n, k, test QBER and counted leakage
        mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / 1e-10))
        ell = n * (1 - _h(e_z + mu)) - leak - math.log2(2 / (1e-10**2 * 1e-15))
        assert blk["key_bits"] == math.floor(ell) > 0
        # MFL's R = q Q [1 - f h(E) - h(E_p)] with the block's gain, key fraction, f = leak / (n h(E))
        f = leak / (n * _h(e_x))
        asymptotic = mfl_rate(blk["gain_hz"], e_x, n / blk["coincidences"], f, phase_error=e_z)
        assert blk["mfl_rate_hz"] == pytest.approx(asymptotic, rel=1e-9)
        assert 0 < blk["secret_rate_hz"] < asymptotic  # finite key never above asymptotic
        assert blk["secret_rate_hz"] == pytest.approx(blk["key_bits"] / seconds)
        assert 1.0 < f < 1.3  # Cascade's efficiency
    # and the asymptotic rate at the closed form's QBER and gain is the one measured, within statistics
    cf = _closed_form(lab)
    expected = mfl_rate(cf.coincidence_hz, cf.qber, 1.0, 1.1)
    measured = keyed.apply(lambda r: mfl_rate(r["coincidences"] / r["acquired_s"], r["qber_z"], 1.0, 1.1), axis=1)
    assert measured.between(0.7 * expected, 1.3 * expected).all()


@pytest.mark.slow  # one 6 s run on the sim lab: 20-50 s of wall time
def test_keys_are_equal_at_both_ends_and_never_in_the_catalog_or_logs(lab, run):
    blocks = lab.table(run["uid"], "blocks")
    keyed = blocks[blocks["accepted"]]
    received = run["received"]
    assert [bits.size for _, bits in received] == keyed["key_bits"].tolist()
    stores = {node: link_store(root, "alice-bob") for node, root in run["roots"].items()}
    for key_id, bits in received:  # each end holds the key as the two allocators' halves, in blocks
        copies = []
        for store in stores.values():
            parts = sorted(i for i in store.ids() if key_id in i)
            halves = [p for who in NODES for p in parts if p.startswith(f"{who}.")]
            copies.append(np.concatenate([store.take(p) for p in halves]))
        assert np.array_equal(copies[0], copies[1]) and np.array_equal(copies[0], bits)
    hashes = {hashlib.sha256(np.packbits(b).tobytes()).hexdigest() for _, b in received}
    hashes |= {hashlib.sha256(b.tobytes()).hexdigest() for _, b in received}
    assert set(keyed["key_sha256"]) <= hashes
    forms = set()
    for _, bits in received:
        packed = np.packbits(bits).tobytes()[:32]
        forms |= {packed, packed.hex().encode(), "".join(map(str, bits[:128])).encode()}
    stored = b"".join(p.read_bytes() for p in lab.data_dir.rglob("*.db*") if p.is_file())
    logs = run["log"].encode()
    assert b"bbm92" in logs and b"block 0" in logs
    for form in forms:
        assert form not in stored and form not in logs
    summary = lab.table(run["uid"], "summary").iloc[0]
    assert summary["secret_key_bits"] == keyed["key_bits"].sum() and summary["blocks"] == len(blocks)


def test_bad_arguments_are_refused_before_the_run(lab):
    a, b = pair_analyzers(lab.lab)
    with pytest.raises(PlanArgumentError, match="accidental_offset_ps=3000"):
        next(bbm92(lab.lab.tagger, a, b, duration_s=1.0, key_sink=print, accidental_offset_ps=3000))
    with pytest.raises(PlanArgumentError, match="block_size"):
        bbm92(lab.lab.tagger, a, b, duration_s=1.0, key_sink=print, block_size=10)


def test_cli_recipe_prints_one_line_per_block_and_keys_go_to_the_kms_store(lab):
    from qnetlab._qkd_cli import bbm92_recipe

    lines: list[str] = []
    # bases seeded: two 1 s segments of unseeded random bases miss each other a quarter of the time
    (uid,) = lab.RE(bbm92_recipe(lab, 2.0, lines.append, seed=11))
    blocks = lab.table(uid, "blocks")
    assert len(lines) == len(blocks) >= 1
    for line, (_, blk) in zip(lines, blocks.iterrows(), strict=True):
        assert line.startswith(f"block {blk['block']}: QBER X ")
        assert (f"key {blk['key_bits']} bits" in line) if blk["accepted"] else ("no key: " in line)
    assert (lab.data_dir / "kms" / "keys" / "alice").is_dir()

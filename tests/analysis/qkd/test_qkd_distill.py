import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from qnetlab.analysis.qkd.decoy import Intensities
from qnetlab.analysis.qkd.distill import DistillParams, distill_block
from qnetlab.analysis.qkd.keystore import KeyStore, key_sha256
from qnetlab.analysis.qkd.simulate import bb84_records

MU, P = (0.45, 0.2, 2e-4), (0.25, 0.55, 0.2)
PARAMS = DistillParams(Intensities(MU, P))


@pytest.fixture(scope="module")
def honest_records():
    """About 2.4e5 sifted key bits at 1 % QBER (8e6 slots)."""
    return bb84_records(8_000_000, np.random.default_rng(3), mu=MU, p=P, q_x=0.75, eta=0.2, e_mis=0.01)


def test_honest_block_gives_stored_key(tmp_path, honest_records):
    rng = np.random.default_rng(3)
    alice, bob = honest_records
    store = KeyStore(tmp_path)
    res = distill_block(alice, bob, PARAMS, store, rng, key_id="blk-1")
    assert res.accepted, res.reason
    assert res.qber_test.value == pytest.approx(0.01, abs=0.004)
    assert res.qber_key.lower <= 0.0105 <= res.qber_key.upper  # e_mis + dark counts
    assert 0 < res.length < res.sifted_key_bits - res.leaked_ec_bits
    key = store.get("blk-1")
    assert key.size == res.length and key_sha256(key) == res.sha256
    assert stat.S_IMODE(os.stat(tmp_path / "blk-1.key").st_mode) == 0o600
    assert np.packbits(key[:64]).tobytes().hex() not in repr(res)


def test_intercept_resend_gives_no_key(tmp_path):
    rng = np.random.default_rng(4)
    alice, bob = bb84_records(3_000_000, rng, mu=MU, p=P, q_x=0.75, eta=0.2, e_mis=0.01, intercept_resend=True)
    res = distill_block(alice, bob, PARAMS, KeyStore(tmp_path), rng)
    assert not res.accepted and "abort threshold" in res.reason
    assert res.qber_test.value == pytest.approx(0.25, abs=0.03)
    assert os.listdir(tmp_path) == []


def test_too_few_bits_gives_no_key(tmp_path):
    rng = np.random.default_rng(5)
    alice, bob = bb84_records(20_000, rng, mu=MU, p=P, eta=0.2)
    res = distill_block(alice, bob, PARAMS, KeyStore(tmp_path), rng)
    assert not res.accepted and "too few bits" in res.reason


def test_long_distance_block_reports_why_no_key(tmp_path):
    rng = np.random.default_rng(6)
    alice, bob = bb84_records(3_000_000, rng, mu=MU, p=P, q_x=0.75, eta=0.05, e_mis=0.01)
    res = distill_block(alice, bob, PARAMS, KeyStore(tmp_path), rng)
    assert not res.accepted and res.reason.startswith("no secret key")
    assert res.leaked_ec_bits > 0 and res.finite_key is not None


def test_package_import_is_cheap():
    code = "import sys, analysis.qkd; assert 'numba' not in sys.modules and 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_failed_verification_discards_block(tmp_path, monkeypatch):
    """One Cascade pass leaves errors: the tag differs and nothing is stored."""
    from qnetlab.analysis.qkd import cascade

    monkeypatch.setattr(cascade, "block_sizes", lambda q, n, passes=14: [8])
    rng = np.random.default_rng(7)
    alice, bob = bb84_records(3_000_000, rng, mu=MU, p=P, q_x=0.75, eta=0.2, e_mis=0.03)
    res = distill_block(alice, bob, PARAMS, KeyStore(tmp_path), rng)
    assert not res.accepted and res.reason.startswith("verification failed")
    assert res.verification_bits == 50 and res.key_id is None
    assert os.listdir(tmp_path) == []


def test_catalog_entry_is_plain_data(tmp_path, honest_records):
    import json

    rng = np.random.default_rng(13)
    alice, bob = honest_records
    res = distill_block(alice, bob, PARAMS, KeyStore(tmp_path), rng, key_id="blk-2")
    entry = json.loads(json.dumps(res.catalog()))
    assert entry["length"] == res.length and entry["sha256"] == res.sha256
    assert entry["params"]["eps_sec"] == PARAMS.eps_sec
    assert entry["qber_key"]["value"] == pytest.approx(res.qber_key.value)
    assert len(entry["pa_seed"]) == 32

import os
import stat

import numpy as np
import pytest

from qnetlab.analysis.qkd.keystore import KeyStore, key_sha256


def test_owner_only_files_and_roundtrip(tmp_path):
    store = KeyStore(tmp_path / "keys")
    bits = np.random.default_rng(0).integers(0, 2, 1001, dtype=np.uint8)
    rec = store.put("run-7.block-3", bits)
    path = tmp_path / "keys" / "run-7.block-3.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert rec.length == 1001 and rec.sha256 == key_sha256(bits) and len(rec.sha256) == 64
    assert np.array_equal(store.get("run-7.block-3"), bits)
    assert store.ids() == ["run-7.block-3"]


def test_ids_are_checked_and_never_overwritten(tmp_path):
    store = KeyStore(tmp_path)
    store.put("a", np.ones(8, np.uint8))
    with pytest.raises(FileExistsError):
        store.put("a", np.zeros(8, np.uint8))
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="invalid key id"):
            store.put(bad, np.ones(8, np.uint8))


def test_record_has_no_bits(tmp_path):
    rec = KeyStore(tmp_path).put("k", np.ones(64, np.uint8))
    packed = np.packbits(np.ones(64, np.uint8)).tobytes().hex()
    assert "1, 1" not in repr(rec) and packed not in repr(rec)

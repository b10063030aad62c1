"""The key store: owner-only files, atomic writes, checked reads, hostile set-ups refused."""

import os
import stat

import numpy as np
import pytest

from qnetlab.analysis.qkd.keystore import KeyStore, KeyStoreError, key_sha256, link_store

BITS = np.random.default_rng(0).integers(0, 2, 1001, dtype=np.uint8)


def test_owner_only_files_and_roundtrip(tmp_path):
    store = KeyStore(tmp_path / "keys")
    rec = store.put("run-7.block-3", BITS)
    path = tmp_path / "keys" / "run-7.block-3.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert rec.length == 1001 and rec.sha256 == key_sha256(BITS) and len(rec.sha256) == 64
    assert np.array_equal(store.get("run-7.block-3"), BITS)
    assert store.ids() == ["run-7.block-3"] and store.record("run-7.block-3") == rec
    assert store.available_bits() == 1001
    assert sorted(os.listdir(tmp_path / "keys")) == ["run-7.block-3.key"]  # no temporary file left


def test_ids_are_checked_and_never_overwritten(tmp_path):
    store = KeyStore(tmp_path / "s")
    store.put("a", np.ones(8, np.uint8))
    with pytest.raises(FileExistsError):
        store.put("a", np.zeros(8, np.uint8))
    assert np.array_equal(store.get("a"), np.ones(8, np.uint8))
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="invalid key id"):
            store.put(bad, np.ones(8, np.uint8))


def test_record_has_no_bits(tmp_path):
    rec = KeyStore(tmp_path / "s").put("k", np.ones(64, np.uint8))
    packed = np.packbits(np.ones(64, np.uint8)).tobytes().hex()
    assert "1, 1" not in repr(rec) and packed not in repr(rec)


def test_take_erases_the_key(tmp_path):
    store = KeyStore(tmp_path / "s")
    store.put("k", BITS)
    inode_path = tmp_path / "s" / "k.key"
    keep = os.open(inode_path, os.O_RDONLY)  # a reader holding the file sees zeros after take
    try:
        assert np.array_equal(store.take("k"), BITS)
        assert os.pread(keep, 4096, 0) == bytes(os.fstat(keep).st_size)
    finally:
        os.close(keep)
    assert store.ids() == [] and not inode_path.exists()
    with pytest.raises(KeyError, match="no key 'k'"):
        store.take("k")


@pytest.mark.parametrize("mode", [0o750, 0o705, 0o777, 0o710])
def test_group_or_world_accessible_directory_is_refused(tmp_path, mode):
    d = tmp_path / "keys"
    d.mkdir()
    d.chmod(mode)
    with pytest.raises(KeyStoreError, match=f"{d}.*mode {mode:o}.*owner-only"):
        KeyStore(d)


def test_symlinked_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(KeyStoreError, match="symlink"):
        KeyStore(tmp_path / "link")


def test_file_not_a_directory_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(KeyStoreError, match="cannot open directory"):
        KeyStore(tmp_path / "f")


def test_foreign_owner_is_refused(tmp_path, monkeypatch):
    d = tmp_path / "keys"
    KeyStore(d)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(d).st_uid + 1)
    with pytest.raises(KeyStoreError, match="owned by uid"):
        KeyStore(d)


def test_swapped_in_symlink_key_is_refused(tmp_path):
    """An attacker's key planted as a symlink (e.g. before the directory was tightened)."""
    store = KeyStore(tmp_path / "s")
    evil = KeyStore(tmp_path / "evil")
    evil.put("k", np.zeros(64, np.uint8))
    os.symlink(tmp_path / "evil" / "k.key", tmp_path / "s" / "k.key")
    with pytest.raises(KeyStoreError, match="symlink is refused"):
        store.get("k")
    with pytest.raises(KeyStoreError):
        store.take("k")


def test_readable_key_file_is_refused(tmp_path):
    store = KeyStore(tmp_path / "s")
    store.put("k", BITS)
    (tmp_path / "s" / "k.key").chmod(0o644)
    with pytest.raises(KeyStoreError, match="k.key has mode 644"):
        store.get("k")


def test_truncated_padded_and_altered_files_are_refused(tmp_path):
    store = KeyStore(tmp_path / "s")
    path = tmp_path / "s" / "k.key"
    store.put("k", BITS)
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])
    with pytest.raises(KeyStoreError, match="truncated or padded"):
        store.get("k")
    path.write_bytes(raw + b"\0")
    with pytest.raises(KeyStoreError, match="truncated or padded"):
        store.get("k")
    flipped = bytearray(raw)
    flipped[-1] ^= 1
    path.write_bytes(bytes(flipped))
    with pytest.raises(KeyStoreError, match="SHA-256"):
        store.get("k")
    path.write_bytes(b"\x08" + bytes(7) + b"\xff")  # the old headerless format, or garbage
    with pytest.raises(KeyStoreError, match="no key header"):
        store.get("k")


def test_directory_loosened_after_open_still_reads_own_files_only(tmp_path):
    """Renaming the store away and planting another directory does not redirect it."""
    store = KeyStore(tmp_path / "s")
    store.put("k", BITS)
    os.rename(tmp_path / "s", tmp_path / "moved")
    planted = KeyStore(tmp_path / "s")
    planted.put("k", np.zeros(1001, np.uint8))
    assert np.array_equal(store.get("k"), BITS)  # the opened directory, not the path


def test_link_store_checks_root_and_name(tmp_path):
    root = tmp_path / "node"
    store = link_store(root, "alice-relay")
    assert store.directory == root / "alice-relay"
    with pytest.raises(ValueError, match="invalid link name"):
        link_store(root, "../x")
    root.chmod(0o755)
    with pytest.raises(KeyStoreError, match="mode 755"):
        link_store(root, "alice-relay")


def test_length_reads_the_header_and_checks_the_file_length(tmp_path):
    store = KeyStore(tmp_path / "s")
    store.put("k", BITS)
    assert store.length("k") == 1001
    path = tmp_path / "s" / "k.key"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(KeyStoreError, match="header and file length disagree"):
        store.length("k")


def test_listings_from_many_threads_at_once_each_see_every_key(tmp_path):
    """A KME lists a link's store from several request threads at once; none may miss a block."""
    import threading

    store = KeyStore(tmp_path / "keys")
    for i in range(200):
        store.put(f"alice.run.{i:05d}", np.ones(8, np.uint8))
    sizes: list[int] = []

    def list_many():
        for _ in range(100):
            sizes.append(len(store.ids()))

    threads = [threading.Thread(target=list_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sizes) == 400 and set(sizes) == {200}

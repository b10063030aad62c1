"""Key store: one owner-only file per key; the catalog only sees public facts.

A store is a directory that only its owner may enter (mode 0o700, owned by the
effective user, not a symlink); it is opened once and every file is reached through
that directory descriptor (``openat`` with ``O_NOFOLLOW``), so swapping the path or a
file for a symlink later does not redirect a read or a write.  A store whose
directory or files another user could read, list or replace is refused with
:class:`KeyStoreError` naming the path and what is wrong.

Each key is ``<directory>/<key_id>.key`` (mode 0o600)::

    magic  b"QNKEY\\x01\\x00\\x00"   8 bytes
    n_bits little-endian uint64      8 bytes
    sha256 of the packed key bytes  32 bytes
    packed key bytes (first bit is the MSB)  ceil(n_bits / 8) bytes

Every read checks owner, mode, exact file length and hash, so a truncated,
padded or altered file is an error, never a shorter or different key.  Writes
are atomic: a hidden temporary file is written and fsynced, hard-linked to its
final name (which fails rather than overwrite an existing id) and the directory
fsynced.  :meth:`KeyStore.take` reads a key and erases it (overwritten with zeros,
fsynced, unlinked): a consumed key is gone.  :func:`link_store` gives the store of
one QKD link under a node's key root.

:meth:`KeyStore.put` returns a :class:`KeyRecord` (id, length, SHA-256), which is
all that may go to a catalog or log.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["KeyRecord", "KeyStore", "KeyStoreError", "key_sha256", "link_store"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MAGIC = b"QNKEY\x01\x00\x00"
_HEADER = len(_MAGIC) + 8 + 32
_FILE_FLAGS = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class KeyStoreError(Exception):
    """An unsafe, damaged or inconsistent key store (the message names the path)."""


def key_sha256(bits: np.ndarray) -> str:
    """SHA-256 (hex) of the packed key bytes (bit order: first bit is the MSB)."""
    return hashlib.sha256(np.packbits(np.asarray(bits, np.uint8)).tobytes()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """Public facts about a stored key (no key bits)."""

    key_id: str
    length: int
    sha256: str


def _check_owner_only(st: os.stat_result, what: str, path: Path) -> None:
    if st.st_uid != os.geteuid():
        raise KeyStoreError(f"key store: {what} {path} is owned by uid {st.st_uid}, not by this user")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyStoreError(
            f"key store: {what} {path} has mode {stat.S_IMODE(st.st_mode):o}; "
            "group or others may access it (must be owner-only)"
        )


class KeyStore:
    """Directory of secret keys reachable only by their owner.

    Parameters
    ----------
    directory : path
        Created with mode 0o700 if missing.  An existing directory must be owned
        by this user, not group- or world-accessible and not a symlink.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        try:
            self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.mkdir(self.directory, 0o700)
        except FileExistsError:
            pass
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | _FILE_FLAGS)
        except OSError as error:
            if os.path.islink(self.directory):
                raise KeyStoreError(f"key store: {self.directory} is a symlink (refused)") from None
            raise KeyStoreError(f"key store: cannot open directory {self.directory}: {error.strerror}") from None
        try:
            _check_owner_only(os.fstat(fd), "directory", self.directory)
        except KeyStoreError:
            os.close(fd)
            raise
        self._dir_fd = fd

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r})"

    def __del__(self):
        fd = getattr(self, "_dir_fd", -1)
        if fd >= 0:
            os.close(fd)
            self._dir_fd = -1

    def _name(self, key_id: str) -> str:
        if not isinstance(key_id, str) or not _ID.match(key_id):
            raise ValueError(f"key store: invalid key id {key_id!r} (letters, digits, . _ - only)")
        return f"{key_id}.key"

    def put(self, key_id: str, bits: np.ndarray) -> KeyRecord:
        """Write a key under a new id atomically (an existing id is a FileExistsError)."""
        name = self._name(key_id)
        bits = np.asarray(bits, np.uint8)
        packed = np.packbits(bits).tobytes()
        digest = hashlib.sha256(packed)
        tmp = f".{key_id}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE_FLAGS, 0o600, dir_fd=self._dir_fd)
        try:
            os.fchmod(fd, 0o600)  # in case the umask was looser than the mode asked
            data = _MAGIC + int(bits.size).to_bytes(8, "little") + digest.digest() + packed
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd, follow_symlinks=False)
        finally:
            os.unlink(tmp, dir_fd=self._dir_fd)
        os.fsync(self._dir_fd)
        return KeyRecord(key_id, int(bits.size), digest.hexdigest())

    def _open(self, key_id: str, writable: bool) -> tuple[int, os.stat_result, Path]:
        """Open a key file without following symlinks and check it is an owner-only regular file."""
        name = self._name(key_id)
        path = self.directory / name
        try:
            fd = os.open(name, (os.O_RDWR if writable else os.O_RDONLY) | _FILE_FLAGS, dir_fd=self._dir_fd)
        except FileNotFoundError:
            raise KeyError(f"key store {self.directory}: no key {key_id!r}") from None
        except OSError as error:
            raise KeyStoreError(f"key store: cannot open {path} ({error.strerror}; a symlink is refused)") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise KeyStoreError(f"key store: {path} is not a regular file")
            _check_owner_only(st, "file", path)
        except BaseException:
            os.close(fd)
            raise
        return fd, st, path

    def _read(self, key_id: str, writable: bool = False) -> tuple[int, bytes]:
        """Open, check and read one key file; returns (fd still open, file contents)."""
        fd, st, path = self._open(key_id, writable)
        try:
            raw = os.pread(fd, st.st_size + 1, 0)
            if len(raw) < _HEADER or raw[: len(_MAGIC)] != _MAGIC:
                raise KeyStoreError(f"key store: {path} has no key header (damaged or not a key file)")
            n_bits = int.from_bytes(raw[8:16], "little")
            payload = raw[_HEADER:]
            if len(payload) != (n_bits + 7) // 8:
                raise KeyStoreError(
                    f"key store: {path} holds {len(payload)} key bytes, header says {n_bits} bits "
                    f"({(n_bits + 7) // 8} bytes): truncated or padded"
                )
            if hashlib.sha256(payload).digest() != raw[16:48]:
                raise KeyStoreError(f"key store: {path} fails its SHA-256 check (altered or damaged)")
        except BaseException:
            os.close(fd)
            raise
        return fd, raw

    @staticmethod
    def _bits(raw: bytes) -> np.ndarray:
        n_bits = int.from_bytes(raw[8:16], "little")
        return np.unpackbits(np.frombuffer(raw[_HEADER:], np.uint8))[:n_bits]

    def get(self, key_id: str) -> np.ndarray:
        """Read a key back (uint8 bits) after checking owner, mode, length and hash."""
        fd, raw = self._read(key_id)
        os.close(fd)
        return self._bits(raw)

    def record(self, key_id: str) -> KeyRecord:
        """Public facts of a stored key, checked as on a read."""
        fd, raw = self._read(key_id)
        os.close(fd)
        return KeyRecord(key_id, int.from_bytes(raw[8:16], "little"), raw[16:48].hex())

    def length(self, key_id: str) -> int:
        """Bit length of a stored key from its header (owner, mode and file length checked; no hash)."""
        fd, st, path = self._open(key_id, writable=False)
        try:
            head = os.pread(fd, _HEADER, 0)
        finally:
            os.close(fd)
        n_bits = int.from_bytes(head[8:16], "little")
        if len(head) < _HEADER or head[:8] != _MAGIC or st.st_size != _HEADER + (n_bits + 7) // 8:
            raise KeyStoreError(f"key store: {path} is damaged (header and file length disagree)")
        return n_bits

    def take(self, key_id: str) -> np.ndarray:
        """Read a key and erase it: the file is overwritten with zeros, fsynced and unlinked."""
        fd, raw = self._read(key_id, writable=True)
        try:
            os.pwrite(fd, bytes(len(raw)), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.unlink(self._name(key_id), dir_fd=self._dir_fd)
        os.fsync(self._dir_fd)
        return self._bits(raw)

    def ids(self) -> list[str]:
        """Stored key ids (sorted).

        The directory is listed through a descriptor of its own: ``os.listdir`` on the store's
        descriptor shares one read position between threads, so two listings at once each saw
        part of the store (a link block looked missing to a KME serving two requests).
        """
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=self._dir_fd)
        try:
            names = os.listdir(fd)
        finally:
            os.close(fd)
        return sorted(n[:-4] for n in names if n.endswith(".key") and _ID.match(n[:-4]))

    def available_bits(self) -> int:
        """Total key bits stored (from the checked headers)."""
        return sum(self.length(k) for k in self.ids())


def link_store(root: str | os.PathLike, link: str) -> KeyStore:
    """The key store of one QKD link under a node's key root: ``<root>/<link>``.

    The root is checked like a store (owner-only, no symlink) before the link's
    directory is opened.
    """
    if not _ID.match(link):
        raise ValueError(f"key store: invalid link name {link!r} (letters, digits, . _ - only)")
    KeyStore(root)
    return KeyStore(Path(root) / link)

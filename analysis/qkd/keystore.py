"""Key store: one owner-only file per key id; the catalog only sees public facts.

Each key is written to ``<directory>/<key_id>.key`` created with mode 0o600
(the directory with 0o700): an 8-byte little-endian bit length followed by the
packed key bytes.  :meth:`KeyStore.put` returns a :class:`KeyRecord` with the id,
length and SHA-256 of the packed key, which is all that may go to a catalog or
log.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["KeyRecord", "KeyStore", "key_sha256"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def key_sha256(bits: np.ndarray) -> str:
    """SHA-256 (hex) of the packed key bytes (bit order: first bit is the MSB)."""
    return hashlib.sha256(np.packbits(np.asarray(bits, np.uint8)).tobytes()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """Public facts about a stored key (no key bits)."""

    key_id: str
    length: int
    sha256: str


class KeyStore:
    """Directory of secret keys readable only by their owner.

    Parameters
    ----------
    directory : path
        Created (mode 0o700) if missing.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r})"

    def _path(self, key_id: str) -> Path:
        if not _ID.match(key_id):
            raise ValueError(f"key store: invalid key id {key_id!r} (letters, digits, . _ - only)")
        return self.directory / f"{key_id}.key"

    def put(self, key_id: str, bits: np.ndarray) -> KeyRecord:
        """Write a key under a new id (an existing id is an error)."""
        bits = np.asarray(bits, np.uint8)
        path = self._path(key_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(int(bits.size).to_bytes(8, "little"))
            f.write(np.packbits(bits).tobytes())
        os.chmod(path, 0o600)  # in case the umask was looser than the mode asked
        return KeyRecord(key_id, int(bits.size), key_sha256(bits))

    def get(self, key_id: str) -> np.ndarray:
        """Read a key back (uint8 bits)."""
        raw = self._path(key_id).read_bytes()
        n = int.from_bytes(raw[:8], "little")
        return np.unpackbits(np.frombuffer(raw[8:], np.uint8))[:n]

    def ids(self) -> list[str]:
        """Stored key ids."""
        return sorted(p.stem for p in self.directory.glob("*.key"))

"""Alice's side: random patterns from a cryptographic source, and their owner-only record.

Patterns are drawn from a numpy Generator seeded by 128 bits of ``secrets`` (the OS's
CSPRNG) unless a seed is given (tests only). Each upload is kept in an HDF5 file readable
only by its owner (it holds the raw key bits before privacy amplification); the catalog
gets each pattern's SHA-256 and the file's path.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import h5py
import numpy as np


def pattern_generator(seed: int | None) -> np.random.Generator:
    """A Generator seeded from the OS's CSPRNG (``seed`` only in tests)."""
    return np.random.Generator(np.random.PCG64(secrets.randbits(128) if seed is None else seed))


def random_pattern(
    rng: np.random.Generator, slots: int, key_basis_probability: float, probabilities: tuple[float, float, float]
) -> np.ndarray:
    """Codes ``bit | basis << 1 | level << 2``: X (1) with ``key_basis_probability``, levels by ``probabilities``."""
    basis = (rng.random(slots) < key_basis_probability).astype(np.uint8)
    bit = rng.integers(0, 2, slots, dtype=np.uint8)
    level = np.searchsorted(np.cumsum(probabilities)[:-1], rng.random(slots), side="right").astype(np.uint8)
    return (bit | (basis << 1) | (level << 2)).astype(np.uint8)


class PatternRecord:
    """Alice's uploads of one run in ``path`` (HDF5, mode 0o600): dataset ``patterns/<index>``."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        self._file = h5py.File(path, "w")

    def add(self, index: int, codes: np.ndarray) -> str:
        """Store one upload; returns its SHA-256 (hex)."""
        digest = hashlib.sha256(codes.tobytes()).hexdigest()
        dataset = self._file.create_dataset(f"patterns/{index:06d}", data=codes, compression="gzip", compression_opts=1)
        dataset.attrs["sha256"] = digest
        self._file.flush()
        return digest

    def close(self) -> None:
        self._file.close()

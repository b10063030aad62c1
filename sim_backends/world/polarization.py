"""Polarization states and rotations (Jones calculus, basis H, V)."""

from __future__ import annotations

import math

import numpy as np

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

H = np.array([1, 0], dtype=complex)
V = np.array([0, 1], dtype=complex)
D = np.array([1, 1], dtype=complex) / np.sqrt(2)
A = np.array([1, -1], dtype=complex) / np.sqrt(2)

#: BB84 states by (basis, bit): basis 0 = Z (H/V), basis 1 = X (D/A)
BB84_STATES = {(0, 0): H, (0, 1): V, (1, 0): D, (1, 1): A}
#: the same as rows, indexed by 2·basis + bit
BB84_KETS = np.array([H, V, D, A])


def su2_from_vector(rotation: np.ndarray) -> np.ndarray:
    """exp(−i r·σ/2): the SU(2) rotation by |r| rad about the Poincaré-sphere axis r/|r|."""
    x, y, z = (float(r) for r in rotation)
    angle = math.sqrt(x * x + y * y + z * z)
    if angle == 0.0:
        return np.eye(2, dtype=complex)
    c, s = math.cos(angle / 2), math.sin(angle / 2) / angle
    # cos(a/2)·I − i·sin(a/2)·(n·σ), written out (called once per drift step)
    return np.array([[complex(c, -s * z), complex(-s * y, -s * x)], [complex(s * y, -s * x), complex(c, s * z)]])


def random_su2(rng: np.random.Generator) -> np.ndarray:
    """A Haar-random SU(2) matrix."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a + 1j * b, c + 1j * d], [-c + 1j * d, a - 1j * b]])


def analyzer_probabilities(states: np.ndarray, misalignment: float = 0.0) -> dict[str, np.ndarray]:
    """Probabilities of H, V, D, A at a BB84 analyzer whose splitters leak ``misalignment``.

    ``states``: one Jones vector (2,) or a stack of them (n, 2); each role gets a float
    (or an (n,) array).
    """
    states = np.asarray(states)
    norm = (np.abs(states) ** 2).sum(axis=-1)
    p_h = np.abs(states[..., 0]) ** 2 / norm
    p_d = np.abs(states[..., 0] + states[..., 1]) ** 2 / 2 / norm
    e = misalignment
    return {
        "H": (1 - e) * p_h + e * (1 - p_h),
        "V": (1 - e) * (1 - p_h) + e * p_h,
        "D": (1 - e) * p_d + e * (1 - p_d),
        "A": (1 - e) * (1 - p_d) + e * p_d,
    }

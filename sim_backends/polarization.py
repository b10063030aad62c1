"""Polarization states and rotations (Jones calculus, basis H, V)."""

from __future__ import annotations

import numpy as np

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

H = np.array([1, 0], dtype=complex)
V = np.array([0, 1], dtype=complex)
D = np.array([1, 1], dtype=complex) / np.sqrt(2)
A = np.array([1, -1], dtype=complex) / np.sqrt(2)

#: BB84 states by (basis, bit): basis 0 = Z (H/V), basis 1 = X (D/A)
BB84_STATES = {(0, 0): H, (0, 1): V, (1, 0): D, (1, 1): A}


def su2_from_vector(rotation: np.ndarray) -> np.ndarray:
    """exp(−i r·σ/2): the SU(2) rotation by |r| rad about the Poincaré-sphere axis r/|r|."""
    angle = float(np.linalg.norm(rotation))
    if angle == 0.0:
        return np.eye(2, dtype=complex)
    axis = rotation / angle
    generator = np.tensordot(axis, PAULI, axes=1)
    return np.cos(angle / 2) * np.eye(2) - 1j * np.sin(angle / 2) * generator


def random_su2(rng: np.random.Generator) -> np.ndarray:
    """A Haar-random SU(2) matrix."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a + 1j * b, c + 1j * d], [-c + 1j * d, a - 1j * b]])


def analyzer_probabilities(state: np.ndarray, misalignment: float = 0.0) -> dict[str, float]:
    """Probabilities of H, V, D, A at a BB84 analyzer whose splitters leak ``misalignment``."""
    p_h = float(abs(state[0]) ** 2) / float(np.vdot(state, state).real)
    p_d = float(abs(state[0] + state[1]) ** 2 / 2) / float(np.vdot(state, state).real)
    e = misalignment
    return {
        "H": (1 - e) * p_h + e * (1 - p_h),
        "V": (1 - e) * (1 - p_h) + e * p_h,
        "D": (1 - e) * p_d + e * (1 - p_d),
        "A": (1 - e) * (1 - p_d) + e * p_d,
    }

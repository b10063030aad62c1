"""Poincaré-sphere algebra of the compensation: SU(2) <-> SO(3), Stokes vectors from counts.

Stokes components are ordered (s1, s2, s3) = (H − V, D − A, R − L). A Jones matrix U
(basis H, V) acts on Stokes vectors as the rotation ``R_ij = ½ tr(S_i U S_j U†)`` with
``S = (σz, σx, σy)``. A passive BB84 receiver (detectors H, V, D, A) measures s1 and s2 of
what arrives; s3 is known only in magnitude, from |s| = 1.
"""

from __future__ import annotations

import numpy as np

#: σz, σx, σy: the Pauli matrices whose expectations are s1, s2, s3 (basis H, V)
STOKES_PAULI = np.array([[[1, 0], [0, -1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]]], dtype=complex)
#: the mirror through the s1-s2 plane: what the receiver cannot tell apart
MIRROR_S3 = np.diag([1.0, 1.0, -1.0])
DETECTORS = ("H", "V", "D", "A")


def rotation_from_jones(jones: np.ndarray) -> np.ndarray:
    """The 3x3 rotation of Stokes space made by a 2x2 unitary (global phase drops out).

    ``jones`` may be a stack (..., 2, 2); the result is (..., 3, 3).
    """
    u = np.asarray(jones, dtype=complex)
    # tr(S_i U S_j U†) = Σ S_i[a,b] U[b,c] S_j[c,d] conj(U[a,d])
    product = np.einsum("iab,...bc,jcd,...ad->...ij", STOKES_PAULI, u, STOKES_PAULI, np.conj(u))
    return np.real(product) / 2


def rotation_about(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotation of Stokes space by ``angle_rad`` about ``axis`` (right-hand rule)."""
    n = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -n[2], n[1]], [n[2], 0, -n[0]], [-n[1], n[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1 - np.cos(angle_rad)) * (k @ k)


def rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """Axis × angle (rad) of a rotation matrix, the angle in [0, π]."""
    r = np.asarray(rotation, float)
    cos_angle = np.clip((np.trace(r) - 1) / 2, -1.0, 1.0)
    angle = float(np.arccos(cos_angle))
    skew = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return skew / 2
    if np.pi - angle < 1e-6:  # axis from the symmetric part
        w, v = np.linalg.eigh((r + r.T) / 2)
        return v[:, np.argmax(w)] * angle
    return skew / (2 * np.sin(angle)) * angle


def nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """The proper rotation closest (Frobenius) to ``matrix`` (Kabsch/SVD)."""
    u, _, vt = np.linalg.svd(matrix)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def stokes_s1_s2(counts: np.ndarray) -> np.ndarray:
    """Measured (s1, s2) per sent state from counts (states, 4 detectors H, V, D, A).

    ``s1 = (n_H − n_V)/(n_H + n_V)``, ``s2 = (n_D − n_A)/(n_D + n_A)``; a pair of detectors
    without counts gives 0 (no information), never a division error.
    """
    n = np.asarray(counts, float)
    if n.ndim != 2 or n.shape[1] != 4:
        raise ValueError(f"counts must be (states, 4 detectors H,V,D,A), got shape {n.shape}")
    if np.any(n < 0):
        raise ValueError("counts must be >= 0")
    z, x = n[:, 0] + n[:, 1], n[:, 2] + n[:, 3]
    s1 = np.divide(n[:, 0] - n[:, 1], z, out=np.zeros_like(z), where=z > 0)
    s2 = np.divide(n[:, 2] - n[:, 3], x, out=np.zeros_like(x), where=x > 0)
    return np.stack([s1, s2], axis=1)


def reference_qber(counts: np.ndarray) -> tuple[float, float]:
    """QBER of the Z basis (H sent: V clicks) and X basis (D sent: A clicks).

    ``counts`` rows: H sent, D sent; columns H, V, D, A.
    """
    n = np.asarray(counts, float)
    z = n[0, 0] + n[0, 1]
    x = n[1, 2] + n[1, 3]
    return (float(n[0, 1] / z) if z else 0.5, float(n[1, 3] / x) if x else 0.5)


def mirror_candidates(measured: np.ndarray, contrast: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The two rotations R (and M·R·M) that send s1 -> u, s2 -> v for measured (s1, s2) of u, v.

    ``measured``: (2, 2) measured (s1, s2) of the outputs of the H and D references;
    ``contrast``: the receiver's contrast 1 − 2·misalignment (measured components are
    shrunk by it). s3 of each output is ±√(1 − s1² − s2²); the orthogonality of the two
    outputs fixes the relative sign, the mirror M = diag(1, 1, −1) leaves the overall sign
    open: both candidates predict exactly the same counts.
    """
    m = np.clip(np.asarray(measured, float) / contrast, -1.0, 1.0)
    best, best_residual = np.eye(3), np.inf
    for sign_u in (1.0, -1.0):
        for sign_v in (1.0, -1.0):
            u = np.array([m[0, 0], m[0, 1], sign_u * np.sqrt(max(0.0, 1 - m[0, 0] ** 2 - m[0, 1] ** 2))])
            v = np.array([m[1, 0], m[1, 1], sign_v * np.sqrt(max(0.0, 1 - m[1, 0] ** 2 - m[1, 1] ** 2))])
            # Kabsch: the rotation taking e1, e2 closest to u, v
            rotation = nearest_rotation(np.outer(u, [1, 0, 0]) + np.outer(v, [0, 1, 0]))
            residual = float(np.sum((rotation[:2, :2] - m.T) ** 2))
            if residual < best_residual - 1e-12:
                best, best_residual = rotation, residual
    return best, MIRROR_S3 @ best @ MIRROR_S3

"""Kets, Bell states and the Werner family in qnetlab's polarization convention.

Convention (used by every module of :mod:`qnetlab.analysis.entanglement`)
--------------------------------------------------------------------------
* One qubit: ``|H> = (1, 0)``, ``|V> = (0, 1)``;
  ``|D> = (|H> + |V>)/√2``, ``|A> = (|H> − |V>)/√2``,
  ``|R> = (|H> + i|V>)/√2``, ``|L> = (|H> − i|V>)/√2``.
  So H/V, D/A and R/L are the ±1 eigenstates of σz, σx and σy, and the Bloch vector of a
  polarization state equals its normalized Stokes vector (S1, S2, S3) with S3 > 0 for R.
  (James et al., PRA 64 052312 (2001), write ``|R> = (|H> − i|V>)/√2``; only the labels of
  the two circular states differ.)
* Two qubits: Alice's photon first, ``|HH>, |HV>, |VH>, |VV>`` (``np.kron(alice, bob)``).
* Bell states: Φ± = (|HH> ± |VV>)/√2, Ψ± = (|HV> ± |VH>)/√2.
* Werner state of visibility V: ``V |Φ+><Φ+| + (1 − V) I/4``.
"""

import numpy as np

_S = 1 / np.sqrt(2)

KETS: dict[str, np.ndarray] = {
    "H": np.array([1, 0], dtype=complex),
    "V": np.array([0, 1], dtype=complex),
    "D": np.array([_S, _S], dtype=complex),
    "A": np.array([_S, -_S], dtype=complex),
    "R": np.array([_S, 1j * _S], dtype=complex),
    "L": np.array([_S, -1j * _S], dtype=complex),
}
"""Single-photon polarization kets by label."""

ORTHOGONAL = {"H": "V", "V": "H", "D": "A", "A": "D", "R": "L", "L": "R"}
"""The label of the state a PBS sends to the other output."""

BASIS_LABELS = ("HH", "HV", "VH", "VV")
"""Order of the two-qubit computational basis (rows and columns of every rho)."""

PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=complex,
)
"""I, σx, σy, σz."""


def ket(label):
    """The ket of a polarization label (``"H"``) or of a pair (``"HD"``, Alice first).

    Parameters
    ----------
    label : str
        One or two letters of H, V, D, A, R, L.

    Returns
    -------
    numpy.ndarray
        Complex ket of length 2 or 4.
    """
    if not isinstance(label, str) or not 1 <= len(label) <= 2 or any(c not in KETS for c in label):
        raise ValueError(f"polarization label {label!r}: expected one or two of {''.join(KETS)}")
    out = np.ones(1, dtype=complex)
    for c in label:
        out = np.kron(out, KETS[c])
    return out


def bloch_ket(bloch):
    """The pure one-qubit ket with Bloch (normalized Stokes) vector ``bloch`` (global phase: real first entry).

    Parameters
    ----------
    bloch : sequence of 3 float
        (x, y, z) = (S1, S2, S3)/S0 in the convention above; normalized here.

    Returns
    -------
    numpy.ndarray
    """
    x, y, z = np.asarray(bloch, dtype=float)
    norm = float(np.sqrt(x * x + y * y + z * z))
    if not norm > 0:
        raise ValueError(f"Bloch vector {bloch!r} has zero length")
    # the Bloch sphere here has z = H/V, x = D/A, y = R/L: rotate (x, y, z) -> polar angle about z
    x, y, z = x / norm, y / norm, z / norm
    theta = np.arccos(np.clip(z, -1, 1))
    phi = np.arctan2(y, x)
    return np.array([np.cos(theta / 2), np.exp(1j * phi) * np.sin(theta / 2)], dtype=complex)


def density(psi):
    """``|psi><psi|`` of a ket."""
    psi = np.asarray(psi, dtype=complex)
    return np.outer(psi, psi.conj())


_BELL_KETS = {
    "phi+": np.array([_S, 0, 0, _S], dtype=complex),
    "phi-": np.array([_S, 0, 0, -_S], dtype=complex),
    "psi+": np.array([0, _S, _S, 0], dtype=complex),
    "psi-": np.array([0, _S, -_S, 0], dtype=complex),
}


def bell_state(name="phi+"):
    """Ket of a Bell state: ``"phi+"``, ``"phi-"``, ``"psi+"`` or ``"psi-"``."""
    key = name.lower().replace("φ", "phi").replace("ψ", "psi")
    if key not in _BELL_KETS:
        raise ValueError(f"Bell state {name!r}: expected one of {sorted(_BELL_KETS)}")
    return _BELL_KETS[key].copy()


def werner_state(visibility, bell="phi+"):
    """Werner state ``V |B><B| + (1 − V) I/4`` (4×4), ``0 <= V <= 1``."""
    v = float(visibility)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"Werner visibility {visibility!r} outside [0, 1]")
    return v * density(bell_state(bell)) + (1 - v) * np.eye(4) / 4

"""Tomography settings and the counts a lab records for them.

A *setting* is one pair of analyzer states (Alice's, Bob's): the transmitted port of each
PBS projects onto that state, the reflected port onto its orthogonal partner. An *outcome*
is one detector pair at one setting; its two-photon projector is ``|a b><a b|``.

Counts come in two shapes:

* ``(n_settings,)`` — one detector per photon (transmitted ports only);
* ``(n_settings, 4)`` — both outputs of each PBS, columns ``[tt, tr, rt, rr]``
  (Alice transmitted/reflected × Bob transmitted/reflected).

The expected counts of outcome i are ``μ_i = I · η_i · Tr(P_i ρ) + a_i``: ``I`` the pair
rate times exposure unit, ``η_i`` the product of the two detectors' relative efficiencies
and the setting's exposure (duration × relative pump power), ``a_i`` the expected
accidental coincidences. Tomography fits ``I`` and ρ to these counts, which is how
efficiency correction and accidental subtraction enter the Poisson likelihood.
"""

from dataclasses import dataclass

import numpy as np

from .states import KETS, ORTHOGONAL

STANDARD_16: tuple[str, ...] = (
    "HH", "HV", "VV", "VH", "RH", "RV", "DV", "DH",
    "DR", "DD", "RD", "HD", "VD", "VL", "HL", "RL",
)  # fmt: skip
"""The 16 settings of James, Kwiat, Munro and White, PRA 64 052312 (2001), Table I, in order."""

OVERCOMPLETE_36: tuple[str, ...] = tuple(a + b for a in "HVDARL" for b in "HVDARL")
"""All 36 pairs of the six cardinal states (one detector per photon)."""

PAULI_9: tuple[str, ...] = tuple(a + b for a in "HDR" for b in "HDR")
"""The 9 basis pairs (Z, X, Y)²: with both PBS outputs their 36 outcomes are the overcomplete set."""


@dataclass(frozen=True)
class TomographyData:
    """Counts of a two-photon polarization tomography, one entry per outcome.

    Attributes
    ----------
    projectors : numpy.ndarray
        (m, 4, 4) complex two-photon projectors, basis ``|HH>, |HV>, |VH>, |VV>``.
    counts : numpy.ndarray
        (m,) recorded coincidences (float, so expected counts may be given too).
    efficiency : numpy.ndarray
        (m,) relative efficiency × exposure of each outcome (> 0).
    accidentals : numpy.ndarray
        (m,) expected accidental coincidences in each outcome (>= 0).
    labels : tuple of str
        Outcome labels, e.g. ``"HA"`` for Alice's H port and Bob's A port.
    """

    projectors: np.ndarray
    counts: np.ndarray
    efficiency: np.ndarray
    accidentals: np.ndarray
    labels: tuple[str, ...]

    def with_counts(self, counts):
        """The same measurement with other counts (e.g. a Monte Carlo resample)."""
        return TomographyData(
            self.projectors, np.asarray(counts, dtype=float), self.efficiency, self.accidentals, self.labels
        )


def _setting_kets(settings):
    """(n, 2, 2) kets [setting, photon, component] and labels of the transmitted ports."""
    if isinstance(settings, np.ndarray) and settings.ndim == 3:
        kets = np.asarray(settings, dtype=complex)
        if kets.shape[1:] != (2, 2):
            raise ValueError(f"settings: kets must have shape (n, 2, 2), got {kets.shape}")
        kets = kets / np.linalg.norm(kets, axis=2, keepdims=True)
        return kets, [f"#{i}" for i in range(len(kets))]
    labels = list(settings)
    for i, lab in enumerate(labels):
        if not isinstance(lab, str) or len(lab) != 2 or any(c not in KETS for c in lab):
            raise ValueError(f"settings[{i}] = {lab!r}: expected two letters of HVDARL (Alice, Bob)")
    kets = np.array([[KETS[lab[0]], KETS[lab[1]]] for lab in labels])
    return kets, labels


def _orthogonal(k):
    """The ket orthogonal to a one-qubit ket (the PBS's reflected port)."""
    return np.array([-np.conj(k[1]), np.conj(k[0])])


def _outcome_label(setting, alice_port, bob_port):
    """``"HA"`` for setting ``"HD"`` at Alice's transmitted and Bob's reflected port; ``"#3:01"`` for ket settings."""
    if setting.startswith("#"):
        return f"{setting}:{alice_port}{bob_port}"
    a, b = setting
    return (ORTHOGONAL[a] if alice_port else a) + (ORTHOGONAL[b] if bob_port else b)


def _per_outcome(value, shape, name, default):
    if value is None:
        return np.full(shape, default, dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (like counts), got {arr.shape}")
    return arr


def tomography_data(settings, counts, *, detector_efficiency=None, accidentals=None, exposure=None):
    """Assemble :class:`TomographyData` from settings and counts.

    Parameters
    ----------
    settings : sequence of str or numpy.ndarray
        Setting labels (``STANDARD_16``, ``OVERCOMPLETE_36``, ``PAULI_9`` or any two-letter
        labels, Alice first), or (n, 2, 2) kets of Alice's and Bob's transmitted states
        (e.g. from :func:`~qnetlab.analysis.entanglement.waveplates.analyzer_ket`).
    counts : array_like
        (n,) transmitted-port coincidences, or (n, 4) with columns ``[tt, tr, rt, rr]``.
    detector_efficiency : array_like, optional
        (2, 2) relative efficiencies ``[[alice_t, alice_r], [bob_t, bob_r]]``; default all 1.
    accidentals : array_like, optional
        Expected accidental coincidences, same shape as ``counts``; default 0.
    exposure : array_like, optional
        (n,) relative exposure (duration × pump power) of each setting; default 1.

    Returns
    -------
    TomographyData
    """
    kets, labels = _setting_kets(settings)
    n = len(kets)
    counts = np.asarray(counts, dtype=float)
    if counts.shape not in ((n,), (n, 4)):
        raise ValueError(f"counts: expected shape ({n},) or ({n}, 4) for {n} settings, got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts: must be finite and >= 0")
    eta = np.ones((2, 2)) if detector_efficiency is None else np.asarray(detector_efficiency, dtype=float)
    if eta.shape != (2, 2) or np.any(eta <= 0):
        raise ValueError(f"detector_efficiency: expected (2, 2) positive values, got {eta!r}")
    expo = _per_outcome(exposure, (n,), "exposure", 1.0)
    if np.any(expo <= 0):
        raise ValueError("exposure: must be > 0 for every setting")
    acc = _per_outcome(accidentals, counts.shape, "accidentals", 0.0)
    if np.any(acc < 0):
        raise ValueError("accidentals: must be >= 0")

    ports = [(0, 0), (0, 1), (1, 0), (1, 1)] if counts.ndim == 2 else [(0, 0)]
    projectors, effs, out_labels = [], [], []
    for i in range(n):
        a_t, b_t = kets[i]
        a_ports, b_ports = (a_t, _orthogonal(a_t)), (b_t, _orthogonal(b_t))
        for pa, pb in ports:
            psi = np.kron(a_ports[pa], b_ports[pb])
            projectors.append(np.outer(psi, psi.conj()))
            effs.append(eta[0, pa] * eta[1, pb] * expo[i])
            out_labels.append(_outcome_label(labels[i], pa, pb))
    return TomographyData(
        projectors=np.array(projectors),
        counts=counts.reshape(-1),
        efficiency=np.array(effs),
        accidentals=acc.reshape(-1),
        labels=tuple(out_labels),
    )


def expected_counts(rho, data, pairs):
    """Expected counts ``pairs · η_i · Tr(P_i ρ) + a_i`` of each outcome of ``data`` for state ``rho``."""
    probs = np.einsum("mij,ji->m", data.projectors, np.asarray(rho, dtype=complex)).real
    return pairs * data.efficiency * np.clip(probs, 0, None) + data.accidentals


def draw_counts(rho, data, pairs, rng):
    """Poisson counts drawn from :func:`expected_counts` (a seeded ``numpy.random.Generator``)."""
    return data.with_counts(rng.poisson(expected_counts(rho, data, pairs)).astype(float))

"""Analyzer settings from the Jones calculus of a QWP and a HWP in front of a PBS.

Jones convention (same basis as :mod:`.states`: ``(E_H, E_V)``, so ``(1, i)/√2`` is R):
a plate of retardance Γ with its fast axis at θ from H is
``J(θ, Γ) = Rot(θ) diag(1, e^{iΓ}) Rot(−θ)``, ``Rot(θ) = [[cos θ, −sin θ], [sin θ, cos θ]]``
(global phases dropped). The photon meets the QWP, then the HWP, then the PBS, whose
transmitted port passes H. So the transmitted port projects onto
``|ψ> = (J_HWP J_QWP)† |H>`` and the reflected port onto the orthogonal state.

Mount zero offsets: a mount reading ``motor_deg`` holds its plate's fast axis at
``motor_deg − zero_offset_deg`` from H (the offset is what a calibration measures), so
the motor positions returned here are ``axis angle + zero_offset_deg``.

Settings for a target: the QWP's fast axis goes along the major axis of the target's
polarization ellipse (which a QWP then turns linear), and the HWP turns that linear
state onto H (axis at half its angle).
"""

import numpy as np

from .states import KETS, bloch_ket


def _rotation(theta_rad):
    c, s = np.cos(theta_rad), np.sin(theta_rad)
    return np.array([[c, -s], [s, c]])


def waveplate_jones(axis_deg, retardance_deg):
    """Jones matrix of a waveplate with fast axis at ``axis_deg`` and retardance ``retardance_deg``."""
    theta = np.radians(axis_deg)
    rot = _rotation(theta)
    return rot @ np.diag([1.0, np.exp(1j * np.radians(retardance_deg))]) @ rot.T


def analyzer_ket(
    qwp_deg, hwp_deg, *, qwp_zero_deg=0.0, hwp_zero_deg=0.0, qwp_retardance_deg=90.0, hwp_retardance_deg=180.0
):
    """State projected on by the transmitted PBS port for motor positions ``qwp_deg``, ``hwp_deg``.

    Parameters
    ----------
    qwp_deg, hwp_deg : float
        Motor positions of the QWP and HWP mounts, degrees.
    qwp_zero_deg, hwp_zero_deg : float
        Calibrated motor position of each plate's fast axis along H.
    qwp_retardance_deg, hwp_retardance_deg : float
        Retardances (90° and 180° for ideal plates; calibrated values may differ).

    Returns
    -------
    numpy.ndarray
        Normalized ket (length 2); the reflected port projects onto its orthogonal state.
    """
    qwp = waveplate_jones(qwp_deg - qwp_zero_deg, qwp_retardance_deg)
    hwp = waveplate_jones(hwp_deg - hwp_zero_deg, hwp_retardance_deg)
    psi = (hwp @ qwp).conj().T @ np.array([1.0, 0.0])
    phase = np.exp(-1j * np.angle(psi[0])) if abs(psi[0]) > 1e-12 else np.exp(-1j * np.angle(psi[1]))
    return psi * phase


def analyzer_projector(qwp_deg, hwp_deg, **calibration):
    """Projector ``|ψ><ψ|`` of the transmitted port (see :func:`analyzer_ket`)."""
    psi = analyzer_ket(qwp_deg, hwp_deg, **calibration)
    return np.outer(psi, psi.conj())


def analyzer_settings(target, *, qwp_zero_deg=0.0, hwp_zero_deg=0.0):
    """Motor positions (qwp_deg, hwp_deg) whose transmitted port projects onto ``target`` (ideal plates).

    Parameters
    ----------
    target : str or array_like
        ``"H"``, ``"V"``, ``"D"``, ``"A"``, ``"R"``, ``"L"``, a Bloch vector (3 floats) or a ket (2 complex).
    qwp_zero_deg, hwp_zero_deg : float
        Calibrated zero of each mount (motor position of the fast axis along H).

    Returns
    -------
    tuple of float
        QWP and HWP motor positions in [0, 180) degrees.
    """
    if isinstance(target, str):
        if target not in KETS:
            raise ValueError(f"analyzer target {target!r}: expected one of {''.join(KETS)}, a Bloch vector or a ket")
        psi = KETS[target]
    else:
        arr = np.asarray(target)
        if arr.shape == (3,):
            psi = bloch_ket(arr.astype(float))
        elif arr.shape == (2,) and np.linalg.norm(arr) > 0:
            psi = arr.astype(complex) / np.linalg.norm(arr)
        else:
            raise ValueError(f"analyzer target of shape {arr.shape}: expected a Bloch vector (3,) or a ket (2,)")
    # Stokes vector -> orientation ψ of the ellipse's major axis: S1 = cos2χ cos2ψ, S2 = cos2χ sin2ψ
    s1 = abs(psi[0]) ** 2 - abs(psi[1]) ** 2
    s2 = 2 * (psi[0].conj() * psi[1]).real
    qwp_axis = 0.5 * np.degrees(np.arctan2(s2, s1))
    linear = waveplate_jones(qwp_axis, 90.0) @ psi  # linear up to a global phase
    linear = linear * np.exp(-1j * np.angle(linear[0] if abs(linear[0]) > 1e-12 else linear[1]))
    linear_deg = np.degrees(np.arctan2(linear[1].real, linear[0].real))
    hwp_axis = linear_deg / 2
    return _wrap_180(qwp_axis + qwp_zero_deg), _wrap_180(hwp_axis + hwp_zero_deg)


def _wrap_180(angle_deg):
    wrapped = float(angle_deg) % 180.0
    return 0.0 if wrapped >= 180.0 else wrapped  # -1e-300 % 180 rounds to 180.0

"""The Jones matrices of the actuators along a path, remembered per setting.

A link asks for its waveplates' and paddles' matrices every slice; each waveplate angle's
matrix is computed once (:func:`jones_of`), and :func:`jones_key` says what a matrix
depends on, so a link can tell when its optics changed.
"""

from __future__ import annotations

import numpy as np

from qnetlab.sim_backends.world.actuators import PaddleController, Waveplate

_JONES_CACHE: dict[tuple[float, float], np.ndarray] = {}


def jones_key(actuator):
    """What a waveplate's or paddle controller's Jones matrix depends on (None: unknown)."""
    if isinstance(actuator, Waveplate):
        return (float(actuator.retardance_waves), float(actuator.angle_deg))
    if isinstance(actuator, PaddleController):
        return tuple(jones_key(paddle) for paddle in actuator.paddles)
    return None


def jones_of(actuator) -> np.ndarray:
    """``actuator.jones()``, remembered per waveplate setting (computed once per angle)."""
    if isinstance(actuator, Waveplate):
        key = jones_key(actuator)
        matrix = _JONES_CACHE.get(key)
        if matrix is None:
            if len(_JONES_CACHE) > 4096:
                _JONES_CACHE.clear()
            matrix = actuator.jones()
            matrix.flags.writeable = False
            _JONES_CACHE[key] = matrix
        return matrix
    if isinstance(actuator, PaddleController):
        total = np.eye(2, dtype=complex)
        for paddle in actuator.paddles:
            total = jones_of(paddle) @ total
        return total
    return actuator.jones()

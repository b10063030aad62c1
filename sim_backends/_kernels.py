"""Numba loops of the simulated world (imported only when clicks are generated)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def apply_dead_time(times_ps: np.ndarray, dead_time_ps: int, last_click_ps: int) -> np.ndarray:
    """Boolean mask of the clicks a non-paralyzable detector registers.

    A click is kept when it comes at least ``dead_time_ps`` after the last kept click;
    ``last_click_ps`` is the last kept click of the previous slice (carried over so that
    slicing time does not change the result). ``times_ps`` must be sorted.
    """
    keep = np.empty(times_ps.size, dtype=np.bool_)
    last = last_click_ps
    for i in range(times_ps.size):
        t = times_ps[i]
        if t - last >= dead_time_ps:
            keep[i] = True
            last = t
        else:
            keep[i] = False
    return keep

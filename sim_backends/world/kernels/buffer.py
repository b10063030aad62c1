"""The tagger's on-board buffer, tag by tag: the Lindley recursion in one compiled pass."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def fill_buffer(times: np.ndarray, fill: float, fill_at_ps: int, rate_per_ps: float, capacity: float):
    """Fill of the buffer after each tag of ``times`` (sorted ps): drain at ``rate_per_ps`` tags/ps, add one.

    Starts from ``fill`` tags at ``fill_at_ps``. Returns ``(k, fill)``: the index of the first tag
    that finds the buffer over ``capacity`` (-1 if none) and the fill after the last tag looked at.
    """
    last = fill_at_ps
    for k in range(times.size):
        t = times[k]
        fill = max(fill - (t - last) * rate_per_ps, 0.0) + 1.0
        last = t
        if fill > capacity:
            return k, fill
    return -1, fill

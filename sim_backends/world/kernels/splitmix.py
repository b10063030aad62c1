"""The world's random numbers inside numba: SplitMix64, a counter-based generator.

The state is one uint64 counter (``state[0]``, drawn from the world's numpy Generator at
every acquisition); each draw adds the golden-ratio increment and mixes the counter. Kept
in a local variable, a draw costs about a ns (numba's ``np.random.random()`` costs ~6 ns).
The helpers are inlined into the passes that draw (:mod:`qnetlab.sim_backends.world.kernels.pulsed_walk`, ...).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0


@numba.njit(inline="always")
def _mix(x):
    z = (x ^ (x >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(inline="always")
def _unit(z):
    """Uniform on [0, 1) from the top 53 bits of a draw."""
    return np.float64(np.int64(z >> np.uint64(11))) * _TWO_M53


@numba.njit(inline="always")
def _exp(z):
    """Standard exponential, −ln U with U uniform on (0, 1], from a draw."""
    return -math.log(np.float64(np.int64(z >> np.uint64(11)) + 1) * _TWO_M53)


@numba.njit(inline="always")
def _jitter(z, sigma, normal_table):
    """A Gaussian offset (int64 ps, rms ``sigma``): 16 bits of a draw pick one of the
    65536 mid-quantiles of N(0, 1) in ``normal_table`` (tails cut at ±4.3σ)."""
    return np.int64(math.floor(sigma * normal_table[np.int64(z >> np.uint64(48))] + 0.5))


@numba.njit(cache=True, nogil=True)
def add_jitter(times, srcs, sigma, normal_table, state):
    """Add each event's Gaussian jitter (rms ``sigma[source]``) in place."""
    x = state[0]
    for i in range(times.size):
        x += _GOLDEN
        times[i] += _jitter(_mix(x), sigma[srcs[i]], normal_table)
    state[0] = x


@numba.njit(cache=True)
def uniforms(n, state):
    """n uniform draws of the world's generator (for tests of the generator itself)."""
    x = state[0]
    out = np.empty(n, np.float64)
    for i in range(n):
        x += _GOLDEN
        out[i] = _unit(_mix(x))
    state[0] = x
    return out

"""Synthetic lab-like tag streams for tests, benchmarks and the docs' figures.

Not a physics model (that lives in ``sim_backends``): just a sorted stream with
Poisson singles, correlated pairs and Gaussian timing jitter, so the analysis and the
file format are exercised on data shaped like a real lab's.
"""

import numpy as np


def lab_stream(
    n_tags,
    *,
    rate_hz=4e6,
    n_channels=8,
    pair_fraction=0.3,
    pair_channels=((1, 2), (3, 4)),
    pair_delay_ps=1000,
    jitter_ps=30,
    seed=0,
):
    """Return a sorted ``(timestamps_ps, channels)`` stream of about `n_tags` tags.

    Parameters
    ----------
    n_tags : int
        Approximate number of tags.
    rate_hz : float
        Total tag rate, all channels together, in Hz.
    n_channels : int
        Channels are numbered 1..n_channels (Swabian style).
    pair_fraction : float
        Fraction of the tags that belong to correlated pairs.
    pair_channels : sequence of (int, int)
        Channel pairs that receive the correlated pairs, equally shared.
    pair_delay_ps : int
        Mean delay of the second tag of a pair after the first, in ps.
    jitter_ps : float
        Gaussian standard deviation of each tag's timing jitter, in ps.
    seed : int
        Seed of the numpy Generator.
    """
    rng = np.random.default_rng(seed)
    n_pairs = int(n_tags * pair_fraction / 2)
    n_single = max(int(n_tags) - 2 * n_pairs, 0)
    duration_ps = n_tags / rate_hz * 1e12
    singles = rng.integers(0, int(duration_ps), n_single, dtype=np.int64)
    single_ch = rng.integers(1, n_channels + 1, n_single).astype(np.int32)
    starts = rng.integers(0, int(duration_ps), n_pairs, dtype=np.int64)
    which = rng.integers(0, len(pair_channels), n_pairs)
    pc = np.asarray(pair_channels, dtype=np.int32)

    def jit(n):
        return np.rint(rng.normal(0, jitter_ps, n)).astype(np.int64)

    first = starts + jit(n_pairs)
    second = starts + pair_delay_ps + jit(n_pairs)
    t = np.concatenate([singles, first, second])
    c = np.concatenate([single_ch, pc[which, 0], pc[which, 1]])
    order = np.argsort(t, kind="stable")
    t = t[order]
    t -= min(t[0], 0) if len(t) else 0
    return t, c[order]

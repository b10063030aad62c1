"""Speed of two-qubit tomography (analysis.entanglement); run by hand.

    python benchmarks/entanglement.py [--quick]

Prints one ``<figure>: <number> <unit>`` line per figure, on one core (BLAS limited to one
thread): the median time of one Poisson maximum-likelihood reconstruction from counts of a
Werner state (V = 0.95, 1000 pairs per setting) for the standard 16 settings and the
overcomplete 36, each followed by the reference figure: the quantum-tomography package
(Kwiat group; James et al. 2001 method, Gaussian likelihood with scipy leastsq) timed the
same way on the same counts; then the wall time of 1000-resample Monte Carlo error bars.
"""

import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from qnetlab.analysis.entanglement import (
    OVERCOMPLETE_36,
    STANDARD_16,
    draw_counts,
    ket,
    maximum_likelihood,
    monte_carlo,
    tomography_data,
    werner_state,
)

QUICK = "--quick" in sys.argv
N_OURS = 50 if QUICK else 300
N_REF = 5 if QUICK else 30


def line(name, value, unit=""):
    print(f"{name}: {value:.4g} {unit}".rstrip(), flush=True)


def median_ms(fn, datasets, repeats=3):
    """Median over datasets of the best of ``repeats`` timings (a busy second core shows as noise)."""
    times = []
    for d in datasets:
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(d)
            best = min(best, time.perf_counter() - t0)
        times.append(best)
    return 1e3 * statistics.median(times)


def reference_mle(sets):
    """The quantum-tomography package's MLE on our counts (None when it is not installed)."""
    try:
        import QuantumTomography as qt
        from QuantumTomography.TomoFunctions import make_positive
    except ImportError:
        return None
    meas = np.array([np.concatenate([ket(s[0]), ket(s[1])]) for s in sets])

    def run(data):
        tomo = qt.Tomography(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tomo_input = tomo.buildTomoInput(meas, data.counts, -1, 0, -1, -1, 0, 0)
            tomo.intensities = np.ones(len(sets))
            tomo.last_input = tomo_input
            coinc, dens, pures, acc, norms = tomo.filter_data(tomo_input)
            start, _ = tomo.tomography_LINEAR(coinc, pures, norms)
            start = make_positive(start.T)
            # the package's StateTomography passes (n, 1) accidentals, which numpy >= 2 rejects
            return tomo.tomography_MLE(start / np.trace(start), coinc, dens, acc.ravel(), norms)[0]

    return run


def main():
    rng = np.random.default_rng(2026)
    rho = werner_state(0.95)
    with threadpool_limits(1, user_api="blas"):
        for name, sets in (("standard16", STANDARD_16), ("overcomplete36", OVERCOMPLETE_36)):
            layout = tomography_data(sets, np.zeros(len(sets)))
            datasets = [draw_counts(rho, layout, 1000, rng) for _ in range(N_OURS)]
            line(f"mle_{name}_ms", median_ms(maximum_likelihood, datasets), "ms")
            ref = reference_mle(sets)
            if ref is not None:
                line(f"reference_quantum_tomography_{name}_ms", median_ms(ref, datasets[:N_REF], repeats=1), "ms")
        layout = tomography_data(STANDARD_16, np.zeros(16))
        data = draw_counts(rho, layout, 1000, rng)
        t0 = time.perf_counter()
        monte_carlo(data, n_resamples=1000, rng=rng)
        line("monte_carlo_1000_resamples_standard16_s", time.perf_counter() - t0, "s")


if __name__ == "__main__":
    main()

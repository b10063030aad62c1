"""Speed and efficiency of QKD post-processing (analysis.qkd); run by hand.

    python benchmarks/qkd.py [--quick] [--wisdom PATH]

``--wisdom PATH`` keeps FFTW's planning knowledge in a file, so the measured
FFTW plans cost their ~25 s only on the first run.

Prints one ``<figure>: <number> <unit>`` line per figure:
* reconciliation (Cascade) rate in sifted bits per second on one core, the
  efficiency f = leaked / (n h(Q)) averaged over 20 blocks and the failure rate
  (blocks whose corrected key differs from Alice's), per QBER, on 1e6-bit blocks
  (and 1e5-bit blocks for the efficiency);
* privacy amplification rate in input bits per second (Toeplitz by FFT), with
  scipy.fft as the reference beside the FFTW figure;
* verification hash rate and the whole distill_block chain.
"""

import sys
import tempfile
import time

import numpy as np

from qnetlab.analysis.qkd import cascade, privacy, verification
from qnetlab.analysis.qkd.estimation import binary_entropy

QUICK = "--quick" in sys.argv
WISDOM = sys.argv[sys.argv.index("--wisdom") + 1] if "--wisdom" in sys.argv else None
BLOCKS = 5 if QUICK else 20


def line(name, value, unit=""):
    print(f"{name}: {value:.4g} {unit}".rstrip(), flush=True)


def reconciliation():
    rng = np.random.default_rng(2026)
    warm = rng.integers(0, 2, 10_000, dtype=np.uint8)
    cascade.reconcile(warm, warm ^ (rng.random(warm.size) < 0.02), 0.02, rng)  # compile
    for q in (0.01, 0.02, 0.03, 0.05):
        for n, label in ((10**6, ""), (10**5, "_n1e5")):
            effs, fails, seconds, trips = [], 0, 0.0, 0
            for _ in range(BLOCKS):
                a = rng.integers(0, 2, n, dtype=np.uint8)
                err = rng.random(n) < q
                b = a ^ err
                t0 = time.perf_counter()
                kb, st = cascade.reconcile(a, b, q, rng)
                seconds += time.perf_counter() - t0
                fails += not np.array_equal(kb, a)
                effs.append(st.leaked_bits / (n * binary_entropy(err.mean())))
                trips += st.round_trips
            line(f"reconciliation_qber_{q}{label}", n * BLOCKS / seconds, "bit/s")
            line(f"efficiency_qber_{q}{label}", float(np.mean(effs)))
            line(f"efficiency_max_qber_{q}{label}", float(np.max(effs)))
            line(f"failure_rate_qber_{q}{label}", fails / BLOCKS)
            line(f"round_trips_qber_{q}{label}", trips / BLOCKS, "per block")
        # reference: "Demystifying" option 7 schedule (k1 = 2^ceil(log2 1/Q), k2 = 4 k1, n/2)
        n = 10**6
        k1 = 2 ** int(np.ceil(np.log2(1 / q)))
        effs, seconds = [], 0.0
        for _ in range(5):
            a = rng.integers(0, 2, n, dtype=np.uint8)
            err = rng.random(n) < q
            t0 = time.perf_counter()
            _, st = cascade.reconcile(a, a ^ err, q, rng, sizes=[k1, 4 * k1] + [n // 2] * 12)
            seconds += time.perf_counter() - t0
            effs.append(st.leaked_bits / (n * binary_entropy(err.mean())))
        line(f"reconciliation_qber_{q}_option7_reference", 5 * n / seconds, "bit/s")
        line(f"efficiency_qber_{q}_option7_reference", float(np.mean(effs)))


def _pa_rate(n, m, reps=5):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    privacy.toeplitz_hash(x, m, 1)
    t0 = time.perf_counter()
    for _ in range(reps):
        privacy.toeplitz_hash(x, m, privacy.new_seed(rng))
    return n * reps / (time.perf_counter() - t0)


def privacy_amplification():
    try:
        import pyfftw  # noqa: F401
    except ImportError:
        print("pyfftw: not installed, the fftw_* figures below use scipy.fft", flush=True)
    for n in (10**6, 10**5):
        m = n // 2
        tag = "" if n == 10**6 else "_n1e5"
        saved = dict(privacy._PLANS)
        privacy._PLANS.clear()
        size = privacy._fft_len(n - m + m - 1)
        privacy._PLANS[size] = None  # force the scipy.fft path
        line(f"privacy_amplification_scipy_fft_reference{tag}", _pa_rate(n, m), "bit/s")
        privacy._PLANS.clear()
        privacy._PLANS.update(saved)
        line(f"privacy_amplification_fftw_estimate{tag}", _pa_rate(n, m), "bit/s")
        t0 = time.perf_counter()
        privacy.prepare(n, m, effort="FFTW_MEASURE", wisdom_file=WISDOM)
        line(f"fftw_measure_planning{tag}", time.perf_counter() - t0, "s (once per length)")
        line(f"privacy_amplification{tag}", _pa_rate(n, m), "bit/s")


def verification_rate():
    rng = np.random.default_rng(3)
    key = rng.integers(0, 2, 10**6, dtype=np.uint8)
    t0 = time.perf_counter()
    for _ in range(5):
        verification.make_tag(key, 1e-15, rng)
    line("verification_hash", 5e6 / (time.perf_counter() - t0), "bit/s")


def distill():
    from qnetlab.analysis.qkd.decoy import Intensities
    from qnetlab.analysis.qkd.distill import DistillParams, distill_block
    from qnetlab.analysis.qkd.keystore import KeyStore
    from qnetlab.analysis.qkd.simulate import bb84_records

    rng = np.random.default_rng(4)
    mu, p = (0.45, 0.2, 2e-4), (0.25, 0.55, 0.2)
    alice, bob = bb84_records(30_000_000, rng, mu=mu, p=p, q_x=0.75, eta=0.2, e_mis=0.01)
    params = DistillParams(Intensities(mu, p))
    with tempfile.TemporaryDirectory() as d:
        store = KeyStore(d)
        t0 = time.perf_counter()
        res = distill_block(alice, bob, params, store, rng)
        dt = time.perf_counter() - t0
    line("distill_block_sifted_key_bits", res.sifted_key_bits, "bit")
    line("distill_block_secret_key_bits", res.length, "bit")
    line("distill_block", res.sifted_key_bits / dt, "sifted bit/s")


if __name__ == "__main__":
    t_all = time.perf_counter()
    reconciliation()
    privacy_amplification()
    verification_rate()
    distill()
    line("benchmark_wall_time", time.perf_counter() - t_all, "s")

"""Speed and efficiency of QKD post-processing (analysis.qkd); run by hand, on one core.

    python benchmarks/qkd.py [--quick] [--wisdom PATH] [--only=distill_chain,reconciliation,privacy_amplification]

Prints one ``<figure>: <number> <unit>`` line per figure (timings are the best
of several repetitions: the machine is shared):

* the whole chain ``distill_block`` on a 30e6-slot polarization block (about
  7.3e5 sifted key bits at 1 % QBER) and each of its stages on the same data,
  in sifted key bits per second; the record construction (validation and
  packing, done once when a record is made) is printed apart;
* Cascade per QBER on 1e6- and 1e5-bit blocks: rate, efficiency
  f = leaked / (n h(Q)), failures, round trips per block; beside them the round
  trips of opening the passes one message each (the same run plus one
  message per pass after the first), the low-round-trip setting
  ``max_batch=0``, bisection only (``syndrome_blocks=0``, the protocol before
  the syndrome tail), each with its efficiency, and the "Demystifying"
  option-7 block-size schedule as a reference;
* privacy amplification (multiply-add-shift by GMP) beside the Toeplitz FFT
  (FFTW estimate plans, and scipy.fft) as references.

``--wisdom PATH`` keeps FFTW's planning knowledge in a file (measured plans
cost ~25 s only on the first run); ``--quick`` skips measured FFTW plans and
uses fewer blocks.
"""

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import sys
import tempfile
import time
import uuid

import numpy as np

from qnetlab.analysis.qkd import cascade, privacy, verification
from qnetlab.analysis.qkd.estimation import binary_entropy

QUICK = "--quick" in sys.argv
WISDOM = sys.argv[sys.argv.index("--wisdom") + 1] if "--wisdom" in sys.argv else None
BLOCKS = 5 if QUICK else 20
REPEATS = 5


def line(name, value, unit="", digits=4):
    print(f"{name}: {value:.{digits}g} {unit}".rstrip(), flush=True)


def best(fn, repeats=REPEATS):
    """Best wall time of ``repeats`` calls (s) and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def distill_chain():
    from qnetlab.analysis.qkd.decoy import Intensities
    from qnetlab.analysis.qkd.distill import DistillParams, distill_block
    from qnetlab.analysis.qkd.keystore import KeyStore
    from qnetlab.analysis.qkd.sifting import AliceRecord, sift
    from qnetlab.analysis.qkd.simulate import bb84_records

    rng = np.random.default_rng(4)
    mu, p = (0.45, 0.2, 2e-4), (0.25, 0.55, 0.2)
    alice, bob = bb84_records(30_000_000, rng, mu=mu, p=p, q_x=0.75, eta=0.2, e_mis=0.01)
    params = DistillParams(Intensities(mu, p))
    dt, _ = best(lambda: AliceRecord(alice.slot, alice.basis, alice.bit, alice.intensity), 2)
    line("alice_record_construction", alice.slot.size / dt, "slot/s (once per record, not in distill_block)")
    with tempfile.TemporaryDirectory() as d:
        store = KeyStore(d)
        distill_block(alice, bob, params, store, rng)  # compile / load the kernels
        dt, res = best(lambda: distill_block(alice, bob, params, store, rng))
        n = res.sifted_key_bits
        line("distill_block_sifted_key_bits", n, "bit")
        line("distill_block_secret_key_bits", res.length, "bit")
        line("distill_block", n / dt, "sifted bit/s (target 2e7)")

        dt, s = best(lambda: sift(alice, bob, rng))
        line("stage_sift", n / dt, "sifted key bit/s")
        dt, (xa, xb, _) = best(lambda: s.select(1))
        line("stage_select_key_basis", n / dt, "sifted key bit/s")
        q = float(np.mean(xa != xb))
        dt, _ = best(lambda: cascade.reconcile(xa, xb, q, np.random.default_rng(1)))
        line("stage_cascade", n / dt, "sifted key bit/s")
        dt, _ = best(lambda: cascade.reconcile(xa, xb, q, np.random.default_rng(1), local=False))
        line("stage_cascade_message_path_reference", n / dt, "sifted key bit/s")
        dt, _ = best(lambda: verification.check_tag(xb, verification.make_tag(xa, 1e-15, rng)))
        line("stage_verification_both_sides", n / dt, "sifted key bit/s")
        m = res.length
        dt, _ = best(lambda: privacy.multiply_add_shift_hash(xa, m, privacy.new_seed(rng)))
        line("stage_privacy_amplification", n / dt, "sifted key bit/s")
        privacy.toeplitz_hash(xa, m, 1)
        dt, _ = best(lambda: privacy.toeplitz_hash(xa, m, privacy.new_seed(rng)))
        line("stage_privacy_amplification_toeplitz_fftw_estimate_reference", n / dt, "sifted key bit/s")
        dt, _ = best(lambda: store.put(uuid.uuid4().hex, np.zeros(m, np.uint8)))
        line("stage_key_store_put", n / dt, "sifted key bit/s")


def reconciliation():
    rng = np.random.default_rng(2026)
    warm = rng.integers(0, 2, 100_000, dtype=np.uint8)
    for q in (0.01, 0.05):  # compile / load every kernel (searches in halves passes too) before timing
        for local in (True, False):
            cascade.reconcile(warm, warm ^ (rng.random(warm.size) < q), q, rng, local=local)
    passes = len(cascade.block_sizes(0.02, 10**6))
    for q in (0.01, 0.02, 0.03, 0.05):
        for n, label in ((10**6, ""), (10**5, "_n1e5")):
            effs, effs_low, effs_bis, fails, seconds, trips, trips_low, trips_bis = [], [], [], 0, 0.0, 0, 0, 0
            for _ in range(BLOCKS):
                a = rng.integers(0, 2, n, dtype=np.uint8)
                err = rng.random(n) < q
                b = a ^ err
                h = n * binary_entropy(err.mean())
                t0 = time.perf_counter()
                kb, st = cascade.reconcile(a, b, q, rng)
                seconds += time.perf_counter() - t0
                fails += not np.array_equal(kb, a)
                effs.append(st.leaked_bits / h)
                trips += st.round_trips
                _, low = cascade.reconcile(a, b, q, rng, max_batch=0)
                effs_low.append(low.leaked_bits / h)
                trips_low += low.round_trips
                _, bis = cascade.reconcile(a, b, q, rng, syndrome_blocks=0)
                effs_bis.append(bis.leaked_bits / h)
                trips_bis += bis.round_trips
            line(f"reconciliation_qber_{q}{label}", n * BLOCKS / seconds, "bit/s")
            line(f"efficiency_qber_{q}{label}", float(np.mean(effs)), digits=5)
            line(f"efficiency_max_qber_{q}{label}", float(np.max(effs)), digits=5)
            line(f"failure_rate_qber_{q}{label}", fails / BLOCKS)
            line(f"round_trips_qber_{q}{label}", trips / BLOCKS, "per block")
            line(f"round_trips_qber_{q}{label}_pass_by_pass_reference", trips / BLOCKS + passes - 1, "per block")
            line(f"round_trips_qber_{q}{label}_max_batch_0", trips_low / BLOCKS, "per block")
            line(f"efficiency_qber_{q}{label}_max_batch_0", float(np.mean(effs_low)), digits=5)
            line(f"round_trips_qber_{q}{label}_bisection_only_reference", trips_bis / BLOCKS, "per block")
            line(f"efficiency_qber_{q}{label}_bisection_only_reference", float(np.mean(effs_bis)), digits=5)
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
        line(f"efficiency_qber_{q}_option7_reference", float(np.mean(effs)), digits=5)


def privacy_amplification():
    rng = np.random.default_rng(1)
    for n in (10**6, 10**5):
        m, tag = n // 2, "" if n == 10**6 else "_n1e5"
        x = rng.integers(0, 2, n, dtype=np.uint8)
        dt, _ = best(lambda: privacy.multiply_add_shift_hash(x, m, privacy.new_seed(rng)))  # noqa: B023
        line(f"privacy_amplification{tag}", n / dt, "bit/s")
        saved = dict(privacy._PLANS)
        privacy._PLANS.clear()
        privacy._PLANS[privacy._fft_len(n - 1)] = None  # force the scipy.fft path
        dt, _ = best(lambda: privacy.toeplitz_hash(x, m, privacy.new_seed(rng)))  # noqa: B023
        line(f"privacy_amplification_toeplitz_scipy_fft_reference{tag}", n / dt, "bit/s")
        privacy._PLANS.clear()
        privacy._PLANS.update(saved)
        privacy.toeplitz_hash(x, m, 1)
        dt, _ = best(lambda: privacy.toeplitz_hash(x, m, privacy.new_seed(rng)))  # noqa: B023
        line(f"privacy_amplification_toeplitz_fftw_estimate_reference{tag}", n / dt, "bit/s")
        if not QUICK:
            t0 = time.perf_counter()
            privacy.prepare(n, m, effort="FFTW_MEASURE", wisdom_file=WISDOM)
            line(f"fftw_measure_planning{tag}", time.perf_counter() - t0, "s (once per length)")
            dt, _ = best(lambda: privacy.toeplitz_hash(x, m, privacy.new_seed(rng)))  # noqa: B023
            line(f"privacy_amplification_toeplitz_fftw_measure_reference{tag}", n / dt, "bit/s")


if __name__ == "__main__":
    t_all = time.perf_counter()
    parts = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
    for name in ("distill_chain", "reconciliation", "privacy_amplification"):
        if not parts or name in parts[0].split(","):
            globals()[name]()
    line("benchmark_wall_time", time.perf_counter() - t_all, "s")

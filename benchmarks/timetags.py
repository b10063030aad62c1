"""Speed of the time-tag engine on one core: prints ``<figure>: <number> <unit>`` lines.

Run: ``python benchmarks/timetags.py [--tags 20000000]``. The stream is a synthetic lab
stream (8 channels, 4 MHz total, 30 % of the tags in correlated pairs on channels 1-2
and 3-4, 30 ps jitter). Each figure is the best of a few repeats, numba warmed up.
"""

import argparse
import os
import tempfile
import time

import numpy as np

from qnetlab.analysis.timetags import (
    CoincidenceCounter,
    CorrelationCounter,
    TagFileWriter,
    _kernels,
    correlation_histogram,
    count_coincidences,
    iter_tags,
    read_tags,
)
from qnetlab.analysis.timetags._synthetic import lab_stream

WINDOW_PS = 1000
DELAYS_PS = {1: 1000}
BIN_PS, N_BINS = 10, 1000
CHUNK = 1 << 20


def best_time(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def numpy_coincidences(t, c):
    a = t[c == 1] + DELAYS_PS[1]
    b = t[c == 2]
    return int((np.searchsorted(b, a + WINDOW_PS, "right") - np.searchsorted(b, a - WINDOW_PS, "left")).sum())


def numpy_correlation(t, c):
    a = t[c == 1] + DELAYS_PS[1]
    b = t[c == 2]
    start = -(N_BINS * BIN_PS) // 2
    lo = np.searchsorted(b, a + start, "left")
    hi = np.searchsorted(b, a + start + N_BINS * BIN_PS, "left")
    hist = np.zeros(N_BINS, np.int64)
    k = 0
    while True:
        live = lo + k < hi
        if not live.any():
            return hist
        idx = lo[live] + k
        hist += np.bincount((b[idx] - a[live] - start) // BIN_PS, minlength=N_BINS)
        k += 1


def chunked(counter, t, c):
    for lo in range(0, len(t), CHUNK):
        counter.process(t[lo : lo + CHUNK], c[lo : lo + CHUNK])
    return counter.result()


def line(name, value, unit, extra=""):
    print(f"{name}: {value:.3g} {unit}{extra}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=20_000_000)
    n_tags = parser.parse_args().tags
    t, c = lab_stream(n_tags, rate_hz=4e6)
    n = len(t)
    print(
        f"# stream: {n} tags, 8 channels, 4 MHz, pairs on 1-2 and 3-4; "
        f"coincidence window {WINDOW_PS} ps; histogram {N_BINS} x {BIN_PS} ps; "
        f"chunks of {CHUNK} tags"
    )
    count_coincidences(t[:1000], c[:1000], (1, 2), WINDOW_PS, DELAYS_PS)  # warm up
    correlation_histogram(t[:1000], c[:1000], 1, 2, BIN_PS, N_BINS, DELAYS_PS)
    count_coincidences(t[:1000], c[:1000], (1, 2, 3), WINDOW_PS, DELAYS_PS)
    _kernels.memory_read(t[:1000], c[:1000])

    dt, _ = best_time(lambda: _kernels.memory_read(t, c), 5)
    rate = n * 12 / dt
    line("memory_read", rate, "bytes/s", f" (= {rate / 12:.3g} tags/s at 12 bytes/tag)")

    dt, ref = best_time(lambda: numpy_coincidences(t, c))
    ref_rate = n / dt
    dt, got = best_time(lambda: count_coincidences(t, c, (1, 2), WINDOW_PS, DELAYS_PS))
    assert got == ref, (got, ref)
    line(
        "coincidences",
        n / dt,
        "tags/s",
        f" (numpy searchsorted: {ref_rate:.3g} tags/s; {n / dt * 12 / rate:.0%} of memory_read)",
    )
    dt, _got3 = best_time(lambda: count_coincidences(t, c, (1, 2, 3), WINDOW_PS, DELAYS_PS))
    line("coincidences_3fold", n / dt, "tags/s")
    dt, got_c = best_time(lambda: chunked(CoincidenceCounter((1, 2), WINDOW_PS, DELAYS_PS), t, c))
    assert got_c == got
    line("coincidences_chunked", n / dt, "tags/s")

    small = slice(0, min(n, 4_000_000))
    dt, ref_h = best_time(lambda: numpy_correlation(t[small], c[small]), 1)
    ref_rate = len(t[small]) / dt
    dt, hist = best_time(lambda: correlation_histogram(t, c, 1, 2, BIN_PS, N_BINS, DELAYS_PS))
    assert np.array_equal(correlation_histogram(t[small], c[small], 1, 2, BIN_PS, N_BINS, DELAYS_PS), ref_h)
    line("correlation", n / dt, "tags/s", f" (numpy searchsorted+bincount: {ref_rate:.3g} tags/s)")
    dt, hist_c = best_time(lambda: chunked(CorrelationCounter(1, 2, BIN_PS, N_BINS, DELAYS_PS), t, c))
    assert np.array_equal(hist_c, hist)
    line("correlation_chunked", n / dt, "tags/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tags.h5")

        def write():
            with TagFileWriter(path) as w:
                for lo in range(0, n, CHUNK):
                    w.append(t[lo : lo + CHUNK], c[lo : lo + CHUNK])

        dt, _ = best_time(write)
        line("tagfile_write", n / dt, "tags/s", f" (appends of {CHUNK} tags, flushed each)")
        line("tagfile_size", os.path.getsize(path) / n, "bytes/tag", " (4 MHz)")
        dt, (t2, c2) = best_time(lambda: read_tags(path))
        assert np.array_equal(t2, t) and np.array_equal(c2, c)
        line("tagfile_read", n / dt, "tags/s")
        dt, _ = best_time(lambda: sum(len(x) for x, _ in iter_tags(path)))
        line("tagfile_iter", n / dt, "tags/s")
        for rate_hz in (1e6, 10e6):
            ts, cs = lab_stream(min(n, 5_000_000), rate_hz=rate_hz, seed=1)
            with TagFileWriter(path) as w:
                for lo in range(0, len(ts), CHUNK):
                    w.append(ts[lo : lo + CHUNK], cs[lo : lo + CHUNK])
            line(f"tagfile_size_{rate_hz / 1e6:g}MHz", os.path.getsize(path) / len(ts), "bytes/tag")


if __name__ == "__main__":
    main()

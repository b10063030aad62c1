"""Polarization compensation on the simulated bench: measurements, simulated time, solver speed.

Run: ``python benchmarks/calibration.py [n_drifts] [--plots DIR]``. Prints one line per figure;
the reference figures are the papers' (Optics Express 28, 5035 (2020): two QBER estimations
and three rotations at most; Applied Sciences 2026, 2568: 2-3 iterations on average).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analysis" / "calibration"))

from sim_bench import PolarizationBench

from qnetlab.analysis.calibration.compensation import PolarizationCompensator
from qnetlab.analysis.calibration.paddles import PaddleModel


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 50
    plots = Path(sys.argv[sys.argv.index("--plots") + 1]) if "--plots" in sys.argv else None
    model = PaddleModel()
    rounds, sim_s, before, after, solve_s = [], [], [], [], 0.0
    last = None
    for seed in range(n):
        bench = PolarizationBench(seed)
        comp = PolarizationCompensator(model, bench.angles())
        start = time.perf_counter()
        while (angles := comp.ask()) is not None:
            counts = bench.measure(angles)
            t0 = time.perf_counter()
            comp.tell(counts)
            solve_s += time.perf_counter() - t0
        result = comp.result
        rounds.append(result.measurements)
        sim_s.append(bench.simulated_s)
        before.append(result.qber_before)
        after.append(bench.true_qber())
        last = result
        del start
    rounds_a, after_a = np.array(rounds), np.array(after)
    print(f"drifts: {n} count")
    print(f"converged below 1.5% in both bases: {np.mean(after_a.max(axis=1) < 0.015) * 100:.1f} %")
    print(f"measurement rounds mean: {rounds_a.mean():.2f} rounds (reference: 2-3 iterations, Appl. Sci. 2026)")
    print(f"measurement rounds max: {rounds_a.max()} rounds (reference: 2 QBER estimations + 3 rotations, OE 2020)")
    print(f"simulated time per compensation mean: {np.mean(sim_s):.2f} s (5 ms/round + paddle travel at 200 deg/s)")
    print(f"QBER after (world, worst basis) mean: {after_a.max(axis=1).mean() * 100:.3f} % (floor 1.000 %)")
    print(f"computation per compensation: {solve_s / n * 1e3:.0f} ms")
    if plots is not None and last is not None:
        from qnetlab.analysis.calibration.plots import qber_before_after_figure, qber_rounds_figure

        plots.mkdir(parents=True, exist_ok=True)
        qber_rounds_figure(last.rounds, 0.015, 0.01).savefig(plots / "qber_rounds.png", dpi=110)
        qber_before_after_figure(before[:24], after[:24], 0.015).savefig(plots / "qber_before_after.png", dpi=110)


if __name__ == "__main__":
    main()

"""Time of the nightly job on the sim lab, per step: ``python benchmarks/nightly.py [--nightly FILE]``.

Prints one line per figure, ``<figure>: <number> <unit>``: the session start-up, each
step (wall time of its runs, retries included), the report, and the whole job beside
its budget (3 minutes on the 2-core lab machine). The default nightly config is
config/nightly.yaml; its steps need the calibration plans of qnetlab.plans.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_S = 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config" / "sim_lab.yaml")
    parser.add_argument("--nightly", type=Path, default=REPO / "config" / "nightly.yaml")
    parser.add_argument("--drift-hours", type=float, default=None)
    parser.add_argument("--path", action="append", default=[], help="extra sys.path entry (for module:function plans)")
    options = parser.parse_args()
    sys.path[:0] = options.path

    from qnetlab import session
    from qnetlab.nightly.config import load_nightly_config
    from qnetlab.nightly.job import run_job
    from qnetlab.nightly.report import write_report
    from qnetlab.nightly.suspenders import LabHealthWatch

    nightly = load_nightly_config(options.nightly)
    with tempfile.TemporaryDirectory() as data:
        began = time.perf_counter()
        with session.start(options.config, data_dir=data, live_table=False, progress=False) as s:
            print(f"session start: {time.perf_counter() - began:.1f} s")
            watch = LabHealthWatch(s.lab, s.RE)
            watch.install()
            try:
                job = run_job(s, nightly, drift_hours=options.drift_hours, watch=watch)
            finally:
                watch.close()
            for step in job.steps:
                print(f"step {step.name} ({step.status}): {step.duration_s:.1f} s")
            at = time.perf_counter()
            write_report(job, s.catalog, Path(data) / "reports")
            print(f"report: {time.perf_counter() - at:.1f} s")
        print(f"nightly job total: {time.perf_counter() - began:.1f} s (budget {BUDGET_S:.0f} s)")


if __name__ == "__main__":
    main()

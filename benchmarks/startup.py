"""Start-up cost of the command line: each phase of a 1 s count-rate run, and `qnetlab runs`.

Usage: PYTHONPATH=. python benchmarks/startup.py [--config config/sim_lab.yaml]

Phases run in this process in the order the CLI runs them (imports, lab start, catalog
open, run, close); the totals are separate processes timed end to end, on an existing
data directory (the catalog is created once, in the first run). The machine's load
average is printed beside the figures: on a shared machine they scale with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config" / "sim_lab.yaml"


def _timed(label: str, start: float) -> float:
    now = time.perf_counter()
    print(f"{label}: {now - start:.2f} s")
    return now


def phases(data_dir: Path, config: Path) -> None:
    t = time.perf_counter()
    import bluesky  # noqa: F401
    import tiled.catalog
    import tiled.server.app  # noqa: F401

    from qnetlab import plans
    from qnetlab.instruments import load_lab

    t = _timed("imports", t)
    lab = load_lab(config)
    t = _timed("lab start", t)
    from bluesky import RunEngine

    from qnetlab._run_liveness import CatalogWriter
    from qnetlab.catalog import open_catalog

    catalog = open_catalog(data_dir)
    t = _timed("catalog open", t)
    RE = RunEngine({})
    writer = CatalogWriter(catalog, data_dir)
    RE.subscribe(writer)
    RE(plans.count_rates(lab.tagger, duration_s=1.0))
    t = _timed("run (1 s count_rates)", t)
    lab.close()
    writer.close()
    _timed("close", t)


def end_to_end(data_dir: Path, config: Path) -> None:
    cli = [sys.executable, "-c", "from qnetlab.cli import main; main()"]
    for label, args in [
        ("qnetlab run count_rates --duration 1 (end to end)", ["run", "count_rates", "--duration", "1", "-q"]),
        ("qnetlab runs (end to end)", ["runs"]),
    ]:
        start = time.perf_counter()
        command = [*cli, *args, "--config", str(config), "--data-dir", str(data_dir)]
        subprocess.run(command, check=True, capture_output=True)
        print(f"{label}: {time.perf_counter() - start:.2f} s")


def load_average() -> None:
    one, five, _ = os.getloadavg()
    print(f"load average (1 min): {one:.2f} on {os.cpu_count()} cores (5 min: {five:.2f})")


if __name__ == "__main__":
    load_average()
    config = Path(sys.argv[sys.argv.index("--config") + 1]) if "--config" in sys.argv else CONFIG
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        phases(data_dir, config)
        end_to_end(data_dir, config)
    load_average()
    print("targets: qnetlab runs < 2 s, a 1 s count-rate run < 5 s (quiet machine)")

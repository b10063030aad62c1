"""Start-up cost of the command line: each phase of a 1 s count-rate run, and `qnetlab runs`.

Usage: PYTHONPATH=. python benchmarks/startup.py [--config config/sim_lab.yaml]

Phases run in this process in the order and the way ``qnetlab run`` runs them: the catalog
process is started first (it imports Tiled and opens the catalog on the other core), then
the imports, the lab start and the run here (its documents wait in the pipe); "catalog
flush" is what is left of the catalog's opening and writing once the lab is closed. The
totals are separate processes timed end to end, on an existing data directory (the catalog
is created once, in the first run). The machine's load average is printed beside the
figures: on a shared machine they scale with it. The reference line is the same run with
the catalog opened in this process, one phase after the other (how every command ran
before the catalog process).
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
    began = t = time.perf_counter()
    from qnetlab._catalog_process import CatalogProcess

    child = CatalogProcess(data_dir)
    t = _timed("catalog process start", t)
    from bluesky import RunEngine

    from qnetlab import plans
    from qnetlab.instruments import load_lab

    t = _timed("imports", t)
    lab = load_lab(config)
    t = _timed("lab start", t)
    from qnetlab.catalog import newest_scan_id

    RE = RunEngine({"scan_id": newest_scan_id(data_dir)})  # the run does not wait for the catalog
    RE.subscribe(child)
    RE(plans.count_rates(lab.tagger, duration_s=1.0))
    t = _timed("run (1 s count_rates)", t)
    lab.close()
    t = _timed("lab close", t)
    child.flush()
    t = _timed("catalog flush (its opening and writes beyond the run and the close)", t)
    child.close()
    _timed("catalog process end", t)
    _timed("all phases", began)


def phases_in_one_process(data_dir: Path, config: Path) -> None:
    """The reference: the catalog opened and written in this process (run in a fresh interpreter)."""
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from pathlib import Path\n"
        "from bluesky import RunEngine\n"
        "from qnetlab import plans\n"
        "from qnetlab.instruments import load_lab\n"
        "from qnetlab._run_liveness import CatalogWriter\n"
        "from qnetlab.catalog import open_catalog\n"
        "lab = load_lab(sys.argv[2]); d = Path(sys.argv[1]); catalog = open_catalog(d)\n"
        "RE = RunEngine({}); writer = CatalogWriter(catalog, d); RE.subscribe(writer)\n"
        "RE(plans.count_rates(lab.tagger, duration_s=1.0)); lab.close(); writer.close()\n"
        "print(f'{time.perf_counter() - t:.2f}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(data_dir), str(config)], capture_output=True, text=True)
    print(f"reference, catalog in the same process, phase after phase: {done.stdout.strip()} s")


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
        phases_in_one_process(data_dir, config)
        end_to_end(data_dir, config)
    load_average()
    print("targets: qnetlab runs < 2 s, a 1 s count-rate run < 5 s (quiet machine)")

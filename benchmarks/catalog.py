"""Catalog write and read speed, embedded (SQLite in-process) beside served (Tiled on PostgreSQL).

Run: ``python benchmarks/catalog.py [--runs 20] [--events 50]``. Each run is a bluesky ``count``
of ophyd's simulated detector (no lab, so the figures are the catalog's), written through
TiledWriter; then each run's primary stream is read back. Prints, for each catalog,
``runs written``, ``events written`` and ``read latency`` (median over the runs). The served
catalog starts its own PostgreSQL (system binaries) and Tiled server on loopback.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _measure(catalog, runs: int, events: int) -> dict:
    from bluesky import RunEngine
    from bluesky.callbacks.tiled_writer import TiledWriter
    from bluesky.plans import count
    from ophyd.sim import det

    RE = RunEngine()
    RE.subscribe(TiledWriter(catalog))
    RE(count([det], num=1))  # warm up: tables and containers exist
    start = time.perf_counter()
    uids = [RE(count([det], num=events))[0] for _ in range(runs)]
    elapsed = time.perf_counter() - start
    reads = []
    for uid in uids:
        t0 = time.perf_counter()
        table = catalog[uid]["primary"].read()
        reads.append(time.perf_counter() - t0)
        assert len(table["det"]) == events
    return {"runs/s": runs / elapsed, "events/s": runs * events / elapsed, "read_ms": 1e3 * statistics.median(reads)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()

    from qnetlab.catalog import open_catalog
    from qnetlab.served.catalog_server import new_api_key, start_catalog_server
    from qnetlab.served.postgres import start_postgres

    with tempfile.TemporaryDirectory(prefix="qnetlab-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # the PostgreSQL user (when run by root) must reach its cluster
        figures = {"embedded": _measure(open_catalog(root / "embedded"), args.runs, args.events)}
        with start_postgres(root / "pg") as cluster:
            key = new_api_key()
            server = start_catalog_server(cluster.url(), root / "served", api_key=key)
            try:
                served = open_catalog(uri=f"http://127.0.0.1:{server.port}", api_key=key)
                figures["served"] = _measure(served, args.runs, args.events)
            finally:
                server.stop()
    for name in ("runs/s", "events/s"):
        unit = name.split("/")[0]
        for where, values in figures.items():
            print(f"{unit} written ({where}): {values[name]:.3g} {name}")
    for where, values in figures.items():
        print(f"read latency ({where}, {args.events} events): {values['read_ms']:.3g} ms")


if __name__ == "__main__":
    main()

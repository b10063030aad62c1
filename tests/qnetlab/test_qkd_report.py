"""QKD day report: its table, totals and figures agree with what the runs recorded in the catalog."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
import pytest
from bluesky import RunEngine
from ophyd import Signal
from typer.testing import CliRunner

from qnetlab.catalog import open_catalog
from qnetlab.qkd_report import day_runs, write_day_report

KEYS = ["block", "qber_x", "qber_z", "sifted_key_bits", "key_bits", "accepted", "suspended", "sifted_rate_hz",
        "secret_rate_hz"]  # fmt: skip
RUNS = {  # per run: blocks (qber_x, qber_z, sifted bits, key bits, suspended)
    "polarization": [(0.021, 0.022, 100_000, 8_000, False), (0.072, 0.070, 100_000, 0, True),
                     (0.020, 0.021, 100_000, 7_900, False)],
    "time-bin": [(0.018, 0.006, 50_000, 0, False), (0.019, 0.005, 50_000, 3_000, False)],
}  # fmt: skip


def qkd_run(encoding: str, blocks):
    signals = {k: Signal(name=k, value=0) for k in KEYS}
    action = Signal(name="monitor_action", value="")
    reason, when = Signal(name="monitor_reason", value=""), Signal(name="monitor_time", value=0.0)
    md = {"plan_name": "bb84", "plan_args": {"encoding": encoding, "link": "alice-bob", "qber_abort": 0.11}}

    @bpp.run_decorator(md=md)
    def inner():
        for i, (qx, qz, sifted, key, held) in enumerate(blocks):
            yield from bps.sleep(0.1 * (i + 1))  # uneven wall intervals between blocks
            values = [i, qx, qz, sifted, key, key > 0, held, sifted / 0.05, key / 0.05]
            for k, v in zip(KEYS, values, strict=True):
                signals[k].put(v)
            yield from bps.trigger_and_read(list(signals.values()), name="blocks")
            if held:
                for a in ("suspend", "resume"):
                    action.put(a)
                    reason.put(f"{a} reason")
                    when.put(datetime.now().timestamp())
                    yield from bps.trigger_and_read([action, reason, when], name="monitor")
        yield from bps.sleep(0.2)  # after the last block: no key output

    return (yield from inner())


@pytest.fixture(scope="module")
def day_catalog(tmp_path_factory):
    from qnetlab._run_liveness import CatalogWriter

    data = tmp_path_factory.mktemp("data")
    catalog = open_catalog(data)
    RE = RunEngine({})
    RE.subscribe(CatalogWriter(catalog, data))
    docs: dict[str, dict] = {}

    def keep(name, doc):  # the documents as emitted: the test's own reference
        if name == "start":
            docs[doc["uid"]] = {"start": doc["time"], "events": [], "scan": doc["scan_id"]}
        elif name == "descriptor":
            docs[doc["run_start"]].setdefault("streams", {})[doc["uid"]] = doc["name"]
        elif name == "event":
            for run in docs.values():
                if run.get("streams", {}).get(doc["descriptor"]) == "blocks":
                    run["events"].append(doc["time"])
        elif name == "stop":
            docs[doc["run_start"]]["stop"] = doc["time"]

    RE.subscribe(keep)
    uids = {encoding: RE(qkd_run(encoding, blocks))[0] for encoding, blocks in RUNS.items()}

    @bpp.run_decorator(md={"plan_name": "count"})
    def other():
        yield from bps.trigger_and_read([Signal(name="x", value=1)])

    RE(other())
    return data, catalog, uids, docs


def _expected_availability(doc, blocks) -> tuple[float, float]:
    edges = np.array([doc["start"], *doc["events"]])
    keyed = sum(dt for dt, b in zip(np.diff(edges), blocks, strict=True) if b[3] > 0)
    return keyed, doc["stop"] - doc["start"]


def test_day_report_numbers_match_the_catalog(day_catalog, tmp_path):
    _, catalog, uids, docs = day_catalog
    today = date.today()
    runs = day_runs(catalog, today)
    assert [r.uid for r in runs] == list(uids.values())  # the QKD runs only, oldest first
    assert day_runs(catalog, today - timedelta(days=1)) == []
    page = write_day_report(catalog, today, tmp_path).read_text()
    keyed_total = wall_total = 0.0
    for encoding, uid in uids.items():
        blocks = RUNS[encoding]
        row = re.search(rf'<tr data-run="{uid}">(.*?)</tr>', page).group(1)
        cells = re.findall(r"<td>(.*?)</td>", row)
        keyed, wall = _expected_availability(docs[uid], blocks)
        keyed_total, wall_total = keyed_total + keyed, wall_total + wall
        sifted = np.array([b[2] for b in blocks], float)
        assert cells[4] == encoding and cells[6] == "success"
        assert int(cells[7]) == len(blocks) and int(cells[8]) == sum(b[3] > 0 for b in blocks)
        assert int(cells[9]) == sum(b[4] for b in blocks)
        assert float(cells[10]) == pytest.approx(np.average([b[0] for b in blocks], weights=sifted), rel=1e-5)
        assert float(cells[11]) == pytest.approx(np.average([b[1] for b in blocks], weights=sifted), rel=1e-5)
        assert int(cells[12]) == sifted.sum() and int(cells[13]) == sum(b[3] for b in blocks)
        assert float(cells[14]) == pytest.approx(sum(b[3] for b in blocks) / wall, rel=1e-4)
        assert float(cells[15]) == pytest.approx(keyed / wall, rel=1e-4)
        assert 0 < keyed / wall < 1
    totals = re.search(r'id="totals">(.*?)</p>', page).group(1)
    assert f"{100 * keyed_total / wall_total:.1f} % of run time" in totals
    assert f"{sum(b[3] for bs in RUNS.values() for b in bs)} secret bits" in totals
    assert page.count("<img") == 3 and "suspend (suspend reason)" in page


def test_report_command_writes_the_day(day_catalog, tmp_path):
    from qnetlab.cli import app

    data, _, uids, _ = day_catalog
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["report", "qkd", "--day", date.today().isoformat(), "--data-dir", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = (out / f"qkd-{date.today().isoformat()}.html").read_text()
    assert all(uid in page for uid in uids.values())
    bad = CliRunner().invoke(app, ["report", "qkd", "--day", "2026-13-01", "--data-dir", str(data)])
    assert bad.exit_code == 2 and "2026-13-01" in bad.output

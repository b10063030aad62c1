"""The QKD day report: every bb84/bbm92 run of one day read back from the catalog, as one HTML file.

Per run (a table row): time, encoding, link, exit status, blocks (with key, suspended by
the QBER monitor), QBER of each basis (weighted by the block's sifted bits), sifted and
secret bits, the mean secret key rate over the run's wall time, and the availability.
Figures (PNG, embedded): QBER per basis per block, sifted and secret key rate per block
(bit/s of light, as stream ``blocks`` records them), availability per run and for the day.

**Availability** is the fraction of wall time with key output: block *i* of a run stands
for the wall time since the previous block's event (the first, since the run started),
and that time counts when the block gave key; the time after the last block does not. The
day's figure sums this over the runs and divides by their wall time; the operating
window's (first start to last stop) counts the gaps between runs as time without key.
The HTML and PNG helpers are the nightly report's (:mod:`qnetlab.nightly.report`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

QKD_PLANS = ("bb84", "bbm92")


@dataclass
class RunSummary:
    """One QKD run's figures, all from its start/stop documents and streams ``blocks`` and ``monitor``."""

    uid: str
    scan_id: int
    plan: str
    encoding: str
    link: str
    exit_status: str
    start: float  # epoch s
    stop: float
    block_time: np.ndarray  # epoch s of each block's event
    qber_x: np.ndarray
    qber_z: np.ndarray
    sifted_bits: np.ndarray
    key_bits: np.ndarray
    accepted: np.ndarray
    suspended: np.ndarray
    sifted_rate_hz: np.ndarray
    secret_rate_hz: np.ndarray
    monitor: list[tuple[float, str, str]]  # (epoch s, action, reason)

    @property
    def wall_s(self) -> float:
        return max(self.stop - self.start, 0.0)

    @property
    def key_output_s(self) -> float:
        """Wall time (s) covered by blocks that gave key (see the module docstring)."""
        edges = np.concatenate([[self.start], self.block_time])
        return float(np.sum(np.diff(edges)[self.accepted]))

    @property
    def availability(self) -> float:
        return self.key_output_s / self.wall_s if self.wall_s > 0 else 0.0

    def mean_qber(self, basis: str) -> float:
        """QBER of ``basis`` ("x" or "z") over the run's blocks, weighted by sifted key bits."""
        values = self.qber_x if basis == "x" else self.qber_z
        ok = np.isfinite(values) & (self.sifted_bits > 0)
        return float(np.average(values[ok], weights=self.sifted_bits[ok])) if ok.any() else float("nan")


def day_bounds(day: date) -> tuple[float, float]:
    """Epoch seconds of local midnight at the start and end of ``day``."""
    begin = datetime.combine(day, time())
    return begin.timestamp(), (begin + timedelta(days=1)).timestamp()


def _column(table: Any, name: str, default: float = np.nan) -> np.ndarray:
    return table[name].to_numpy() if name in table.columns else np.full(len(table), default)


def summarize(run: Any) -> RunSummary:
    """The :class:`RunSummary` of one catalog run."""
    from qnetlab.catalog import run_table

    start, stop = run.metadata["start"], run.metadata.get("stop") or {}
    args = start.get("plan_args", {})
    empty = np.zeros(0)
    if "blocks" in run:
        blocks = run_table(run, "blocks").reset_index()
        when = blocks["time"]
        times = when.astype("int64").to_numpy() / 1e9 if hasattr(when, "dt") else when.to_numpy(float)
        arrays = dict(
            block_time=times,
            qber_x=_column(blocks, "qber_x").astype(float),
            qber_z=_column(blocks, "qber_z").astype(float),
            sifted_bits=_column(blocks, "sifted_key_bits", 0).astype(float),
            key_bits=_column(blocks, "key_bits", 0).astype(float),
            accepted=_column(blocks, "accepted", False).astype(bool),
            suspended=_column(blocks, "suspended", False).astype(bool),
            sifted_rate_hz=_column(blocks, "sifted_rate_hz").astype(float),
            secret_rate_hz=_column(blocks, "secret_rate_hz").astype(float),
        )
    else:  # a run that stopped before its first block
        arrays = {k: empty.astype(bool) if k in ("accepted", "suspended") else empty for k in _ARRAYS}
    monitor = []
    if "monitor" in run:
        events = run_table(run, "monitor")
        monitor = [
            (float(t), str(a), str(r))
            for t, a, r in zip(events["monitor_time"], events["monitor_action"], events["monitor_reason"], strict=True)
        ]
    return RunSummary(
        uid=start["uid"],
        scan_id=int(start.get("scan_id", 0)),
        plan=start.get("plan_name", ""),
        encoding=args.get("encoding", ""),
        link=args.get("link", ""),
        exit_status=stop.get("exit_status", "running"),
        start=float(start["time"]),
        stop=float(stop.get("time", start["time"])),
        monitor=monitor,
        **arrays,
    )


_ARRAYS = (
    "block_time",
    "qber_x",
    "qber_z",
    "sifted_bits",
    "key_bits",
    "accepted",
    "suspended",
    "sifted_rate_hz",
    "secret_rate_hz",
)


def day_runs(catalog: Any, day: date) -> list[RunSummary]:
    """The QKD runs that started on ``day`` (local time), oldest first."""
    from tiled.queries import In, Key

    begin, end = day_bounds(day)
    found = catalog.search(In("start.plan_name", list(QKD_PLANS)))
    found = found.search(Key("start.time") >= begin).search(Key("start.time") < end)
    return sorted((summarize(found[uid]) for uid in list(found)), key=lambda r: r.start)


def day_totals(runs: list[RunSummary]) -> dict[str, float]:
    """The day's figures: runs, blocks, bits, availability during runs and over the operating window."""
    wall = sum(r.wall_s for r in runs)
    keyed = sum(r.key_output_s for r in runs)
    window = (max(r.stop for r in runs) - min(r.start for r in runs)) if runs else 0.0
    return {
        "runs": len(runs),
        "blocks": sum(len(r.accepted) for r in runs),
        "blocks_with_key": sum(int(r.accepted.sum()) for r in runs),
        "suspended_blocks": sum(int(r.suspended.sum()) for r in runs),
        "sifted_bits": sum(float(r.sifted_bits.sum()) for r in runs),
        "secret_bits": sum(float(r.key_bits[r.accepted].sum()) for r in runs),
        "wall_s": wall,
        "availability": keyed / wall if wall > 0 else 0.0,
        "availability_window": keyed / window if window > 0 else 0.0,
    }


def _clock(epoch: np.ndarray) -> np.ndarray:
    return np.array([datetime.fromtimestamp(float(t)) for t in epoch], dtype="datetime64[ms]")


def _time_axis(ax) -> None:
    from matplotlib.dates import DateFormatter

    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))
    ax.grid(True, alpha=0.3)


def qber_figure(runs: list[RunSummary]):
    """QBER per basis of every block of the day against the time of day."""
    from qnetlab.nightly.report_figures import _figure

    fig = _figure(7.0, 3.4)
    ax = fig.add_subplot()
    for basis, marker, colour in (("x", "o", "C0"), ("z", "s", "C1")):
        for k, r in enumerate(runs):
            values = r.qber_x if basis == "x" else r.qber_z
            label = f"{basis.upper()} ({'key' if basis == 'x' else 'test'} basis)" if k == 0 else None
            ax.plot(_clock(r.block_time), values, marker + "-", color=colour, ms=3, lw=0.8, label=label)
            held = r.suspended
            if held.any():
                ax.plot(_clock(r.block_time[held]), values[held], "x", color="C3", ms=7)
    ax.plot([], [], "x", color="C3", label="block while suspended")
    ax.set(xlabel="time of day", ylabel="QBER", title="QBER per block")
    ax.legend(fontsize=7, loc="best")
    _time_axis(ax)
    return fig


def rate_figure(runs: list[RunSummary]):
    """Sifted and secret key rate of every block (bit/s of light) against the time of day, log scale."""
    from qnetlab.nightly.report_figures import _figure

    fig = _figure(7.0, 3.4)
    ax = fig.add_subplot()
    for k, r in enumerate(runs):
        secret = np.where(r.accepted & (r.secret_rate_hz > 0), r.secret_rate_hz, np.nan)
        ax.plot(
            _clock(r.block_time), r.sifted_rate_hz, "o-", color="C2", ms=3, lw=0.8, label="sifted" if k == 0 else None
        )
        ax.plot(_clock(r.block_time), secret, "o-", color="C4", ms=3, lw=0.8, label="secret" if k == 0 else None)
    ax.set(xlabel="time of day", ylabel="key rate (bit/s of light)", yscale="log")
    ax.set_title("sifted and secret key rate per block (no point: no key)")
    ax.legend(fontsize=7, loc="best")
    _time_axis(ax)
    return fig


def availability_figure(runs: list[RunSummary], totals: dict[str, float]):
    """Availability of each run and of the day (bars, percent)."""
    from qnetlab.nightly.report_figures import _figure

    fig = _figure(max(4.0, 0.6 * len(runs) + 2.5), 3.0)
    ax = fig.add_subplot()
    names = [f"#{r.scan_id}" for r in runs] + ["day (runs)", "window"]
    values = [100 * r.availability for r in runs] + [100 * totals["availability"], 100 * totals["availability_window"]]
    ax.bar(range(len(values)), values, color=["C0"] * len(runs) + ["C2", "C7"])
    ax.set_xticks(range(len(values)), names, fontsize=8)
    ax.set(ylabel="wall time with key output (%)", ylim=(0, 100), title="availability per run (scan id) and day")
    ax.set_xlabel("window: first start to last stop, gaps between runs included", fontsize=8)
    return fig


def render_day_report(day: date, runs: list[RunSummary]) -> str:
    """The report of ``day``'s QKD runs as one HTML string."""
    from qnetlab.nightly.report import STYLE, _img, _number
    from qnetlab.nightly.report_figures import png

    totals = day_totals(runs)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>qnetlab QKD {day}</title>",
        f"<style>{STYLE}</style></head><body><h1>QKD runs of {day}</h1>",
        f'<p class="verdict" id="totals">{totals["runs"]} run(s), {int(totals["blocks_with_key"])} of '
        f"{int(totals['blocks'])} blocks with key, {int(totals['secret_bits'])} secret bits, availability "
        f"{100 * totals['availability']:.1f} % of run time ({100 * totals['availability_window']:.1f} % of the "
        "operating window)</p>",
    ]
    if not runs:
        return "\n".join([*parts, "<p>No QKD run started on this day.</p></body></html>"])
    head = (
        "scan", "start", "stop", "plan", "encoding", "link", "exit", "blocks", "with key", "suspended",
        "QBER X", "QBER Z", "sifted bits", "secret bits", "secret bit/s (wall)", "availability",
    )  # fmt: skip
    rows = []
    for r in runs:
        cells = [
            r.scan_id,
            datetime.fromtimestamp(r.start).strftime("%H:%M:%S"),
            datetime.fromtimestamp(r.stop).strftime("%H:%M:%S"),
            r.plan,
            r.encoding,
            r.link,
            r.exit_status,
            len(r.accepted),
            int(r.accepted.sum()),
            int(r.suspended.sum()),
            r.mean_qber("x"),
            r.mean_qber("z"),
            int(r.sifted_bits.sum()),
            int(r.key_bits[r.accepted].sum()),
            r.key_bits[r.accepted].sum() / r.wall_s if r.wall_s else 0.0,
            r.availability,
        ]
        tds = "".join(f"<td>{_number(c)}</td>" for c in cells)
        rows.append(f'<tr data-run="{html.escape(r.uid)}">{tds}</tr>')
    parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>")
    parts.append(_img(png(qber_figure(runs)), "QBER per block"))
    parts.append(_img(png(rate_figure(runs)), "key rates per block"))
    parts.append(_img(png(availability_figure(runs, totals)), "availability"))
    held = [(r, t, a, why) for r in runs for t, a, why in r.monitor]
    parts.append("<h2>QBER monitor</h2><ul>")
    parts += [
        f"<li>scan {r.scan_id} {datetime.fromtimestamp(t):%H:%M:%S}: {html.escape(a)} ({html.escape(why)})</li>"
        for r, t, a, why in held
        if a != "step"
    ] or ["<li>no suspension</li>"]
    parts.append("</ul></body></html>")
    return "\n".join(parts)


def write_day_report(catalog: Any, day: date, report_dir: str | Path) -> Path:
    """Write ``<report_dir>/qkd-<YYYY-MM-DD>.html`` from the catalog's runs of ``day``; returns its path."""
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"qkd-{day.isoformat()}.html"
    path.write_text(render_day_report(day, day_runs(catalog, day)))
    return path

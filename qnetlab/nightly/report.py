"""The per-night HTML report: one file, PNGs embedded as base64, every number read from the catalog.

Top: the night's one-line verdict. Then one section per step: status and why, its runs,
the figures of merit before and after (table), the step's own figures drawn from what its
run recorded (:mod:`qnetlab.nightly.step_figures`: fringe fit, delay peaks, bias curves,
detector rates, QBER per round; a step without a builder gets a generic before/after plot
and its raw points), the trend of its figures over past nights (the ``calibration``
streams of earlier runs of the same step, found by ``nightly_step`` in their start
documents), and the settings it left in force. The suspenders' recoveries close the report.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from pathlib import Path
from typing import Any

from qnetlab.nightly.outcome import outcome

TREND_NIGHTS = 60


def _img(png_bytes: bytes, alt: str) -> str:
    data = base64.b64encode(png_bytes).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else html.escape(str(value))


def past_outcomes(
    catalog: Any, step: str, limit: int = TREND_NIGHTS
) -> list[tuple[float, dict[str, float], dict[str, float], bool]]:
    """``(start time, figures_before, figures_after, passed)`` of the newest ``limit`` completed runs of ``step``."""
    from tiled.queries import Key

    runs = catalog.search(Key("start.nightly_step") == step)
    history = []
    for uid in list(runs.keys())[-limit:]:
        run = runs[uid]
        try:
            decoded = outcome(run)
        except (ValueError, KeyError):
            continue  # a run that raised has no outcome
        start = run.metadata["start"]["time"]
        history.append((start, decoded["figures_before"], decoded["figures_after"], decoded["passed"]))
    return sorted(history, key=lambda item: item[0])


def _specific_figures(step: Any, run: Any) -> tuple[list[str], bool]:
    """(HTML of ``run``'s step-specific figures with the numbers each derived, whether any was drawn).

    A builder that fails leaves a line saying why (the generic figures are drawn instead).
    """
    from qnetlab.nightly import report_figures as figures
    from qnetlab.nightly.step_figures import step_figures

    try:
        shown = step_figures(run)
    except Exception as error:  # a figure must never cost the report: say why it is missing
        why = f"{type(error).__name__}: {error}"
        return [f'<p class="figure-error">step figures not drawn: {html.escape(why)}</p>'], False
    if not shown:
        return [], False
    parts = []
    for item in shown:
        parts.append(_img(figures.png(item.figure), f"{step.name} {item.alt}"))
        numbers = ", ".join(
            f'{html.escape(n)} <span data-derived="{html.escape(step.name)}.{html.escape(n)}">{_number(v)}</span>'
            for n, v in item.numbers.items()
        )
        if numbers:
            parts.append(f'<p class="derived">from the recorded data: {numbers}</p>')
    return parts, True


def _step_section(step: Any, catalog: Any) -> str:
    from qnetlab.catalog import run_table
    from qnetlab.nightly import report_figures as figures

    colour = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}[step.status]
    parts = [
        f'<h2 id="{html.escape(step.name)}">{html.escape(step.name)} '
        f'<span style="color:{colour}">{step.status.upper()}</span></h2>'
    ]
    parts.append(f"<p>plan <code>{html.escape(step.plan)}</code>, {step.attempts} attempt(s), {step.duration_s:.1f} s")
    if step.reason:
        parts.append(f'<br><b>why:</b> <span class="reason">{html.escape(step.reason)}</span>')
    if step.run_uids:
        parts.append("<br>runs: " + ", ".join(f"<code>{html.escape(u)}</code>" for u in step.run_uids))
    parts.append("</p>")
    if step.figures_after or step.figures_before:
        rows = "".join(
            f'<tr><td>{html.escape(n)}</td><td class="before">{_number(step.figures_before.get(n, ""))}</td>'
            f'<td class="after" data-figure="{html.escape(step.name)}.{html.escape(n)}">'
            f"{_number(step.figures_after.get(n, ''))}</td></tr>"
            for n in sorted(set(step.figures_before) | set(step.figures_after))
        )
        parts.append(f"<table><tr><th>figure</th><th>before</th><th>after</th></tr>{rows}</table>")
    own = False
    run = catalog[step.run_uids[-1]] if step.run_uids and step.status != "skipped" else None
    if run is not None and "calibration" in run:
        specific, own = _specific_figures(step, run)
        parts += specific
    if not own:  # a step without figures of its own: the generic ones
        if step.figures_after or step.figures_before:
            fig = figures.before_after_figure(step.name, step.figures_before, step.figures_after, step.status)
            parts.append(_img(figures.png(fig), f"{step.name} before/after"))
        if run is not None and "primary" in run:
            table = run_table(run, "primary")
            if len(table) >= 3:  # a scan, not a single reading (its numbers are in the table above)
                parts.append(_img(figures.png(figures.scan_figure(step.name, table)), f"{step.name} points"))
    history = past_outcomes(catalog, step.name)
    if len(history) > 1:
        parts.append(_img(figures.png(figures.trend_figure(step.name, history)), f"{step.name} trend"))
    if step.settings:
        kept = "applied, now in force" if step.status == "passed" and step.applied else "NOT applied"
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_number(v)}</td></tr>" for k, v in step.settings.items())
        parts.append(f"<p>settings found ({kept}):</p><table>{rows}</table>")
    if step.restored:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_number(v)}</td></tr>" for k, v in step.restored.items())
        parts.append(f"<p>previous good settings written back:</p><table>{rows}</table>")
    return "\n".join(parts)


STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#1f2328}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:2px 8px;font-size:90%}"
    "img{display:block;margin:.5em 0;max-width:100%}.verdict{font-size:130%;padding:.4em;border-radius:4px}"
)


def render_report(job: Any, catalog: Any) -> str:
    """The report of ``job`` (a :class:`~qnetlab.nightly.job.JobResult`) as one HTML string."""
    when = datetime.fromtimestamp(job.started).strftime("%Y-%m-%d %H:%M")
    background = "#dafbe1" if job.passed else "#ffebe9"
    head = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>qnetlab nightly {when}</title>",
        f"<style>{STYLE}</style></head><body>",
        f'<p class="verdict" style="background:{background}">{html.escape(job.verdict())}</p>',
        f"<p>night {html.escape(job.nightly_id)}, started {when}"
        + (f", after {job.drift_hours:g} h of simulated drift" if job.drift_hours else "")
        + "</p><ul>",
    ]
    head += [
        f'<li><a href="#{html.escape(s.name)}">{html.escape(s.name)}</a>: {s.status}'
        + (f" — {html.escape(s.reason)}" if s.reason else "")
        + "</li>"
        for s in job.steps
    ]
    head.append("</ul>")
    body = [_step_section(step, catalog) for step in job.steps]
    tail = ["<h2>Suspensions</h2><ul>"]
    tail += [f"<li>{html.escape(line)}</li>" for line in job.recoveries] or ["<li>none</li>"]
    tail.append("</ul></body></html>")
    return "\n".join(head + body + tail)


def write_report(job: Any, catalog: Any, report_dir: str | Path) -> Path:
    """Write the report to ``<report_dir>/nightly-<YYYYmmdd-HHMMSS>.html``; returns its path."""
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"nightly-{datetime.fromtimestamp(job.started):%Y%m%d-%H%M%S}.html"
    path.write_text(render_report(job, catalog))
    return path

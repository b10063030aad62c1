"""The report's figures (matplotlib Agg), each from what the catalog holds, returned as PNG bytes."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes (100 dpi)."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    return out.getvalue()


def before_after_figure(step: str, before: dict[str, float], after: dict[str, float], status: str):
    """Each figure of merit of one step before and after: one small panel per figure, each on its own scale."""
    names = sorted(set(before) | set(after))[:8]
    fig = _figure(min(max(1.6 * len(names) + 1.0, 4.5), 9.6), 2.8)
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    colour = "C2" if status == "passed" else "C3"
    for ax, name in zip(axes, names, strict=False):
        values = [before.get(name, np.nan), after.get(name, np.nan)]
        ax.bar([0, 1], values, 0.6, color=["C7", colour])
        ax.set_xticks([0, 1], ["before", "after"], fontsize=8)
        ax.set_title(name, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{step}: before / after ({status})", fontsize=10)
    return fig


def scan_figure(step: str, table):
    """A step's raw recorded points (stream ``primary``): each numeric reading against the first moved axis."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric = [  # pandas' own test: string and extension columns (pandas 3 strings) are not numbers
        c
        for c in table.columns
        if is_numeric_dtype(table[c]) and not is_bool_dtype(table[c]) and not c.startswith("seq")
    ]
    moved = [c for c in numeric if table[c].nunique() > 1 and not c.endswith(("_rate_hz", "_counts", "_tags"))]
    x_name = moved[0] if moved else None
    x = table[x_name].to_numpy() if x_name else np.arange(1, len(table) + 1)
    fig = _figure()
    ax = fig.add_subplot()
    for column in [c for c in numeric if c != x_name][:8]:
        ax.plot(x, table[column].to_numpy(), "o-", ms=3, label=column)
    ax.set_xlabel(x_name or "reading")
    ax.set_title(f"{step}: recorded points", fontsize=10)
    if len(numeric) > 1:
        ax.legend(fontsize=7, loc="best")
    return fig


def trend_figure(step: str, history: list[tuple[float, dict[str, float], bool]]):
    """Each figure of merit after the step over past nights (filled: passed, open: failed)."""
    fig = _figure(6.4, 3.0)
    ax = fig.add_subplot()
    names = sorted({name for _, figures, _ in history for name in figures})
    for i, name in enumerate(names):
        when = np.array([datetime.fromtimestamp(t) for t, f, _ in history if name in f], dtype="datetime64[s]")
        value = np.array([f[name] for _, f, _ in history if name in f], float)
        passed = np.array([ok for _, f, ok in history if name in f], bool)
        ax.plot(when, value, "-", color=f"C{i}", lw=1, label=name)
        ax.plot(when[passed], value[passed], "o", color=f"C{i}", ms=4)
        ax.plot(when[~passed], value[~passed], "o", mfc="none", color=f"C{i}", ms=6)
    ax.set_title(f"{step}: trend over past nights (open circle: failed)", fontsize=10)
    ax.tick_params(axis="x", labelsize=7)
    if names:
        ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    return fig

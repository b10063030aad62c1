"""The report's figures (matplotlib Agg), each from what the catalog holds, returned as PNG bytes."""

from __future__ import annotations

import io
import re
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


COMPANION = re.compile(r"^(?P<base>.+?)(?:_err|_low|_high)(?P<unit>_[a-z]+)?$")
MEMBER = re.compile(r"^(?P<member>ch\d+|peak_\d+_\d+)_(?P<family>.+)$|^(?P<family2>.+)_(?P<basis>hv|da|z|x)$")
MAX_PANELS = 6


def trend_families(names) -> dict[str, dict[str, str]]:
    """Group figure names into panels: family -> {member label: name}; error companions left out.

    ``ch2_dark_hz``, ``ch3_dark_hz`` -> ``dark_hz`` (ch2, ch3); ``qber_z``, ``qber_x`` -> ``qber`` (z, x);
    ``peak_9_11_ps`` -> ``peak_ps`` (9→11); ``ch2_dark_low_hz`` and ``visibility_hv_err`` are intervals, not lines.
    """
    names = sorted(names)
    present = set(names)
    families: dict[str, dict[str, str]] = {}
    for name in names:
        companion = COMPANION.match(name)
        if companion and f"{companion['base']}{companion['unit'] or ''}" in present:
            continue
        match = MEMBER.match(name)
        if match and match["member"]:
            member, family = match["member"], match["family"]
            if member.startswith("peak_"):
                member, family = member[5:].replace("_", "→"), f"peak_{family}"
        elif match:
            member, family = match["basis"], match["family2"]
        else:
            member, family = "", name
        families.setdefault(family, {})[member] = name
    return families


def _interval(figures: dict[str, float], name: str) -> tuple[float, float] | None:
    base, _, unit = name.rpartition("_")
    if f"{name}_err" in figures:
        return figures[f"{name}_err"], figures[f"{name}_err"]
    low, high = f"{base}_low_{unit}", f"{base}_high_{unit}"
    if low in figures and high in figures:
        return figures[name] - figures[low], figures[high] - figures[name]
    return None


UNITS = {"ua": "µA", "hz": "Hz", "ps": "ps", "v": "V", "rel": "relative", "deg": "deg", "s": "s"}


NAMES = {
    "qber": "QBER",
    "dark_hz": "dark counts (Hz)",
    "v_2pi_v": "V$_{2\\pi}$ (V)",
    "visibility_fit": "fringe visibility (fit)",
    "offset_ps": "slot 0 after the sync (ps)",
    "peak_ps": "coincidence peak (ps)",
    "measurements": "measurement rounds",
}


def family_label(family: str) -> str:
    """A panel title: ``dark_hz`` -> ``dark counts (Hz)``, ``bias_ua`` -> ``bias (µA)``."""
    if family in NAMES:
        return NAMES[family]
    head, _, unit = family.rpartition("_")
    return f"{head.replace('_', ' ')} ({UNITS[unit]})" if head and unit in UNITS else family.replace("_", " ")


def trend_figure(step: str, history: list[tuple[float, dict[str, float], dict[str, float], bool]]):
    """The step's figures over past nights, one panel per family of its figures of merit.

    ``history``: (start time, figures_before, figures_after, passed) per night, oldest first.
    Solid: after the step; dashed, small markers: before it (the drift it found) where it
    recorded the same figure. Filled markers: passed nights, open: failed. Error bars where
    the step recorded an interval (``_err``, ``_low``/``_high``).
    """
    after = trend_families({n for _, _, a, _ in history for n in a})
    before = trend_families({n for _, b, _, _ in history for n in b})
    panels = list(after.items()) + [(f, m) for f, m in before.items() if f not in after]
    panels = panels[:MAX_PANELS]
    columns = 1 if len(panels) == 1 else 2
    rows = max(-(-len(panels) // columns), 1)
    fig = _figure(6.4 if columns == 1 else 9.6, 2.4 * rows + 0.6)
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True).ravel()
    for ax, (family, members) in zip(axes, panels, strict=False):
        for i, (member, name) in enumerate(members.items()):
            for when, style in (("after", "-"), ("before", "--")):
                nights = [
                    (t, figures, ok) for t, b, a, ok in history if name in (figures := (a if when == "after" else b))
                ]
                if not nights or (when == "before" and family not in before):
                    continue
                times = np.array([datetime.fromtimestamp(t) for t, _, _ in nights], dtype="datetime64[s]")
                value = np.array([f[name] for _, f, _ in nights], float)
                passed = np.array([ok for _, _, ok in nights], bool)
                spans = [_interval(f, name) for _, f, _ in nights]
                if all(span is not None for span in spans):
                    ax.errorbar(times, value, yerr=np.array(spans, float).T, fmt="none", ecolor=f"C{i}", lw=0.8)
                label = (member or family) + (" before" if when == "before" else "")
                size = 4 if when == "after" else 3
                ax.plot(times, value, style, color=f"C{i}", lw=1, label=label)
                ax.plot(times[passed], value[passed], "o", color=f"C{i}", ms=size)
                ax.plot(times[~passed], value[~passed], "o", mfc="none", color=f"C{i}", ms=size + 2)
        drawn = np.concatenate([line.get_ydata() for line in ax.get_lines()] or [np.zeros(0)]).astype(float)
        if drawn.size and drawn.min() > 0 and drawn.max() > 20 * drawn.min():  # decades apart (QBER before/after)
            ax.set_yscale("log")
        ax.set_title(family_label(family), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=25)
        if len(ax.get_lines()) > 3:  # more than one line (each line draws 3 artists): say which is which
            ax.legend(fontsize=6, loc="best", ncol=2)
    for k, ax in enumerate(axes):
        if k >= len(panels):
            ax.set_visible(False)
        elif k + columns >= len(panels):  # nothing drawn below it: its own date labels
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(f"{step}: trend over {len(history)} nights (open circle: failed night)", fontsize=10)
    return fig

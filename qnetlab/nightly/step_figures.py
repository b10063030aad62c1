"""The report's step-specific figures, each drawn from what the step's run recorded in the catalog.

A builder per calibration step (``calibration_step`` of the run's start document) reads the
run's streams and linked raw tags back, redoes the step's analysis on them (the same
fit, the same rule) and returns :class:`Shown` items: a figure and the numbers it
derived. The report prints those numbers under the figure (``data-derived``), so a reader,
and the test, can hold them against the step's recorded outcome: a figure that disagrees
with the outcome was not drawn from the data the step used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Shown:
    """One figure of a step: its alt text, the matplotlib Figure, the numbers derived for it."""

    alt: str
    figure: Any
    numbers: dict[str, float] = field(default_factory=dict)


def _args(run: Any) -> dict[str, Any]:
    return dict(run.metadata["start"].get("plan_args", {}))


def _table(run: Any, stream: str):
    from qnetlab.catalog import run_table

    return run_table(run, stream)


def _tags(run: Any, stream: str) -> tuple[np.ndarray, np.ndarray]:
    """A linked tag stream of ``run``: from its HDF5 files, or through the catalog when they are not here."""
    from qnetlab.analysis.timetags.from_catalog import DELTA_SUFFIX, tag_file_paths
    from qnetlab.analysis.timetags.tagfile import read_tags

    paths = tag_file_paths(run, stream)
    if paths and all(p.exists() for p in paths):
        return read_tags(paths)
    node = run[stream]
    (delta,) = [key for key in node if key.endswith(DELTA_SUFFIX)]
    channels = node[delta[: -len(DELTA_SUFFIX)] + "_tag_channel"].read()
    return np.cumsum(np.asarray(node[delta].read(), np.int64)), np.asarray(channels, np.int32)


def dark_counts(run: Any) -> list[Shown]:
    """Dark rate per input with its Garwood interval, against ``max_dark_hz``."""
    from qnetlab.analysis.calibration.detector_health import dark_rate_hz
    from qnetlab.analysis.calibration.plots import dark_counts_figure

    args = _args(run)
    row = _table(run, "primary").iloc[-1]
    channels, duration = [int(c) for c in args["channels"]], float(args["duration_s"])
    rates = [float(row[f"{args['tagger']}_ch{c}_rate_hz"]) for c in channels]
    intervals = [dark_rate_hz(int(round(r * duration)), duration) for r in rates]
    fig = dark_counts_figure(
        channels, rates, [i[1] for i in intervals], [i[2] for i in intervals], args.get("max_dark_hz")
    )
    numbers = {f"ch{c}_dark_hz": r for c, r in zip(channels, rates, strict=True)}
    numbers |= {f"ch{c}_dark_high_hz": i[2] for c, i in zip(channels, intervals, strict=True)}
    return [Shown("detector rates", fig, numbers)]


def snspd_bias(run: Any) -> list[Shown]:
    """Efficiency (light − dark, relative) and dark counts vs bias per SNSPD channel, the rule re-applied."""
    from qnetlab.analysis.calibration.detector_health import choose_bias
    from qnetlab.analysis.calibration.plots import bias_curves_figure

    args = _args(run)
    light, dark = _table(run, "light"), _table(run, "dark")
    bias = light["bias_ua"].to_numpy(float)
    curves, numbers = {}, {}
    for n, ch in sorted((int(k), int(v)) for k, v in args["channels"].items()):
        on = light[f"{args['tagger']}_ch{ch}_rate_hz"].to_numpy(float)
        off = dark[f"{args['tagger']}_ch{ch}_rate_hz"].to_numpy(float)
        signal = on - off
        efficiency = signal / max(signal.max(), 1.0)
        choice = choose_bias(
            list(bias),
            efficiency,
            list(off),
            plateau_fraction=float(args.get("plateau_fraction", 0.95)),
            dark_budget_hz=float(args.get("dark_budget_hz", 1000.0)),
        )
        curves[f"SNSPD ch{n} (input {ch})"] = (efficiency, off, choice)
        if choice.bias_ua is not None:
            numbers |= {f"ch{n}_bias_ua": choice.bias_ua, f"ch{n}_efficiency_rel": choice.efficiency}
    duration = args.get("duration_s")
    fig = bias_curves_figure(
        bias, curves, 1.0 / float(duration) if duration else None, float(args.get("dark_budget_hz", 1000.0))
    )
    return [Shown("bias curves", fig, numbers)]


def tagger_delays(run: Any) -> list[Shown]:
    """Each pair's correlation peak before and (when applied) after, fitted again from the linked tags."""
    from qnetlab.analysis.calibration.delays import channel_delays_ps
    from qnetlab.analysis.calibration.plots import delay_peaks_figure
    from qnetlab.analysis.timetags import bin_edges_ps, correlation_histogram

    args = _args(run)
    pairs = [(int(a), int(b)) for a, b in args["pairs"]]
    width = int(args.get("bin_width_ps", 10))
    edges = bin_edges_ps(width, 2000)

    def measured(stream: str):
        t, c = _tags(run, stream)
        hists = {p: correlation_histogram(t, c, p[0], p[1], width, 2000) for p in pairs}
        peaks = {p: next(iter(channel_delays_ps(t, c, p[0], [p[1]], bin_width_ps=width).values()))[1] for p in pairs}
        return hists, peaks

    hists, peaks = measured("timetags")
    numbers = {f"before peak_{a}_{b}_ps": peaks[(a, b)].centre_ps for a, b in pairs}
    after = measured("timetags_after") if "timetags_after" in run else None
    if after is not None:
        numbers |= {f"peak_{a}_{b}_ps": after[1][(a, b)].centre_ps for a, b in pairs}
    return [Shown("delay peaks", delay_peaks_figure(hists, edges, peaks, after), numbers)]


def tagger_sync_delays(run: Any) -> list[Shown]:
    """Clicks per pattern slot and the pulse peak of every receiver input, before and after, from the tags."""
    from qnetlab.analysis.calibration.plots import sync_offsets_figure
    from qnetlab.analysis.calibration.sync_delays import (
        clicks_per_slot,
        phase_histogram,
        sync_offsets_ps,
        time_since_sync_ps,
        wrapped_offset_ps,
    )

    args = _args(run)
    channels, sync = [int(c) for c in args["channels"]], int(args["sync_channel"])
    slots, marker, width = int(args["pattern_slots"]), int(args["marker_slots"]), int(args["bin_width_ps"])
    period = float(_table(run, "offsets")["period_ps"].iloc[0])

    def measured(stream: str, zoom: bool):
        t, c = _tags(run, stream)
        found = sync_offsets_ps(
            t, c, sync, channels, period_ps=period, slots=slots, marker_slots=marker, bin_width_ps=width
        )
        per_slot, phase = {}, {}
        for ch in channels:
            since = time_since_sync_ps(t, c, sync, ch, slots * period)
            near_sync = found[ch].phase_ps - period * (found[ch].phase_ps >= period / 2)  # in [-P/2, P/2)
            per_slot[ch] = clicks_per_slot(since, period, near_sync, slots)  # slot 0: the pulse nearest the sync
            if zoom:  # on the sync: ± 20 bins around zero, the fit's bins
                hist, edges = phase_histogram(since, period, 0.0, width)
                near = np.flatnonzero(np.abs((edges[:-1] + edges[1:]) / 2) <= 20 * width)
                phase[ch] = (hist[near[0] : near[-1] + 1], edges[near[0] : near[-1] + 2])
            else:  # the whole period around the sync, in 50 ps bins
                phase[ch] = phase_histogram(since, period, 0.0, 50)
        return found, per_slot, phase

    found, per_slot, phase = measured("timetags", zoom=False)
    numbers = {f"before ch{ch}_offset_ps": o.offset_ps for ch, o in found.items()}
    labels = ({ch: f"input {ch}: {o.offset_ps:.0f} ps" for ch, o in found.items()}, {})
    after = None
    if "timetags_after" in run:
        checked, after_slots, after_phase = measured("timetags_after", zoom=True)
        after = (after_slots, after_phase)
        left = {ch: wrapped_offset_ps(o.offset_ps, slots, period) for ch, o in checked.items()}
        numbers |= {f"ch{ch}_offset_ps": v for ch, v in left.items()}
        labels[1].update({ch: f"input {ch}: {v:+.1f} ps" for ch, v in left.items()})
    return [Shown("sync offsets", sync_offsets_figure(per_slot, phase, period, after, labels), numbers)]


def polarization_compensation(run: Any) -> list[Shown]:
    """QBER of both bases per round, and before (round 1) / after (the best round) per basis."""
    from qnetlab.analysis.calibration.plots import compensation_figure

    args = _args(run)
    table = _table(run, "primary")
    z, x = table["qber_z"].to_numpy(float), table["qber_x"].to_numpy(float)
    best = int(np.argmin(np.maximum(z, x)))
    fig = compensation_figure(z, x, float(args.get("target_qber", 0.015)), args.get("misalignment"))
    numbers = {"before qber_z": z[0], "before qber_x": x[0], "qber_z": z[best], "qber_x": x[best]}
    numbers["measurements"] = float(z.size)
    return [Shown("QBER before/after", fig, numbers)]


def timebin_phase(run: Any) -> list[Shown]:
    """The X0 fringe with its fit (redone on the recorded points), X1 beside it, the lock and its contrast."""
    from qnetlab.analysis.calibration.fringe import fit_fringe
    from qnetlab.analysis.calibration.plots import fringe_figure

    args = _args(run)
    key = f"{args['piezo']}_voltage_v"
    table = _table(run, "primary")
    voltage, x0 = table[key].to_numpy(float), table["x0_counts"].to_numpy(float)
    fit = fit_fringe(voltage, x0, args.get("v_2pi_v"))
    check = _table(run, "check").iloc[-1] if "check" in run else None
    lock = float(check[key]) if check is not None else None
    contrast = float(check["contrast"]) if check is not None else None
    fig = fringe_figure(voltage, x0, fit, lock, table["x1_counts"].to_numpy(float), contrast)
    numbers = {"visibility_fit": fit.visibility, "v_2pi_v": fit.v_2pi_v}
    if contrast is not None:
        numbers["contrast"] = contrast
    return [Shown("fringe fit", fig, numbers)]


def pair_source(run: Any) -> list[Shown]:
    """Parallel and orthogonal coincidences per basis and the visibility of each, against the threshold."""
    from qnetlab.analysis.calibration.detector_health import pair_source_check
    from qnetlab.analysis.calibration.plots import pair_visibility_figure

    args = _args(run)
    table = _table(run, "primary")
    bases = ["hv", "da"][: len(table)]
    counts = {
        b: (float(r["coincidences_parallel"]), float(r["coincidences_orthogonal"]))
        for b, (_, r) in zip(bases, table.iterrows(), strict=True)
    }
    threshold = float(args.get("threshold", 0.9))
    check = pair_source_check(counts, threshold)["bases"]
    vis, err = [check[b]["visibility"] for b in bases], [check[b]["error"] for b in bases]
    fig = pair_visibility_figure(
        bases, [counts[b][0] for b in bases], [counts[b][1] for b in bases], vis, err, threshold
    )
    return [Shown("pair visibility", fig, {f"visibility_{b}": v for b, v in zip(bases, vis, strict=True)})]


BUILDERS: dict[str, Callable[[Any], list[Shown]]] = {
    "detector_dark_counts": dark_counts,
    "snspd_bias": snspd_bias,
    "tagger_delays": tagger_delays,
    "tagger_sync_delays": tagger_sync_delays,
    "polarization_compensation": polarization_compensation,
    "timebin_phase": timebin_phase,
    "pair_source": pair_source,
}


def step_figures(run: Any) -> list[Shown]:
    """The step-specific figures of a run of one of qnetlab's calibration plans (none for another plan).

    The builders know the streams of :mod:`qnetlab.plans.calibration`'s plans, so a run is
    theirs only when its ``plan_name`` is the step too (a lab's own plan may follow the
    outcome contract under a step's name, with other streams).
    """
    start = run.metadata["start"]
    step = start.get("calibration_step")
    builder = BUILDERS.get(step) if start.get("plan_name") == step else None
    return builder(run) if builder is not None else []

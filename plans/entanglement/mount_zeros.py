"""Calibrate the analyzers' mount zeros from coincidence fringes of the pair source.

All four plates start at their current zeros (both analyzers at H); each mount but the
reference is turned in turn through ``steps_deg`` while the other three stay, the four
port-pair coincidences counted at every step. One fit of the Jones model of both analyzers
to all the points (:func:`qnetlab.analysis.entanglement.mount_zeros.fit_mount_zeros`)
gives every zero with its error; the run reports the ``zero_offset_deg`` to write into
each ``thorlabs_k10cr1`` entry of the lab config (nothing is written).

The pair source cannot see a common rotation of both analyzers (which changes no result
on Φ+ either), so one mount, ``reference`` (Alice's QWP), keeps its configured zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from bluesky.utils import MsgGenerator
from pydantic import Field

from qnetlab.plans._arguments import plan_arguments
from qnetlab.plans.entanglement._common import DEFAULT_OFFSETS_PS, DurationS, OffsetsPs, WindowPs, figure_path
from qnetlab.plans.entanglement._counting import (
    Recorder,
    Window,
    calibration_event,
    entanglement_run,
    measure_motors,
    run_metadata,
)
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.protocols import StreamingTagger

Mount = Literal["qwp_a", "hwp_a", "qwp_b", "hwp_b"]
MOUNT_ORDER: tuple[Mount, ...] = ("qwp_a", "hwp_a", "qwp_b", "hwp_b")
"""The four mounts, in the order of the analysis' settings and zeros."""
DEFAULT_STEPS_DEG = (0.0, 15.0, 30.0, 45.0, 60.0, 75.0)
"""One period of every fringe (both plates' fringes repeat every 90° of their mount)."""


def _devices(a: Analyzer, b: Analyzer) -> list[Any]:
    return [a.qwp, a.hwp, b.qwp, b.hwp]


@plan_arguments
def mount_zeros(
    tagger: StreamingTagger,
    analyzer_a: Analyzer,
    analyzer_b: Analyzer,
    *,
    steps_deg: Annotated[Sequence[float], Field(min_length=4, description="turns from the current zero (deg)")] = (
        DEFAULT_STEPS_DEG
    ),
    duration_s: DurationS = 1.0,
    window_ps: WindowPs = 2_000,
    accidental_offsets_ps: OffsetsPs = DEFAULT_OFFSETS_PS,
    reference: Mount = "qwp_a",
    max_std_deg: Annotated[float, Field(gt=0, le=45, description="pass mark: largest error of a zero (deg)")] = 1.0,
    figure_dir: Path | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Measure the zero of every analyzer mount but ``reference``; report the config values.

    Parameters
    ----------
    tagger : the time tagger (streaming)
    analyzer_a, analyzer_b : the analyzers (:func:`pair_analyzers`); their zeros are the start
        of every sweep and where the fit starts (it searches within ±40° of them)
    steps_deg : turns of the swept mount from its current zero (deg), >= 4 distinct mod 90
    duration_s : acquisition time per step (s)
    window_ps, accidental_offsets_ps : coincidence window and accidental windows (ps)
    reference : the mount whose zero is held (the gauge: see the module docstring)
    max_std_deg : the run passes when every fitted zero's error is at most this and χ²/dof <= 3
    figure_dir : where the PNG of the fringes goes (default ``<data>/figures/YYYY/MM/DD``)
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages. Stream ``primary``: one event per step (``swept_mount`` e.g.
    ``"ent_b_hwp"``, ``step_deg``, the mounts, coincidences, accidentals, singles); stream
    ``results``: ``zero_<mount>_deg`` and ``zero_<mount>_std_deg`` per mount device,
    ``zeros_covariance_deg2_<ij>`` (4 × 4, mounts in :data:`MOUNT_ORDER`), ``visibility``
    (± ``_std``), ``chi2``, ``dof``, ``config_update`` (the YAML lines to put
    in each entry) and ``figure``; stream ``calibration`` (nightly contract, never applied):
    ``settings`` = ``{mount: {"zero_offset_deg": value}}``.

    Returns
    -------
    The run uid.
    """
    from qnetlab.analysis.entanglement.mount_zeros import fit_mount_zeros

    steps = [float(x) for x in steps_deg]
    if len({round(x % 90.0, 9) for x in steps}) < 4:
        raise ValueError(f"mount_zeros: steps_deg needs >= 4 distinct turns mod 90 (got {steps})")
    window = Window(window_ps, tuple(accidental_offsets_ps))
    names = [getattr(d, "name", str(d)) for d in _devices(analyzer_a, analyzer_b)]
    ref = MOUNT_ORDER.index(reference)
    args = {
        "steps_deg": steps,
        "duration_s": duration_s,
        "window_ps": window_ps,
        "accidental_offsets_ps": list(accidental_offsets_ps),
        "reference": names[ref],
        "max_std_deg": max_std_deg,
    }
    _md = run_metadata("mount_zeros", tagger, analyzer_a, analyzer_b, args, md)
    start = np.array(
        [analyzer_a.qwp_zero_deg, analyzer_a.hwp_zero_deg, analyzer_b.qwp_zero_deg, analyzer_b.hwp_zero_deg]
    )
    recorder = Recorder()

    def body(uid: str) -> MsgGenerator[None]:
        motors, counts, accidentals, swept = [], [], [], []
        for index in (i for i in range(4) if i != ref):
            for step in steps:
                setting = start.copy()
                setting[index] += step
                measured = yield from measure_motors(
                    tagger,
                    analyzer_a,
                    analyzer_b,
                    setting.tolist(),
                    duration_s=duration_s,
                    window=window,
                    recorder=recorder,
                    extra={"swept_mount": names[index], "step_deg": step},
                )
                motors.append(setting)
                counts.append(measured.coincidences)
                accidentals.append(measured.accidentals)
                swept.append(index)
        fit = fit_mount_zeros(motors, counts, accidentals=accidentals, start_zeros_deg=start, reference=ref)
        path = figure_path(tagger, figure_dir, uid, "mount-zeros")
        if path is not None:
            _save_figure(path, np.array(motors), np.array(counts), np.array(accidentals), swept, start, fit, names)
        results: dict[str, Any] = {}
        lines = []
        for name, zero, std in zip(names, fit.zeros_deg, fit.zeros_std_deg, strict=True):
            results[f"zero_{name}_deg"] = float(zero)
            results[f"zero_{name}_std_deg"] = float(std)
            note = "reference, held" if name == names[ref] else f"± {std:.2f}"
            lines.append(f"{name}: {{zero_offset_deg: {zero:.2f}}}  # {note}")
        results.update(
            {
                "zeros_covariance_deg2": fit.covariance_deg2,
                "visibility": fit.visibility,
                "visibility_std": fit.visibility_std,
                "chi2": fit.chi2,
                "dof": fit.dof,
                "config_update": "\n".join(lines),
                "figure": "" if path is None else str(path),
            }
        )
        yield from recorder.event("results", results)
        worst = float(np.max(fit.zeros_std_deg))
        passed = worst <= max_std_deg and fit.chi2 <= 3 * max(fit.dof, 1)
        reason = "" if passed else f"largest zero error {worst:.2f} deg, chi2/dof {fit.chi2:.0f}/{fit.dof}"
        yield from calibration_event(
            recorder,
            passed=passed,
            reason=reason,
            figures={"visibility": fit.visibility, "largest_zero_std_deg": worst},
            settings={n: {"zero_offset_deg": round(float(z), 3)} for n, z in zip(names, fit.zeros_deg, strict=True)},
        )

    return (yield from entanglement_run(body, {**_md, "calibration_step": "mount_zeros"}, tagger))


def _save_figure(path: Path, motors, counts, accidentals, swept, start, fit, names) -> None:
    """One panel per swept mount: T·T and R·R coincidences against the turn, with the fitted model."""
    from matplotlib.figure import Figure

    from qnetlab.analysis.entanglement.mount_zeros import predicted_counts

    indices = sorted(set(swept))
    fig = Figure(figsize=(4.2 * len(indices), 3.6))
    axes = fig.subplots(1, len(indices), sharey=True, squeeze=False)
    model = {"pairs": fit.pairs, "visibility": fit.visibility, "port_ratios": tuple(fit.port_ratios)}
    for ax, index in zip(axes[0], indices, strict=True):
        rows = [k for k, s in enumerate(swept) if s == index]
        turn = motors[rows, index] - start[index]
        dense = np.linspace(0.0, max(90.0, float(turn.max())), 181)
        grid = np.repeat(start[None, :], len(dense), axis=0)
        grid[:, index] += dense
        mean_acc = accidentals[rows].mean(axis=0)
        curve = predicted_counts(grid, fit.zeros_deg, accidentals=np.tile(mean_acc, (len(dense), 1)), **model)
        for col, label, colour in ((0, "T·T", "tab:blue"), (3, "R·R", "tab:orange")):
            ax.errorbar(turn, counts[rows, col], yerr=np.sqrt(counts[rows, col]), fmt="o", color=colour, label=label)
            ax.plot(dense, curve[:, col], color=colour, lw=1)
        ax.set_title(f"{names[index]} turned, others at their zeros", fontsize=10)
        ax.set_xlabel(f"{names[index]} reading − start zero {start[index]:.1f}° (deg)")
        ax.set_xlim(0, dense[-1])
        ax.text(0.02, 0.03, f"fitted zero {fit.zeros_deg[index]:.2f} ± {fit.zeros_std_deg[index]:.2f}°",
                transform=ax.transAxes, fontsize=9)  # fmt: skip
    axes[0][0].set_ylabel("coincidences per step")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, [f"{label} measured, line: fit" for label in labels], loc="upper right", ncol=2, fontsize=8)
    fig.suptitle(f"Mount zeros from the pair source (V = {fit.visibility:.3f}, χ²/dof = {fit.chi2:.0f}/{fit.dof})")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)

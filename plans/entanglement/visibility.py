"""Two-photon visibility curves: one analyzer fixed (H, then D), the other's polarizer angle swept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import bluesky.preprocessors as bpp
import numpy as np
from bluesky.utils import MsgGenerator
from pydantic import Field

from qnetlab.plans._arguments import plan_arguments
from qnetlab.plans.entanglement._common import (
    DEFAULT_OFFSETS_PS,
    DurationS,
    OffsetsPs,
    WindowPs,
    figure_path,
    linear_ket,
    live_default,
)
from qnetlab.plans.entanglement._counting import Recorder, Window, entanglement_run, measure_setting, run_metadata
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.protocols import StreamingTagger

State = Literal["H", "V", "D", "A", "R", "L"]
DEFAULT_ANGLES_DEG = tuple(float(a) for a in np.arange(0.0, 180.0, 15.0))


@plan_arguments
def visibility_curves(
    tagger: StreamingTagger,
    analyzer_a: Analyzer,
    analyzer_b: Analyzer,
    *,
    fixed_states: Annotated[Sequence[State], Field(min_length=1)] = ("H", "D"),
    swept: Literal["A", "B"] = "B",
    angles_deg: Annotated[Sequence[float], Field(min_length=4)] = DEFAULT_ANGLES_DEG,
    duration_s: DurationS = 1.0,
    window_ps: WindowPs = 2_000,
    accidental_offsets_ps: OffsetsPs = DEFAULT_OFFSETS_PS,
    live_plot: bool | None = None,
    figure_dir: Path | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Fringes of the transmitted-port coincidences (A_T, B_T) against the swept polarizer angle.

    For each state in ``fixed_states`` the other analyzer (``swept``) is set to a linear
    polarizer at each angle of ``angles_deg``; the fringe is fitted (period 180°) raw and
    with the offset-window accidentals subtracted
    (:func:`qnetlab.analysis.entanglement.fit_fringe`).

    Parameters
    ----------
    tagger : the time tagger (streaming; ``stream_directory`` set by the session)
    analyzer_a, analyzer_b : Alice's and Bob's analyzers (:func:`pair_analyzers`)
    fixed_states : states of the fixed analyzer, one fringe each (default H then D)
    swept : which side's analyzer is swept
    angles_deg : linear-polarizer angles of the swept analyzer (deg), >= 4 distinct mod 180
    duration_s : acquisition time per point (s)
    window_ps : coincidence window, largest |t_b − t_a| (ps)
    accidental_offsets_ps : shifts of Bob's tags for the accidental windows (ps)
    live_plot : draw the points and fits as they come (default: only inside IPython)
    figure_dir : where the PNG of each fringe goes (default ``<data>/figures/YYYY/MM/DD``)
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages. Stream ``primary``: one event per point (``fixed_state``,
    ``swept_angle_deg``, the mounts, coincidences, accidentals, singles); stream
    ``results``: per fixed state ``s`` (lower case) ``visibility_<s>_raw``, ``..._raw_std``,
    ``visibility_<s>_corrected``, ``..._corrected_std``, ``fringe_<s>_mean``,
    ``fringe_<s>_phase_deg``, ``fringe_<s>_chi2``, ``fringe_<s>_figure`` (PNG path or "").

    Returns
    -------
    The run uid.
    """
    from qnetlab.analysis.entanglement import fit_fringe

    angles = [float(a) for a in angles_deg]
    if len({round(a % 180.0, 9) for a in angles}) < 4:
        raise ValueError(f"visibility_curves: angles_deg needs >= 4 distinct angles mod 180 (got {angles})")
    window = Window(window_ps, tuple(accidental_offsets_ps))
    args = {
        "fixed_states": list(fixed_states),
        "swept": swept,
        "angles_deg": angles,
        "duration_s": duration_s,
        "window_ps": window_ps,
        "accidental_offsets_ps": list(accidental_offsets_ps),
    }
    _md = run_metadata("visibility_curves", tagger, analyzer_a, analyzer_b, args, md)
    recorder = Recorder()

    def body(uid: str) -> MsgGenerator[None]:
        results: dict[str, Any] = {}
        for fixed in fixed_states:
            counts, accidentals = [], []
            for angle in angles:
                swept_state = linear_ket(angle)
                states = (fixed, swept_state) if swept == "B" else (swept_state, fixed)
                measured = yield from measure_setting(
                    tagger,
                    analyzer_a,
                    analyzer_b,
                    *states,
                    duration_s=duration_s,
                    window=window,
                    recorder=recorder,
                    extra={"fixed_state": fixed, "swept_angle_deg": angle},
                )
                counts.append(measured.coincidences[0])
                accidentals.append(measured.accidentals[0])
            raw = fit_fringe(angles, counts)
            corrected = fit_fringe(angles, counts, accidentals=accidentals)
            path = figure_path(tagger, figure_dir, uid, f"fringe-{fixed}")
            if path is not None:
                _save_fringe(path, angles, counts, raw, corrected, fixed, swept)
            key = fixed.lower()
            results.update(
                {
                    f"visibility_{key}_raw": raw.visibility,
                    f"visibility_{key}_raw_std": raw.visibility_std,
                    f"visibility_{key}_corrected": corrected.visibility,
                    f"visibility_{key}_corrected_std": corrected.visibility_std,
                    f"fringe_{key}_mean": corrected.mean,
                    f"fringe_{key}_accidentals": float(np.mean(accidentals)),
                    f"fringe_{key}_phase_deg": corrected.phase_deg,
                    f"fringe_{key}_chi2": corrected.chi2,
                    f"fringe_{key}_dof": corrected.dof,
                    f"fringe_{key}_figure": "" if path is None else str(path),
                }
            )
        yield from recorder.event("results", results)

    plan = entanglement_run(body, _md, tagger)
    if live_default(live_plot):
        from qnetlab.plans.entanglement.live import FringeLivePlot

        plan = bpp.subs_wrapper(plan, FringeLivePlot())
    return (yield from plan)


def _save_fringe(path: Path, angles, counts, raw, corrected, fixed: str, swept: str) -> None:
    import matplotlib.pyplot as plt

    from qnetlab.analysis.entanglement import plot_fringe

    other = "Bob" if swept == "B" else "Alice"
    fig = plot_fringe(
        angles,
        counts,
        {"raw": raw, "accidentals subtracted": corrected},
        path,
        title=f"Two-photon fringe, {'Alice' if swept == 'B' else 'Bob'} fixed at {fixed}",
        xlabel=f"{other}'s polarizer angle (deg)",
    )
    plt.close(fig)

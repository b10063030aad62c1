"""Two-photon polarization state tomography: 16 or 36 analyzer settings, both PBS outputs, Poisson MLE."""

from __future__ import annotations

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
    live_default,
)
from qnetlab.plans.entanglement._counting import Recorder, Window, entanglement_run, measure_setting, run_metadata
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.protocols import StreamingTagger

Efficiency = Annotated[float, Field(gt=0, le=10)]


def setting_labels(n_settings: int) -> tuple[str, ...]:
    """``STANDARD_16`` (James et al. 2001) or ``OVERCOMPLETE_36`` (all pairs of H V D A R L), Alice first."""
    from qnetlab.analysis.entanglement import OVERCOMPLETE_36, STANDARD_16

    return STANDARD_16 if n_settings == 16 else OVERCOMPLETE_36


def measured_kets(a: Analyzer, b: Analyzer, labels) -> np.ndarray:
    """(n, 2, 2) kets the T ports project on at the motor positions set for each label (offsets included)."""
    from qnetlab.analysis.entanglement import analyzer_ket

    kets = np.empty((len(labels), 2, 2), dtype=complex)
    for i, label in enumerate(labels):
        for side, (analyzer, state) in enumerate(((a, label[0]), (b, label[1]))):
            qwp_deg, hwp_deg = analyzer.motor_positions(state)
            zeros = {"qwp_zero_deg": analyzer.qwp_zero_deg, "hwp_zero_deg": analyzer.hwp_zero_deg}
            kets[i, side] = analyzer_ket(qwp_deg, hwp_deg, **zeros)
    return kets


@plan_arguments
def state_tomography(
    tagger: StreamingTagger,
    analyzer_a: Analyzer,
    analyzer_b: Analyzer,
    *,
    settings: Literal[16, 36] = 16,
    duration_s: DurationS = 1.0,
    window_ps: WindowPs = 2_000,
    accidental_offsets_ps: OffsetsPs = DEFAULT_OFFSETS_PS,
    target: Literal["phi+", "phi-", "psi+", "psi-"] = "phi+",
    detector_efficiency: tuple[tuple[Efficiency, Efficiency], tuple[Efficiency, Efficiency]] | None = None,
    n_resamples: Annotated[int, Field(ge=2, le=100_000, description="Monte Carlo resamples")] = 1000,
    seed: int | None = None,
    live_plot: bool | None = None,
    figure_dir: Path | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Reconstruct the two-photon state by Poisson maximum likelihood, with Monte Carlo errors.

    Every setting uses all four detector pairs (both outputs of each PBS), so the 16
    settings give 64 outcomes and the 36 give 144. The projector of each outcome is that of
    the analyzer at the motor positions set (Jones calculus with the mounts' zero offsets,
    :func:`measured_kets`); the offset-window accidentals and the relative detector
    efficiencies enter the likelihood (:func:`qnetlab.analysis.entanglement.tomography_data`).

    Parameters
    ----------
    tagger : the time tagger (streaming; ``stream_directory`` set by the session)
    analyzer_a, analyzer_b : Alice's and Bob's analyzers (:func:`pair_analyzers`)
    settings : 16 (James et al. 2001) or 36 (all pairs of the six cardinal states)
    duration_s : acquisition time per setting (s)
    window_ps : coincidence window, largest |t_b − t_a| (ps)
    accidental_offsets_ps : shifts of Bob's tags for the accidental windows (ps)
    target : Bell state of the fidelity
    detector_efficiency : relative efficiencies ``((alice_t, alice_r), (bob_t, bob_r))``; default all 1
    n_resamples : Monte Carlo resamples of the counts for the errors
    seed : seed of the resampling (recorded), for reproducible error bars
    live_plot : show the 3-D bar plot when done (default: only inside IPython)
    figure_dir : where the PNG goes (default ``<data>/figures/YYYY/MM/DD``)
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages. Stream ``primary``: one event per setting (``setting`` label, the
    mounts, coincidences, accidentals, singles); stream ``results``: ``rho_real_<ij>``,
    ``rho_imag_<ij>`` (read back with :func:`qnetlab.plans.entanglement.read_rho`),
    ``fidelity``, ``purity``, ``concurrence``, ``tangle`` each with ``_std``, ``pairs``,
    ``figure`` (PNG path or "").

    Returns
    -------
    The run uid.
    """
    from qnetlab.analysis.entanglement import monte_carlo, tomography_data

    labels = setting_labels(settings)
    window = Window(window_ps, tuple(accidental_offsets_ps))
    efficiency = None if detector_efficiency is None else np.array(detector_efficiency, dtype=float)
    args = {
        "settings": settings,
        "duration_s": duration_s,
        "window_ps": window_ps,
        "accidental_offsets_ps": list(accidental_offsets_ps),
        "target": target,
        "detector_efficiency": None if efficiency is None else efficiency.tolist(),
        "n_resamples": n_resamples,
        "seed": seed,
    }
    _md = run_metadata("state_tomography", tagger, analyzer_a, analyzer_b, args, md)
    recorder = Recorder()

    def body(uid: str) -> MsgGenerator[None]:
        counts, accidentals = [], []
        for label in labels:
            measured = yield from measure_setting(
                tagger,
                analyzer_a,
                analyzer_b,
                label[0],
                label[1],
                duration_s=duration_s,
                window=window,
                recorder=recorder,
                extra={"setting": label},
            )
            counts.append(measured.coincidences)
            accidentals.append(measured.accidentals)
        data = tomography_data(
            measured_kets(analyzer_a, analyzer_b, labels),
            np.array(counts),
            detector_efficiency=efficiency,
            accidentals=np.array(accidentals),
        )
        mc = monte_carlo(data, n_resamples=n_resamples, target=target, rng=np.random.default_rng(seed))
        path = figure_path(tagger, figure_dir, uid, "tomography")
        if path is not None:
            _save_bars(path, mc["rho"], mc, settings, target)
        results: dict[str, Any] = {"rho_real": np.real(mc["rho"]), "rho_imag": np.imag(mc["rho"])}
        for name in ("fidelity", "purity", "concurrence", "tangle"):
            results[name], results[f"{name}_std"] = mc[name]
        results.update({"pairs": float(mc["pairs"]), "target": target, "figure": "" if path is None else str(path)})
        yield from recorder.event("results", results)

    plan = entanglement_run(body, _md, tagger)
    if live_default(live_plot):
        from qnetlab.plans.entanglement.live import TomographyLivePlot

        plan = bpp.subs_wrapper(plan, TomographyLivePlot())
    return (yield from plan)


def read_rho(results_row) -> np.ndarray:
    """The reconstructed 4×4 ρ from a ``results`` row (e.g. ``s.table(uid, "results").iloc[0]``)."""
    from qnetlab.plans.entanglement._counting import unflatten

    return unflatten(results_row, "rho_real", (4, 4)) + 1j * unflatten(results_row, "rho_imag", (4, 4))


def _save_bars(path: Path, rho: np.ndarray, mc: dict, settings: int, target: str) -> None:
    import matplotlib.pyplot as plt

    from qnetlab.analysis.entanglement import plot_density_matrix

    text = ", ".join(
        f"{short} = {mc[name][0]:.3f} ± {mc[name][1]:.3f}"
        for short, name in (("F(" + target + ")", "fidelity"), ("C", "concurrence"), ("P", "purity"))
    )
    fig = plot_density_matrix(rho, path, title=f"Reconstructed ρ ({settings} settings × 4 outcomes, Poisson MLE)",
                              annotation=text)  # fmt: skip
    plt.close(fig)

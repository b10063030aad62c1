"""CHSH test on the pair source: four setting pairs, S raw and accidental-corrected, σ above 2."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from bluesky.utils import MsgGenerator
from pydantic import Field

from qnetlab.plans._arguments import plan_arguments
from qnetlab.plans.entanglement._common import DEFAULT_OFFSETS_PS, DurationS, OffsetsPs, WindowPs, linear_ket
from qnetlab.plans.entanglement._counting import (
    Recorder,
    Window,
    calibration_event,
    entanglement_run,
    measure_setting,
    run_metadata,
)
from qnetlab.plans.entanglement.analyzers import Analyzer
from qnetlab.plans.protocols import StreamingTagger

SETTING_PAIRS = (("a", "b"), ("a", "b'"), ("a'", "b"), ("a'", "b'"))
"""Rows of the CHSH counts; the last enters S with a minus sign."""


@plan_arguments
def chsh(
    tagger: StreamingTagger,
    analyzer_a: Analyzer,
    analyzer_b: Analyzer,
    *,
    duration_s: DurationS = 1.0,
    window_ps: WindowPs = 2_000,
    accidental_offsets_ps: OffsetsPs = DEFAULT_OFFSETS_PS,
    angles_deg: dict[str, float] | None = None,
    min_s: Annotated[float | None, Field(ge=0, le=4, description="pass mark of S (corrected)")] = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Measure the CHSH S of the pair source with both outputs of each PBS.

    Parameters
    ----------
    tagger : the time tagger (streaming; ``stream_directory`` set by the session)
    analyzer_a, analyzer_b : Alice's and Bob's analyzers (:func:`pair_analyzers`)
    duration_s : acquisition time per setting pair (s)
    window_ps : coincidence window, largest |t_b − t_a| (ps)
    accidental_offsets_ps : shifts of Bob's tags for the accidental windows (ps, each > 4 × window)
    angles_deg : linear-polarizer angles ``{"a", "a'", "b", "b'"}`` (deg); default those of
        :data:`qnetlab.analysis.entanglement.CHSH_ANGLES_DEG` (maximal S for Φ+)
    min_s : if given, the run is also the nightly ``pair_source`` step: start document
        ``calibration_step = "pair_source"`` and a ``calibration`` event, passed when the
        accidental-corrected S ≥ ``min_s`` (nothing is applied)
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages. Stream ``primary``: one event per setting pair (mount readings,
    ``coincidences_<tt|tr|rt|rr>``, ``accidentals_<..>``, singles, ``pair`` e.g. ``"a'b"``);
    stream ``timetags``: the raw tags; stream ``results``: ``s_raw``, ``s_raw_std``,
    ``sigmas_above_2_raw``, the same ``_corrected``, and ``correlations_raw/_corrected`` (4,).

    Returns
    -------
    The run uid.
    """
    from qnetlab.analysis.entanglement import CHSH_ANGLES_DEG
    from qnetlab.analysis.entanglement import chsh as chsh_value

    angles = dict(CHSH_ANGLES_DEG if angles_deg is None else angles_deg)
    if set(angles) != set(CHSH_ANGLES_DEG):
        raise ValueError(f"chsh: angles_deg needs exactly the keys a, a', b, b' (got {sorted(angles)})")
    window = Window(window_ps, tuple(accidental_offsets_ps))
    extra_md: dict[str, Any] = {"calibration_step": "pair_source"} if min_s is not None else {}
    args = {"duration_s": duration_s, "window_ps": window_ps, "accidental_offsets_ps": list(accidental_offsets_ps)}
    _md = run_metadata("chsh", tagger, analyzer_a, analyzer_b, {**args, "angles_deg": angles, "min_s": min_s},
                       {**extra_md, **(md or {})})  # fmt: skip
    recorder = Recorder()

    def body(uid: str) -> MsgGenerator[None]:
        counts, accidentals, accidentals_var = [], [], []
        for alice, bob in SETTING_PAIRS:
            measured = yield from measure_setting(
                tagger,
                analyzer_a,
                analyzer_b,
                linear_ket(angles[alice]),
                linear_ket(angles[bob]),
                duration_s=duration_s,
                window=window,
                recorder=recorder,
                extra={"pair": alice + bob},
            )
            counts.append(measured.coincidences)
            accidentals.append(measured.accidentals)
            accidentals_var.append(measured.accidentals_var)
        raw = chsh_value(np.array(counts))
        corrected = chsh_value(
            np.array(counts), accidentals=np.array(accidentals), accidentals_var=np.array(accidentals_var)
        )
        results = {
            "s_raw": raw.s,
            "s_raw_std": raw.s_std,
            "sigmas_above_2_raw": raw.sigmas_above_2,
            "s_corrected": corrected.s,
            "s_corrected_std": corrected.s_std,
            "sigmas_above_2_corrected": corrected.sigmas_above_2,
            "correlations_raw": raw.correlations,
            "correlations_raw_std": raw.correlation_std,
            "correlations_corrected": corrected.correlations,
            "correlations_corrected_std": corrected.correlation_std,
        }
        yield from recorder.event("results", results)
        if min_s is not None:
            passed = abs(corrected.s) >= min_s
            reason = "" if passed else f"S = {corrected.s:.3f} ± {corrected.s_std:.3f} below the pass mark {min_s}"
            figures = {
                "chsh_s": corrected.s,
                "chsh_s_std": corrected.s_std,
                "chsh_sigmas_above_2": corrected.sigmas_above_2,
            }
            yield from calibration_event(recorder, passed=passed, reason=reason, figures=figures)

    return (yield from entanglement_run(body, _md, tagger))

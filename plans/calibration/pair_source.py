"""Pair-source check: two-photon visibility in the H/V and D/A bases against a threshold.

One run: the half-wave plates are turned to 0°, 0° (H/V) and then to ``da_angles_deg``
(D/A; which pair of plate angles correlates depends on the source's state and the
analyzers' port convention: (22.5°, −22.5°) on the sim lab), the pair
detectors are streamed in each basis (streams ``timetags_hv``, ``timetags_da``, linked)
and the coincidences within ``window_ps`` counted: C_∥ = T·T + R·R, C_⊥ = T·R + R·T
(one event per basis in ``primary``). The plates are put back after. Nothing is written
to the devices: ``applied`` is always False.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.analysis.calibration.detector_health import pair_source_check
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.calibration._record import (
    ReadablePositioner,
    acquire_tags,
    readables,
    record_outcome,
    step_metadata,
)
from qnetlab.plans.protocols import StreamingTagger


@plan_arguments
def pair_source(
    tagger: StreamingTagger,
    hwp_a: ReadablePositioner,
    hwp_b: ReadablePositioner,
    *,
    channels: Annotated[Sequence[int], Field(min_length=4, max_length=4)] = (9, 10, 11, 12),
    duration_s: Annotated[float, Field(gt=0, le=60, description="acquisition per basis (s)")] = 0.5,
    window_ps: Annotated[int, Field(gt=0, description="coincidence window (ps)")] = 1000,
    threshold: Annotated[float, Field(gt=0, le=1, description="visibility each basis must reach")] = 0.9,
    da_angles_deg: tuple[float, float] = (22.5, -22.5),
    apply: bool = True,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Coincidence visibility of the pair source in H/V and D/A; passed when both reach ``threshold``.

    ``channels``: tagger inputs of A_T, A_R, B_T, B_R. ``apply`` has nothing to write.
    """
    from qnetlab.analysis.timetags import count_coincidences

    chosen_channels("pair_source", cast(Any, tagger), channels)  # raises on unknown inputs
    a_t, a_r, b_t, b_r = (int(c) for c in channels)
    names = [cast(Any, hwp_a).name, cast(Any, hwp_b).name]
    _md = step_metadata(
        "pair_source",
        {
            "tagger": cast(Any, tagger).name,
            "analyzers": names,
            "channels": [a_t, a_r, b_t, b_r],
            "duration_s": duration_s,
            "window_ps": window_ps,
            "da_angles_deg": list(da_angles_deg),
            "threshold": threshold,
        },
        md,
    )
    parallel = Signal(name="coincidences_parallel", value=0)
    orthogonal = Signal(name="coincidences_orthogonal", value=0)
    angle = Signal(name="hwp_deg", value=0.0)

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        start_a = float((yield from bps.rd(hwp_a)))
        start_b = float((yield from bps.rd(hwp_b)))

        def measure() -> MsgGenerator[None]:
            counts = {}
            for basis, (deg_a, deg_b) in {"hv": (0.0, 0.0), "da": tuple(da_angles_deg)}.items():
                yield from bps.mv(hwp_a, deg_a, hwp_b, deg_b)
                t, c = yield from acquire_tags(tagger, duration_s, [a_t, a_r, b_t, b_r], f"timetags_{basis}")
                par = count_coincidences(t, c, (a_t, b_t), window_ps) + count_coincidences(t, c, (a_r, b_r), window_ps)
                orth = count_coincidences(t, c, (a_t, b_r), window_ps) + count_coincidences(t, c, (a_r, b_t), window_ps)
                parallel.put(int(par))
                orthogonal.put(int(orth))
                angle.put(deg_a)
                yield from bps.trigger_and_read(readables(parallel, orthogonal, angle))
                counts[basis] = (float(par), float(orth))
            check = pair_source_check(counts, threshold)
            figures = {}
            for basis, result in check["bases"].items():
                figures |= {f"visibility_{basis}": result["visibility"], f"visibility_{basis}_err": result["error"]}
            low = [f"{b}: {r['visibility']:.3f}" for b, r in check["bases"].items() if not r["passed"]]
            reason = f"visibility below {threshold}: {', '.join(low)}" if low else ""
            yield from record_outcome(
                passed=check["passed"],
                reason=reason,
                applied=False,
                figures_before={},
                figures_after=figures,
                settings={},
            )

        yield from bpp.finalize_wrapper(measure(), bps.mv(hwp_a, start_a, hwp_b, start_b))

    uid = yield from inner()
    return cast("str", uid)

"""``qnetlab run chsh | visibility | tomography``: the entanglement plans built for the CLI, one summary line each.

The analyzers are :func:`qnetlab.plans.entanglement.pair_analyzers` of the lab (mount and
detector names as in ``config/sim_lab.yaml``, zeros from the K10CR1 entries); ``--duration``
is the acquisition time per setting (s).
"""

from __future__ import annotations

from typing import Any

PLANS = ("chsh", "visibility", "tomography")


def entanglement_recipe(s: Any, plan: str, duration_s: float, seed: int | None = None):
    """The plan ``plan`` on the session's default tagger and the lab's pair analyzers."""
    from qnetlab import plans

    try:
        a, b = plans.pair_analyzers(s.lab)
    except KeyError as error:
        raise ValueError(
            f"{plan}: the lab has no instrument {error.args[0]!r}; the CLI's analyzers are the mounts "
            "ent_a_qwp, ent_a_hwp, ent_b_qwp, ent_b_hwp and detectors ent_a_t/r, ent_b_t/r of config/sim_lab.yaml"
        ) from None
    tagger = s.lab.default_device("tagger")
    if plan == "chsh":
        return plans.chsh(tagger, a, b, duration_s=duration_s)
    if plan == "visibility":
        return plans.visibility_curves(tagger, a, b, duration_s=duration_s, live_plot=False)
    if plan == "tomography":
        return plans.state_tomography(tagger, a, b, duration_s=duration_s, seed=seed, live_plot=False)
    raise ValueError(f"unknown entanglement plan {plan!r}; choose from {', '.join(PLANS)}")


def summary_lines(plan: str, result: Any) -> list[str]:
    """What the run found (``result``: the row of its ``results`` stream), then its figures."""
    if plan == "chsh":
        lines = [
            f"S = {result['s_corrected']:.3f} ± {result['s_corrected_std']:.3f} "
            f"({result['sigmas_above_2_corrected']:.1f} σ above 2, accidentals subtracted); "
            f"raw S = {result['s_raw']:.3f} ± {result['s_raw_std']:.3f} ({result['sigmas_above_2_raw']:.1f} σ)"
        ]
        figures = []
    elif plan == "visibility":
        bases = list(dict.fromkeys(key.split("_")[1] for key in result.index if key.startswith("visibility_")))
        parts = [
            f"{basis.upper()} {result[f'visibility_{basis}_corrected']:.3f} ± "
            f"{result[f'visibility_{basis}_corrected_std']:.3f} (raw {result[f'visibility_{basis}_raw']:.3f})"
            for basis in bases
        ]
        lines = ["visibility (accidentals subtracted): " + ", ".join(parts)]
        figures = [result[f"fringe_{basis}_figure"] for basis in bases]
    else:
        lines = [
            f"fidelity to Φ+ {result['fidelity']:.3f} ± {result['fidelity_std']:.3f}, "
            f"concurrence {result['concurrence']:.3f} ± {result['concurrence_std']:.3f}, "
            f"purity {result['purity']:.3f} ± {result['purity_std']:.3f}"
        ]
        figures = [result["figure"]]
    return lines + [f"figure: {path}" for path in figures if path]

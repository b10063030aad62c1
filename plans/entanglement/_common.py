"""Argument types, defaults and figure/live-plot switches shared by the entanglement plans."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

WindowPs = Annotated[int, Field(ge=1, le=1_000_000, description="coincidence window: largest |t_b - t_a| (ps)")]
DurationS = Annotated[float, Field(gt=0, le=3600, description="acquisition time per setting (s)")]
OffsetsPs = Annotated[
    tuple[int, ...], Field(min_length=1, description="shifts of Bob's tags for the accidental windows (ps)")
]
DEFAULT_OFFSETS_PS = (-200_000, -100_000, 100_000, 200_000)
"""Accidental windows 100 and 200 ns off the pair peak, on both sides (a CW source: any shift far outside works)."""


def linear_ket(angle_deg: float) -> np.ndarray:
    """Ket of linear polarization at ``angle_deg`` from horizontal (a polarizer's axis): (cos θ, sin θ)."""
    theta = np.radians(angle_deg)
    return np.array([np.cos(theta), np.sin(theta)], dtype=complex)


def live_default(live_plot: bool | None) -> bool:
    """``live_plot`` if given, else True only inside an IPython shell (never in the CLI or CI)."""
    if live_plot is not None:
        return live_plot
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def figure_path(tagger: Any, figure_dir: Path | None, uid: str, what: str) -> Path | None:
    """``<figure_dir>/<uid8>-<what>.png``; default ``<data>/figures/YYYY/MM/DD`` beside the tags, else None."""
    if figure_dir is None:
        stream_directory = getattr(tagger, "stream_directory", None)
        if stream_directory is None:
            return None
        figure_dir = Path(stream_directory).parent / "figures" / time.strftime("%Y/%m/%d")
    figure_dir = Path(figure_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    return figure_dir / f"{uid[:8]}-{what}.png"

"""Live plots of calibration scans for IPython: the points as they come (bluesky ``LivePlot``) and the fit.

:class:`CalibrationLivePlots` is one RunEngine subscription; on each run's start document
it opens a figure for the step it knows (``calibration_step``) and routes the run's
documents to bluesky ``LivePlot`` callbacks, plus, for the piezo scan, the fringe fit
redrawn after every point (lmfit, which ``LiveFit`` needs, is not a dependency; the fit is
:func:`qnetlab.analysis.calibration.fringe.fit_fringe`). Other runs are ignored.
``qnetlab.session.start(..., live_plots=True)`` subscribes it; the CLI and CI leave it off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bluesky.callbacks.core import CallbackBase


class FringeFitLine(CallbackBase):
    """Redraw the fringe fit of the primary stream's (voltage, X0 counts) on ``ax`` after each point."""

    def __init__(self, ax: Any, x: str, y: str = "x0_counts") -> None:
        super().__init__()
        self.ax, self.x, self.y = ax, x, y
        self.points: list[tuple[float, float]] = []
        self.line = None
        self.primary: str | None = None
        self.fit = None

    def descriptor(self, doc: Any) -> None:
        if doc.get("name") == "primary":
            self.primary = doc["uid"]

    def event(self, doc: Any) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        if doc["descriptor"] != self.primary or self.x not in doc["data"]:
            return
        self.points.append((float(doc["data"][self.x]), float(doc["data"][self.y])))
        if len(self.points) < 7:
            return
        from qnetlab.analysis.calibration.fringe import fit_fringe

        v, n = np.array(self.points).T
        try:
            self.fit = fit_fringe(v, n)
        except (RuntimeError, ValueError):
            return
        grid = np.linspace(v.min(), v.max(), 300)
        label = f"fit: visibility {self.fit.visibility:.3f}, V_2π {self.fit.v_2pi_v:.1f} V"
        if self.line is None:
            (self.line,) = self.ax.plot(grid, self.fit.model(grid), "-", color="C1", label=label)
        else:
            self.line.set_data(grid, self.fit.model(grid))
            self.line.set_label(label)
        self.ax.legend(loc="upper right", fontsize=8)
        self.ax.figure.canvas.draw_idle()


class CalibrationLivePlots(CallbackBase):
    """One subscription that plots each calibration scan as it runs (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: list[Any] = []
        self.figures: dict[str, Any] = {}  # step -> the figure of its last run

    def start(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        import matplotlib.pyplot as plt
        from bluesky.callbacks.mpl_plotting import LivePlot

        self.callbacks = []
        step = doc.get("calibration_step")
        if step == "timebin_phase":
            fig, ax = plt.subplots(num="timebin_phase", clear=True, figsize=(6, 4))
            piezo = doc.get("plan_args", {}).get("piezo", "piezo")
            x = f"{piezo}_voltage_v"
            ax.set(xlabel="piezo voltage (V)", ylabel="X0 counts (middle bin)", title="time-bin fringe")
            self.callbacks = [LivePlot("x0_counts", x, ax=ax, marker="o", linestyle="none"), FringeFitLine(ax, x)]
        elif step == "polarization_compensation":
            fig, ax = plt.subplots(num="polarization_compensation", clear=True, figsize=(6, 4))
            ax.set(xlabel="round", ylabel="QBER", yscale="log", title="polarization compensation")
            self.callbacks = [
                LivePlot("qber_z", "round", ax=ax, marker="o", label="Z"),
                LivePlot("qber_x", "round", ax=ax, marker="s", label="X"),
            ]
        else:
            return
        self.figures[step] = fig
        labels = (ax.get_xlabel(), ax.get_ylabel())
        for callback in self.callbacks:
            callback("start", doc)
        ax.set(xlabel=labels[0], ylabel=labels[1])  # LivePlot names the axes after the data keys

    def descriptor(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        if doc.get("name") != "primary":  # the scan; not its start/check readings
            return
        self._primary = doc["uid"]
        for callback in self.callbacks:
            callback("descriptor", doc)

    def event(self, doc: Any) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        if doc["descriptor"] != getattr(self, "_primary", None):
            return
        for callback in self.callbacks:
            callback("event", doc)

    def stop(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        for callback in self.callbacks:
            callback("stop", doc)
        self.callbacks = []

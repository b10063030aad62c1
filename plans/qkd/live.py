"""Live display of a QKD run for IPython: QBER per basis, sifted and secret key rate per block, over time.

:class:`QkdLivePlots` is one RunEngine subscription. On the start document of a ``bb84``
(or ``bbm92``) run it opens one figure of three panels sharing the time axis (s since the
run started): QBER of the key (X) and test (Z) basis with the abort threshold, the sifted
key rate and the secret key rate (bit/s of light, log scale) of each block of stream
``blocks``; spans where the QBER monitor had key output suspended (stream ``monitor``) are
shaded in every panel. Other runs are ignored. ``qnetlab.session.start(..., live_plots=True)``
subscribes it next to the calibration plots; the CLI and CI leave it off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from bluesky.callbacks.core import CallbackBase

PLANS = ("bb84", "bbm92")


class QkdLivePlots(CallbackBase):
    """Plots each QKD run's blocks as they are distilled (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.figure: Any = None  # the figure of the last QKD run
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self._streams: dict[str, str] = {}
        self._t0 = 0.0
        self._suspended_at: float | None = None
        self._lines: dict[str, Any] = {}
        self._axes: list[Any] = []

    def start(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        self._streams = {}
        if doc.get("plan_name") not in PLANS:
            self.figure = None
            return
        import matplotlib.pyplot as plt

        self._t0 = float(doc["time"])
        self._suspended_at = None
        self.series = {key: ([], []) for key in ("qber_x", "qber_z", "sifted_rate_hz", "secret_rate_hz")}
        fig, axes = plt.subplots(3, 1, num=f"qkd {doc['plan_name']}", clear=True, figsize=(7, 7), sharex=True)
        args = doc.get("plan_args", {})
        title = (
            f"{doc['plan_name']} {args.get('encoding', '')} on {args.get('link', '')}, scan {doc.get('scan_id', '')}"
        )
        axes[0].set_title(title.replace("  ", " "))
        abort = args.get("qber_abort")
        if abort is not None:
            axes[0].axhline(abort, color="C3", linestyle="--", linewidth=1, label=f"abort {abort:.0%}")
        styles = {
            "qber_x": (axes[0], "o-", "C0", "X (key basis)"),
            "qber_z": (axes[0], "s-", "C1", "Z (test basis)"),
            "sifted_rate_hz": (axes[1], "o-", "C2", "sifted key"),
            "secret_rate_hz": (axes[2], "o-", "C4", "secret key"),
        }
        self._lines = {}
        for key, (ax, style, color, label) in styles.items():
            (self._lines[key],) = ax.plot([], [], style, color=color, label=label, markersize=4)
        axes[0].set(ylabel="QBER")
        axes[1].set(ylabel="sifted rate (bit/s)", yscale="log", ylim=(1e3, 1e7))  # until the first block
        axes[2].set(ylabel="secret key rate (bit/s)", yscale="log", ylim=(1e2, 1e6))
        axes[2].set(xlabel="time since the run started (s)")
        for ax in axes:
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        self.figure, self._axes = fig, list(axes)

    def descriptor(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        if self.figure is not None:
            self._streams[doc["uid"]] = doc.get("name", "")

    def event(self, doc: Any) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        stream = self._streams.get(doc["descriptor"])
        t = float(doc["time"]) - self._t0
        data = doc["data"]
        if stream == "blocks":
            for key, (xs, ys) in self.series.items():
                value = float(data.get(key, math.nan))
                if key.endswith("rate_hz") and not value > 0:
                    value = math.nan  # no key in this block: a gap on the log scale, not a point at 0
                xs.append(t)
                ys.append(value)
                self._lines[key].set_data(xs, ys)
            self._redraw()
        elif stream == "monitor":
            action = data.get("monitor_action")
            if action == "suspend" and self._suspended_at is None:
                self._suspended_at = t
            elif action == "resume" and self._suspended_at is not None:
                self._shade(self._suspended_at, t)
                self._suspended_at = None
                self._redraw()

    def stop(self, doc: Any) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        if self.figure is not None and self._suspended_at is not None:
            self._shade(self._suspended_at, float(doc["time"]) - self._t0)
            self._suspended_at = None
            self._redraw()

    def _shade(self, begin: float, end: float) -> None:
        for k, ax in enumerate(self._axes):
            ax.axvspan(begin, end, color="0.6", alpha=0.3, label="key output suspended" if k == 0 else None)
        self._axes[0].legend(loc="upper left", fontsize=8)

    def _redraw(self) -> None:
        for ax in self._axes:
            if any(np.isfinite(np.asarray(line.get_ydata(), float)).any() for line in ax.get_lines()):
                ax.set_autoscaley_on(True)  # the starting limits of the log panels hold until there is data
            ax.relim()
            ax.autoscale_view()
        self.figure.canvas.draw_idle()

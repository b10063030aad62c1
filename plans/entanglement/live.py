"""Live figures for IPython: the fringe as its points arrive, the density matrix when the fit is done.

Both are bluesky callbacks on the run's documents (``QtAwareCallback``: with a Qt backend
they draw on the GUI thread, as bluesky's own ``LivePlot`` does). The plans subscribe them
when ``live_plot`` is true, or by default only inside an IPython shell; the CLI and CI
never draw. They need only the recorded fields, so they can replay a run from the catalog too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bluesky.callbacks.mpl_plotting import QtAwareCallback

from qnetlab.plans.entanglement._counting import unflatten


class FringeLivePlot(QtAwareCallback):
    """Coincidences (A_T·B_T) against the swept angle, one colour per fixed state; fits drawn at the end."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.figure: Any = None
        self._streams: dict[str, str] = {}
        self._points: dict[str, tuple[list[float], list[float]]] = {}
        self._artists: dict[str, Any] = {}

    def start(self, doc):
        import matplotlib.pyplot as plt

        self.figure, self.axes = plt.subplots(figsize=(7.5, 4.8))
        self.axes.set_xlabel("swept polarizer angle (deg)")
        self.axes.set_ylabel("coincidences per point")
        self.axes.set_title(f"Two-photon fringes (run {doc['uid'][:8]})")
        self._streams.clear()
        self._points.clear()
        self._artists.clear()

    def descriptor(self, doc):
        self._streams[doc["uid"]] = doc.get("name", "primary")

    def event(self, doc):
        stream = self._streams.get(doc["descriptor"])
        data = doc["data"]
        if stream == "primary" and "fixed_state" in data:
            state = str(data["fixed_state"])
            x, y = self._points.setdefault(state, ([], []))
            x.append(float(data["swept_angle_deg"]))
            y.append(float(data["coincidences_tt"]))
            if state not in self._artists:
                (self._artists[state],) = self.axes.plot([], [], "o", label=f"Alice at {state}")
                self.axes.legend(loc="upper right", fontsize=8)
            self._artists[state].set_data(x, y)
            self.axes.relim()
            self.axes.autoscale_view()
        elif stream == "results":
            fine = np.linspace(0.0, 180.0, 361)
            for state, artist in self._artists.items():
                key = state.lower()
                v, v_std = data[f"visibility_{key}_corrected"], data[f"visibility_{key}_corrected_std"]
                curve = data[f"fringe_{key}_mean"] * (
                    1 + v * np.cos(np.radians(2 * (fine - data[f"fringe_{key}_phase_deg"])))
                )
                curve = curve + data[f"fringe_{key}_accidentals"]
                self.axes.plot(
                    fine, curve, "-", color=artist.get_color(), label=f"fit {state}: V = {v:.3f} ± {v_std:.3f}"
                )
            self.axes.legend(loc="upper right", fontsize=8)
        self.figure.canvas.draw_idle()
        return doc


class TomographyLivePlot(QtAwareCallback):
    """The 3-D bars of Re ρ and Im ρ, drawn when the run's ``results`` event arrives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.figure: Any = None
        self._streams: dict[str, str] = {}

    def descriptor(self, doc):
        self._streams[doc["uid"]] = doc.get("name", "primary")

    def event(self, doc):
        if self._streams.get(doc["descriptor"]) != "results":
            return doc
        import matplotlib.pyplot as plt

        from qnetlab.analysis.entanglement import plot_density_matrix

        data = doc["data"]
        rho = unflatten(data, "rho_real", (4, 4)) + 1j * unflatten(data, "rho_imag", (4, 4))
        self.figure = plot_density_matrix(rho, annotation=_merit_text(data))
        plt.show(block=False)
        return doc


def _merit_text(data) -> str:
    """``F = … ± …, C = … ± …, P = … ± …`` from a tomography ``results`` row."""
    names = (("F", "fidelity"), ("C", "concurrence"), ("P", "purity"))
    return ", ".join(f"{short} = {data[n]:.3f} ± {data[n + '_std']:.3f}" for short, n in names)

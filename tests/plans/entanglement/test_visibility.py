"""Visibility curves on the simulated pair source: V in the H and D bases within fit error."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from qnetlab import plans
from qnetlab.plans.entanglement import pair_analyzers
from qnetlab.plans.entanglement.live import FringeLivePlot

ANGLES_DEG = [0.0, 30.0, 60.0, 90.0, 120.0, 150.0]


def test_fringes_in_both_bases(bell_session):
    s = bell_session
    a, b = pair_analyzers(s.lab)
    plt.close("all")
    plan = plans.visibility_curves(s.lab.tagger, a, b, angles_deg=ANGLES_DEG, duration_s=0.1, live_plot=True)
    (uid,) = s.RE(plan)
    points = s.table(uid)
    result = s.table(uid, "results").iloc[0]
    assert list(points["fixed_state"]) == ["H"] * 6 + ["D"] * 6
    assert points["swept_angle_deg"].tolist() == ANGLES_DEG * 2
    # Bob's HWP at half the polarizer angle plus the mount's configured zero (mod 90: the same linear analyzer)
    hwp = points["ent_b_hwp_angle_deg"].to_numpy()[:6] - b.hwp_zero_deg
    assert b.hwp_zero_from == "config" and b.hwp_zero_deg == s.lab.config.instruments["ent_b_hwp"].zero_offset_deg
    assert np.abs((hwp - np.array(ANGLES_DEG) / 2 + 45) % 90 - 45).max() < 1e-3
    for basis, phase in (("h", 0.0), ("d", 45.0)):
        v, v_std = result[f"visibility_{basis}_corrected"], result[f"visibility_{basis}_corrected_std"]
        assert abs(v - s.visibility) < 3 * v_std and v_std < 0.05
        assert result[f"visibility_{basis}_raw"] < v  # accidentals only dilute
        assert abs((result[f"fringe_{basis}_phase_deg"] - phase + 90) % 180 - 90) < 5
        figure = result[f"fringe_{basis}_figure"]
        assert figure.endswith(f"-fringe-{basis.upper()}.png") and str(s.data_dir) in figure
    # the live figure drew every point and both fits
    (number,) = plt.get_fignums()
    lines = plt.figure(number).axes[0].get_lines()
    assert sorted(len(line.get_xdata()) for line in lines) == [6, 6, 361, 361]
    plt.close("all")


def test_live_plot_draws_points_then_the_fit():
    plot = FringeLivePlot(use_teleporter=False)
    plot("start", {"uid": "0123456789", "time": 0})
    plot("descriptor", {"uid": "p", "name": "primary", "run_start": "0123456789", "data_keys": {}})
    plot("descriptor", {"uid": "r", "name": "results", "run_start": "0123456789", "data_keys": {}})
    for angle, n in ((0, 100), (45, 50), (90, 2)):
        data = {"fixed_state": "H", "swept_angle_deg": angle, "coincidences_tt": n}
        plot("event", {"descriptor": "p", "data": data, "seq_num": 1, "time": 0, "uid": f"e{angle}"})
    (points,) = plot.axes.get_lines()
    assert list(points.get_ydata()) == [100, 50, 2]
    fit = {"visibility_h_corrected": 0.96, "visibility_h_corrected_std": 0.01, "fringe_h_mean": 50.0}
    fit.update({"fringe_h_phase_deg": 0.0, "fringe_h_accidentals": 1.0})
    plot("event", {"descriptor": "r", "data": fit, "seq_num": 1, "time": 0, "uid": "f"})
    curve = plot.axes.get_lines()[1]
    assert np.max(curve.get_ydata()) == pytest.approx(50 * 1.96 + 1) and "V = 0.960" in curve.get_label()
    plt.close(plot.figure)

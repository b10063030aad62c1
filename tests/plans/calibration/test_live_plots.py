"""Live plots under Agg: the fringe scan draws its points and the fit; the PNG is written."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from qnetlab import plans
from qnetlab.plans.calibration.live_plots import CalibrationLivePlots


def test_fringe_scan_draws_points_and_fit(bare, tmp_path):
    RE, lab, _ = bare
    plots = CalibrationLivePlots()
    token = RE.subscribe(plots)
    try:
        RE(plans.timebin_phase(lab.tagger, lab.laser, lab.bob_piezo, num=12))
        RE(plans.polarization_compensation(lab.tagger, lab.laser, lab.bob_pc))
    finally:
        RE.unsubscribe(token)
    fringe = plots.figures["timebin_phase"]
    lines = fringe.axes[0].get_lines()
    points = [line for line in lines if len(line.get_xdata()) == 12]
    fits = [line for line in lines if len(line.get_xdata()) == 300]
    assert points and fits and "visibility" in fits[0].get_label()
    path = tmp_path / "fringe.png"
    fringe.savefig(path)
    assert path.stat().st_size > 10_000
    qber = plots.figures["polarization_compensation"].axes[0].get_lines()
    assert len(qber) == 2 and len(qber[0].get_xdata()) >= 1
    plots.figures["polarization_compensation"].savefig(tmp_path / "qber.png")
    fringe.savefig("/tmp/calib_live_fringe.png")
    plots.figures["polarization_compensation"].savefig("/tmp/calib_live_qber.png")

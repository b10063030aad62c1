"""The report's scan figure draws the numeric columns of any step's table, strings and flags beside them."""

from __future__ import annotations

import pandas as pd

from qnetlab.nightly.report_figures import scan_figure


def test_scan_figure_skips_string_and_flag_columns():
    table = pd.DataFrame(
        {"qber_x": [0.4, 0.05, 0.011], "qber_z": [0.6, 0.04, 0.010], "method": ["fit", "fit", "check"], "ok": [0, 1, 1]}
    )
    table["ok"] = table["ok"].astype(bool)
    figure = scan_figure("polarization_compensation", table)
    (axis,) = figure.axes
    drawn = {line.get_label() for line in axis.get_lines()} | {axis.get_xlabel()}
    assert drawn == {"qber_x", "qber_z"}  # the first varying reading is the x axis, the other a line

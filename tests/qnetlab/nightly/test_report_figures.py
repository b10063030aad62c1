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


def test_trend_families_group_channels_and_bases_and_leave_intervals_out():
    from qnetlab.nightly.report_figures import trend_families

    names = ["ch2_dark_hz", "ch2_dark_low_hz", "ch2_dark_high_hz", "ch3_dark_hz", "qber_z", "qber_x"]
    names += ["peak_9_11_ps", "visibility_hv", "visibility_hv_err", "measurements"]
    assert trend_families(names) == {
        "dark_hz": {"ch2": "ch2_dark_hz", "ch3": "ch3_dark_hz"},
        "qber": {"x": "qber_x", "z": "qber_z"},
        "peak_ps": {"9→11": "peak_9_11_ps"},
        "visibility": {"hv": "visibility_hv"},
        "measurements": {"": "measurements"},
    }


def test_a_step_figure_that_cannot_be_drawn_says_why_and_a_foreign_plan_gets_none():
    from types import SimpleNamespace

    from qnetlab.nightly.report import _specific_figures

    class Run:  # a timebin_phase run whose streams are gone
        def __init__(self, plan_name):
            start = {"uid": "u", "plan_name": plan_name, "calibration_step": "timebin_phase"}
            self.metadata = {"start": start | {"plan_args": {"piezo": "bob_piezo"}}}

        def __contains__(self, stream):
            return False

        def __getitem__(self, stream):
            raise KeyError(f"no stream {stream!r}")

    step = SimpleNamespace(name="timebin_phase")
    parts, own = _specific_figures(step, Run("timebin_phase"))
    assert not own and parts[0].startswith('<p class="figure-error">step figures not drawn: KeyError')
    assert _specific_figures(step, Run("my_lab_phase_scan")) == ([], False)  # the lab's own plan: generic figures

"""The calibration figures draw what they are given (and can be saved as PNG)."""

from __future__ import annotations

import numpy as np

from qnetlab.analysis.calibration.compensation import Round
from qnetlab.analysis.calibration.delays import peak_position_ps
from qnetlab.analysis.calibration.detector_health import choose_bias
from qnetlab.analysis.calibration.fringe import fit_fringe
from qnetlab.analysis.calibration.plots import (
    bias_curve_figure,
    delay_peaks_figure,
    fringe_figure,
    qber_before_after_figure,
    qber_rounds_figure,
)


def make_figures(rng):
    rounds = [Round(np.zeros(3), np.ones((2, 4)), q, x, "fast") for q, x in ((0.4, 0.7), (0.3, 0.05), (0.011, 0.01))]
    volts = np.linspace(0, 120, 31)
    counts = rng.poisson(800 * (1 + 0.93 * np.cos(2 * np.pi * volts / 60 + 0.7)))
    fit = fit_fringe(volts, counts, v_2pi_v=60.0)
    edges = np.arange(-2000, 2001, 10.0)
    hists = {3: np.histogram(rng.normal(412, 35, 3000), edges)[0], 4: np.histogram(rng.normal(-95, 35, 3000), edges)[0]}
    peaks = {ch: peak_position_ps(h, edges) for ch, h in hists.items()}
    bias = np.linspace(5, 11.8, 30)
    eff = 0.85 / (1 + np.exp(-(bias - 8) / 0.6)) * rng.normal(1, 0.01, bias.size)
    dark = 20 + 1e5 * np.exp((bias - 12) / 0.35)
    choice = choose_bias(bias, eff, dark, dark_budget_hz=1000)
    return {
        "qber_rounds": qber_rounds_figure(rounds, 0.015, 0.01),
        "qber_before_after": qber_before_after_figure(
            rng.uniform(0.05, 0.9, (6, 2)), rng.uniform(0.009, 0.012, (6, 2)), 0.015
        ),
        "fringe": fringe_figure(volts, counts, fit, fit.maximum_voltage_v((0, 150))),
        "delay_peaks": delay_peaks_figure(hists, edges, peaks),
        "bias_curve": bias_curve_figure(bias, eff, dark, choice),
    }


def test_figures_render_their_data(tmp_path):
    figures = make_figures(np.random.default_rng(0))
    for name, fig in figures.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=80)
        assert path.stat().st_size > 5_000, name
    ax = figures["qber_rounds"].axes[0]
    assert np.allclose(ax.lines[0].get_ydata(), [0.4, 0.3, 0.011])
    assert "V = 0.9" in figures["fringe"].axes[0].get_legend().get_texts()[0].get_text()
    title = figures["delay_peaks"].axes[0].get_title()  # "ch 3: <centre> ± <err> ps"
    assert title.startswith("ch 3:") and abs(float(title.split()[2]) - 412) < 3
    assert "µA" in figures["bias_curve"].axes[0].get_title()

"""Figures of the calibrations (matplotlib, Agg canvas; each function returns a Figure)."""

from __future__ import annotations

import numpy as np


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def qber_rounds_figure(
    rounds, target_qber: float, floor: float | None = None, title: str = "Polarization compensation"
):
    """QBER of the Z and X bases per measurement round (log scale), with the target line."""
    fig = _figure()
    ax = fig.add_subplot()
    index = np.arange(1, len(rounds) + 1)
    ax.semilogy(index, [max(r.qber_z, 1e-4) for r in rounds], "o-", label="Z basis (H sent)")
    ax.semilogy(index, [max(r.qber_x, 1e-4) for r in rounds], "s-", label="X basis (D sent)")
    ax.axhline(target_qber, color="k", ls="--", lw=1, label=f"target {target_qber:.1%}")
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", lw=1, label=f"floor {floor:.1%}")
    ax.set_xlabel("measurement round")
    ax.set_ylabel("QBER")
    ax.set_xticks(index)
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


def qber_before_after_figure(before, after, target_qber: float):
    """QBER before and after compensation for many drifts: paired bars per basis (log scale)."""
    before, after = np.asarray(before, float), np.asarray(after, float)
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    x = np.arange(len(before))
    for basis, (offset, name) in enumerate(((-0.2, "Z"), (0.2, "X"))):
        ax.bar(x + offset - 0.1, before[:, basis], 0.2, color=f"C{basis}", alpha=0.4, label=f"{name} before")
        ax.bar(x + offset + 0.1, after[:, basis], 0.2, color=f"C{basis}", label=f"{name} after")
    ax.set_yscale("log")
    ax.axhline(target_qber, color="k", ls="--", lw=1, label=f"target {target_qber:.1%}")
    ax.set_xlabel("drift (seed)")
    ax.set_ylabel("QBER")
    ax.set_title("QBER before / after compensation")
    ax.legend(ncol=5, fontsize=7, loc="upper center")
    return fig


def fringe_figure(voltage_v, counts, fit, lock_v: float | None = None):
    """Counts vs piezo voltage with Poisson error bars, the fitted fringe and the lock voltage."""
    v = np.asarray(voltage_v, float)
    n = np.asarray(counts, float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.errorbar(v, n, yerr=np.sqrt(np.maximum(n, 1)), fmt="o", ms=4, label="counts")
    fine = np.linspace(v.min(), v.max(), 400)
    ax.plot(fine, fit.model(fine), label=f"fit: V = {fit.visibility:.3f} ± {fit.visibility_err:.3f}")
    if lock_v is not None:
        ax.axvline(lock_v, color="k", ls="--", lw=1, label=f"lock {lock_v:.2f} V")
    ax.set_xlabel("piezo voltage (V)")
    ax.set_ylabel("counts per point")
    ax.set_title(f"Time-bin fringe (V$_{{2\\pi}}$ = {fit.v_2pi_v:.1f} V)")
    ax.legend(loc="best", fontsize=8)
    return fig


def delay_peaks_figure(histograms: dict, bin_edges_ps, peaks: dict):
    """Correlation histograms around each fitted coincidence peak (one panel per channel)."""
    edges = np.asarray(bin_edges_ps, float)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = _figure(3.2 * max(len(histograms), 1), 3.4)
    axes = fig.subplots(1, max(len(histograms), 1), squeeze=False)[0]
    for ax, (channel, hist) in zip(axes, histograms.items(), strict=False):
        peak = peaks[channel]
        near = np.abs(centres - peak.centre_ps) < 6 * max(peak.sigma_ps, edges[1] - edges[0])
        ax.step(centres[near], np.asarray(hist)[near], where="mid")
        ax.axvline(peak.centre_ps, color="k", ls="--", lw=1)
        ax.set_title(f"ch {channel}: {peak.centre_ps:.1f} ± {peak.centre_err_ps:.1f} ps", fontsize=9)
        ax.set_xlabel("Δt (ps)")
    axes[0].set_ylabel("pairs per bin")
    return fig


def bias_curve_figure(bias_ua, efficiency, dark_hz, choice):
    """SNSPD efficiency (left axis) and dark counts (right, log) vs bias, with the chosen bias."""
    b = np.asarray(bias_ua, float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(b, efficiency, "o", ms=4, color="C0", label="efficiency")
    plateau, mid, width = choice.fit
    fine = np.linspace(b.min(), b.max(), 300)
    ax.plot(fine, plateau / (1 + np.exp(-(fine - mid) / width)), color="C0", lw=1)
    ax.set_xlabel("bias current (µA)")
    ax.set_ylabel("detection efficiency", color="C0")
    dark_ax = ax.twinx()
    dark_ax.semilogy(b, dark_hz, "s", ms=3, color="C3")
    dark_ax.set_ylabel("dark counts (Hz)", color="C3")
    if choice.bias_ua is not None:
        ax.axvline(choice.bias_ua, color="k", ls="--", lw=1)
        ax.set_title(
            f"bias {choice.bias_ua:.2f} µA: η = {choice.efficiency:.3f}, dark {choice.dark_hz:.0f} Hz", fontsize=10
        )
    else:
        ax.set_title(f"no bias chosen: {choice.reason}", fontsize=9)
    return fig

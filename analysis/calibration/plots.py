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


def fringe_figure(voltage_v, counts, fit, lock_v: float | None = None, other_counts=None, contrast_at_lock=None):
    """Counts vs piezo voltage with Poisson error bars, the fitted fringe and the lock voltage.

    ``other_counts``: the second output (X1), drawn unfitted; ``contrast_at_lock``: the
    contrast measured after locking, in the lock line's label.
    """
    v = np.asarray(voltage_v, float)
    n = np.asarray(counts, float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.errorbar(
        v, n, yerr=np.sqrt(np.maximum(n, 1)), fmt="o", ms=4, label="X0 counts" if other_counts is not None else "counts"
    )
    fine = np.linspace(v.min(), v.max(), 400)
    ax.plot(fine, fit.model(fine), label=f"fit: V = {fit.visibility:.3f} ± {fit.visibility_err:.3f}")
    if other_counts is not None:
        ax.plot(v, np.asarray(other_counts, float), "s", ms=4, mfc="none", color="C3", label="X1 counts")
    if lock_v is not None:
        at = f", contrast {contrast_at_lock:.3f}" if contrast_at_lock is not None else ""
        ax.axvline(lock_v, color="k", ls="--", lw=1, label=f"lock {lock_v:.2f} V{at}")
    ax.set_xlabel("piezo voltage (V)")
    ax.set_ylabel("counts per point")
    ax.set_title(f"Time-bin fringe (V$_{{2\\pi}}$ = {fit.v_2pi_v:.1f} V)")
    top = max(float(n.max(initial=0)), float(np.max(other_counts, initial=0)) if other_counts is not None else 0.0)
    ax.set_ylim(0, top * 1.4 or 1)  # room for the legend above the points
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return fig


def _peak_panel(ax, centres, hist, peak, bin_ps: float, colour: str) -> None:
    near = np.abs(centres - peak.centre_ps) < 6 * max(peak.sigma_ps, bin_ps)
    ax.step(centres[near], np.asarray(hist)[near], where="mid", color=colour)
    fine = np.linspace(centres[near].min(), centres[near].max(), 300)
    gauss = (
        peak.counts
        * bin_ps
        / (np.sqrt(2 * np.pi) * peak.sigma_ps)
        * np.exp(-0.5 * ((fine - peak.centre_ps) / peak.sigma_ps) ** 2)
    )
    ax.plot(fine, peak.background + gauss, color="k", lw=0.8)
    ax.axvline(peak.centre_ps, color="k", ls="--", lw=1)
    ax.axvline(0, color="C2", ls=":", lw=1)


def delay_peaks_figure(histograms: dict, bin_edges_ps, peaks: dict, after: tuple[dict, dict] | None = None):
    """Correlation histograms around each fitted coincidence peak (one panel per channel or pair).

    ``after``: (histograms, peaks) of the check acquisition after the delays were applied,
    drawn as a second row; the dotted line marks zero, the target.
    """
    edges = np.asarray(bin_edges_ps, float)
    centres = (edges[:-1] + edges[1:]) / 2
    bin_ps = float(edges[1] - edges[0])
    rows = [("before", histograms, peaks, "C0")] + ([("after", after[0], after[1], "C2")] if after else [])
    fig = _figure(3.2 * max(len(histograms), 1), 3.0 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), max(len(histograms), 1), squeeze=False)
    for row, (when, hists, fitted, colour) in zip(axes, rows, strict=True):
        for ax, (channel, hist) in zip(row, hists.items(), strict=False):
            peak = fitted[channel]
            _peak_panel(ax, centres, hist, peak, bin_ps, colour)
            label = f"{channel[0]}→{channel[1]}" if isinstance(channel, tuple) else f"ch {channel}"
            prefix = f"{when}: " if after else ""
            ax.set_title(f"{prefix}{label}: {peak.centre_ps:.1f} ± {peak.centre_err_ps:.1f} ps", fontsize=9)
            ax.set_xlabel("Δt (ps)")
        row[0].set_ylabel("pairs per bin")
    return fig


def _bias_panel(ax, b, efficiency, dark_hz, choice, title_prefix="", one_count_hz=None, dark_budget_hz=None) -> None:
    ax.plot(b, efficiency, "o", ms=4, color="C0", label="efficiency")
    plateau, mid, width = choice.fit
    fine = np.linspace(b.min(), b.max(), 300)
    ax.plot(fine, plateau / (1 + np.exp(-(fine - mid) / width)), color="C0", lw=1)
    ax.set_xlabel("bias current (µA)")
    ax.set_ylabel("relative efficiency", color="C0")
    dark_ax = ax.twinx()
    dark = np.asarray(dark_hz, float)
    floor = one_count_hz or max(float(dark[dark > 0].min(initial=1.0)), 1.0)
    seen = dark > 0
    dark_ax.semilogy(b[seen], dark[seen], "s", ms=3, color="C3")
    dark_ax.semilogy(b[~seen], np.full((~seen).sum(), floor), "v", ms=4, color="C3", mfc="none")  # none: < 1 count
    if dark_budget_hz is not None:
        dark_ax.axhline(dark_budget_hz, color="C3", ls=":", lw=1)
    dark_ax.set_ylabel("dark counts (Hz; ▽ none counted)", color="C3")
    if choice.bias_ua is not None:
        ax.axvline(choice.bias_ua, color="k", ls="--", lw=1)
        ax.set_title(
            f"{title_prefix}bias {choice.bias_ua:.2f} µA: η = {choice.efficiency:.3f}, dark {choice.dark_hz:.0f} Hz",
            fontsize=9 if title_prefix else 10,
        )
    else:
        ax.set_title(f"{title_prefix}no bias chosen: {choice.reason}", fontsize=9)


def bias_curve_figure(bias_ua, efficiency, dark_hz, choice):
    """SNSPD efficiency (left axis) and dark counts (right, log) vs bias, with the chosen bias."""
    fig = _figure()
    _bias_panel(fig.add_subplot(), np.asarray(bias_ua, float), efficiency, dark_hz, choice)
    return fig


def bias_curves_figure(bias_ua, curves: dict, one_count_hz=None, dark_budget_hz=None):
    """One bias-curve panel per SNSPD channel: ``curves`` maps a label to (efficiency, dark_hz, choice).

    ``one_count_hz``: the rate of one count in a reading (where a reading with none is drawn,
    ▽); ``dark_budget_hz``: the rule's dark limit (dotted, on the dark axis).
    """
    b = np.asarray(bias_ua, float)
    columns = min(len(curves), 2) or 1
    rows = -(-len(curves) // columns) or 1
    fig = _figure(5.0 * columns, 3.2 * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (label, (efficiency, dark_hz, choice)) in zip(axes, curves.items(), strict=False):
        _bias_panel(ax, b, efficiency, dark_hz, choice, f"{label}: ", one_count_hz, dark_budget_hz)
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    fig.suptitle(
        "SNSPD bias sweep: efficiency (light − dark, relative), dark counts; dashed: chosen bias, dotted: dark budget",
        fontsize=10,
    )
    return fig


def dark_counts_figure(channels, rate_hz, low_hz, high_hz, max_dark_hz: float | None = None):
    """Dark count rate per tagger input with its 95 % (Garwood) interval and the health limit."""
    rate, low, high = (np.asarray(x, float) for x in (rate_hz, low_hz, high_hz))
    fig = _figure(max(4.5, 0.7 * len(rate) + 2.0), 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(rate))
    ok = rate <= (max_dark_hz if max_dark_hz is not None else np.inf)
    ax.bar(x, rate, 0.6, color=np.where(ok, "C0", "C3"))
    ax.errorbar(x, rate, yerr=[rate - low, high - rate], fmt="none", ecolor="k", capsize=3, lw=1)
    if max_dark_hz is not None:
        ax.axhline(max_dark_hz, color="C3", ls="--", lw=1, label=f"limit {max_dark_hz:g} Hz")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x, [f"input {c}" for c in channels], fontsize=8)
    ax.set_ylabel("dark counts (Hz)")
    ax.set_ylim(0, max(float(high.max(initial=0)), max_dark_hz or 0) * 1.15 or 1)
    ax.set_title("Dark counts with Alice's output off (bars: 95 % interval)", fontsize=10)
    return fig


def compensation_figure(qber_z, qber_x, target_qber: float, floor: float | None = None):
    """QBER of both bases per measurement round (left) and before / after per basis (right), log scale."""
    z, x = np.maximum(np.asarray(qber_z, float), 1e-4), np.maximum(np.asarray(qber_x, float), 1e-4)
    best = int(np.argmin(np.maximum(z, x)))
    fig = _figure(8.0, 3.4)
    rounds, bars = fig.subplots(1, 2, width_ratios=(1.4, 1))
    index = np.arange(1, z.size + 1)
    rounds.semilogy(index, z, "o-", label="Z basis (H sent)")
    rounds.semilogy(index, x, "s-", label="X basis (D sent)")
    for ax, labelled in ((rounds, True), (bars, False)):
        ax.axhline(target_qber, color="k", ls="--", lw=1, label=f"target {target_qber:.1%}" if labelled else None)
        if floor is not None:
            ax.axhline(floor, color="grey", ls=":", lw=1, label=f"floor {floor:.1%}" if labelled else None)
    rounds.set_xticks(index)
    rounds.set_xlabel("measurement round")
    rounds.set_ylabel("QBER")
    rounds.set_title(f"QBER per round ({z.size} measurements)", fontsize=10)
    rounds.legend(loc="upper right", fontsize=7)
    positions = np.arange(2)
    bars.bar(positions - 0.18, [z[0], x[0]], 0.36, color="C7", label="before (round 1)")
    bars.bar(positions + 0.18, [z[best], x[best]], 0.36, color="C2", label=f"after (round {best + 1})")
    bars.set_yscale("log")
    bars.set_xticks(positions, ["Z basis", "X basis"])
    bars.set_title("QBER before / after", fontsize=10)
    bars.legend(loc="upper left", fontsize=7)
    return fig


def pair_visibility_figure(bases, parallel, orthogonal, visibility, visibility_err, threshold: float):
    """Parallel and orthogonal coincidences per analyzer basis, the visibility of each against the threshold."""
    par, orth = np.asarray(parallel, float), np.asarray(orthogonal, float)
    fig = _figure(5.5, 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(bases))
    ax.bar(x - 0.18, par, 0.36, color="C0", label="C∥ (TT + RR)")
    ax.bar(x + 0.18, orth, 0.36, color="C1", label="C⊥ (TR + RT)")
    labels = [
        f"{b.upper()}: V = {v:.3f} ± {e:.3f}" + ("" if v >= threshold else " (low)")
        for b, v, e in zip(bases, visibility, visibility_err, strict=True)
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("coincidences")
    ax.set_title(f"Pair source: two-photon visibility (threshold {threshold:g})", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _per_parity(counts) -> np.ndarray:
    """Clicks per slot over the median of the slots of the same parity (H and D slots alternate)."""
    counts = np.asarray(counts, float)
    out = np.empty_like(counts)
    for parity in (0, 1):
        out[parity::2] = counts[parity::2] / max(float(np.median(counts[parity::2])), 1.0)
    return out


def sync_offsets_figure(
    per_slot: dict, phase: dict, period_ps: float, after: tuple[dict, dict] | None = None, labels=None
):
    """Receiver delays from the sync: clicks per pattern slot (the decoy dip is slot 0) and the pulse peak.

    ``per_slot``: channel -> clicks in each slot after the sync (drawn over the median of
    the slots of the same parity: H and D alternate); ``phase``: channel -> (counts, bin
    edges ps) of the click times in the pulse period around the sync. ``after``: the same
    two of the check acquisition, as a second row; ``labels``: (before, after) channel ->
    legend text.
    """
    rows = [("before", per_slot, phase)] + ([("after", after[0], after[1])] if after else [])
    fig = _figure(9.6, 2.9 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), 2, squeeze=False, width_ratios=(1.3, 1))
    for r, ((slot_ax, phase_ax), (when, slots, phases)) in enumerate(zip(axes, rows, strict=True)):
        for i, (channel, counts) in enumerate(slots.items()):
            label = labels[r][channel] if labels else f"input {channel}"
            slot_ax.plot(np.arange(len(counts)), _per_parity(counts), "-", color=f"C{i}", lw=1, label=label)
            hist, edges = phases[channel]
            centres = (np.asarray(edges[:-1], float) + np.asarray(edges[1:], float)) / 2
            phase_ax.plot(centres, hist, "-", color=f"C{i}", lw=1)
        slot_ax.axvspan(-0.5, 3.5, color="grey", alpha=0.15, lw=0)
        slot_ax.set_xlim(-1, max((len(c) for c in slots.values()), default=1))
        slot_ax.set_ylim(0, 1.6)
        slot_ax.set_xlabel("slot after the sync (pulses); shaded: where the marker belongs")
        slot_ax.set_ylabel("clicks / median")
        slot_ax.set_title(f"{when}: clicks per slot (the dip is the decoy marker, slot 0)", fontsize=9)
        phase_ax.axvline(0, color="k", ls=":", lw=1)
        phase_ax.set_xlabel("click time − sync, within ± half a pulse (ps)")
        phase_ax.set_ylabel("clicks per bin")
        phase_ax.set_title(f"{when}: pulse peak (period {period_ps:.0f} ps)", fontsize=9)
        slot_ax.legend(loc="upper right", fontsize=7, ncol=2)
    return fig

"""Figures: 3-D bars of a density matrix (real and imaginary parts) and a fringe with its fit.

matplotlib with the Agg backend (no display needed); import this module only where a
figure is drawn.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from .states import BASIS_LABELS


def _bars(ax, values, title, limit):
    n = values.shape[0]
    xs, ys = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xs, ys, heights = xs.ravel(), ys.ravel(), values.ravel()
    cmap = plt.get_cmap("coolwarm")
    colors = cmap(0.5 + 0.5 * heights / limit)
    ax.bar3d(
        xs - 0.35,
        ys - 0.35,
        np.zeros_like(heights),
        0.7,
        0.7,
        heights,
        color=colors,
        shade=True,
        edgecolor="k",
        linewidth=0.3,
    )
    ax.set_xticks(range(n), [f"|{b}⟩" for b in BASIS_LABELS])
    ax.set_yticks(range(n), [f"⟨{b}|" for b in BASIS_LABELS])
    ax.set_zlim(-limit, limit)
    ax.set_title(title)
    ax.view_init(elev=28, azim=-55)


def plot_density_matrix(rho, path=None, *, title="ρ", annotation=None):
    """3-D bar plots of Re ρ and Im ρ on a common scale, basis ``|HH>, |HV>, |VH>, |VV>``.

    Parameters
    ----------
    rho : array_like
        4×4 density matrix.
    path : str or pathlib.Path, optional
        Save the figure there (PNG); the figure is returned either way.
    title : str
    annotation : str, optional
        Text under the title (e.g. fidelity and concurrence with errors).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rho = np.asarray(rho, dtype=complex)
    if rho.shape != (4, 4):
        raise ValueError(f"plot_density_matrix: expected a 4×4 matrix, got {rho.shape}")
    limit = max(0.5, float(np.ceil(np.max(np.abs([np.real(rho), np.imag(rho)])) * 10) / 10))
    fig = plt.figure(figsize=(11, 5))
    for i, (part, name) in enumerate(((np.real(rho), "Re ρ"), (np.imag(rho), "Im ρ"))):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        _bars(ax, part, name, limit)
    fig.suptitle(title if annotation is None else f"{title}\n{annotation}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_fringe(angle_deg, counts, fits, path=None, *, title="Two-photon fringe", xlabel="analyzer angle (deg)"):
    """Coincidences against angle with Poisson error bars and the fitted sinusoids.

    A fit made with accidentals (:func:`~.visibility.fit_fringe` ``accidentals=``) is drawn
    against the accidental-subtracted points (open markers), a raw fit against the recorded ones.

    Parameters
    ----------
    angle_deg, counts : array_like
    fits : dict
        ``label -> FringeFit`` (e.g. ``{"raw": ..., "accidentals subtracted": ...}``).
    path : str or pathlib.Path, optional
        Save the figure there (PNG).

    Returns
    -------
    matplotlib.figure.Figure
    """
    theta = np.asarray(angle_deg, dtype=float)
    n = np.asarray(counts, dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    err = np.sqrt(np.maximum(n, 1))
    ax.errorbar(theta, n, yerr=err, fmt="o", color="k", ms=4, capsize=2, label="recorded coincidences")
    fine = np.linspace(theta.min(), theta.max(), 400)
    colors = ("tab:blue", "tab:orange", "tab:green")
    for (label, fit), color in zip(fits.items(), colors, strict=False):
        text = f"{label}: V = {fit.visibility:.4f} ± {fit.visibility_std:.4f}"
        if np.any(fit.accidentals > 0):
            ax.errorbar(theta, n - fit.accidentals, yerr=err, fmt="o", mfc="none", color=color, ms=5, capsize=2)
            ax.plot(fine, fit.signal(fine), "-", color=color, label=text)
            acc = float(np.mean(fit.accidentals))
            ax.axhline(acc, ls="-.", color="gray", lw=1, label=f"accidentals ({acc:.3g} per point)")
        else:
            ax.plot(fine, fit.signal(fine), "-", color=color, label=text)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("coincidences per point")
    ax.set_ylim(0, 1.35 * float(n.max()))
    ax.set_title(title)
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig

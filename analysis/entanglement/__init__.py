"""Entanglement verification from counts: tomography, figures of merit, CHSH, visibility, waveplates.

Pure numpy/scipy functions over coincidence counts (from qnetlab runs or any other lab).
Conventions (kets, basis order, Bell states) are in :mod:`.states`; see ``docs/entanglement.md``.

=============================  ==========================================================
:mod:`.states`                 ``ket``, ``bloch_ket``, ``bell_state``, ``werner_state``, ``BASIS_LABELS``
:mod:`.settings`               ``STANDARD_16``, ``OVERCOMPLETE_36``, ``PAULI_9``, ``TomographyData``,
                               ``tomography_data``, ``expected_counts``, ``draw_counts``
:mod:`.tomography`             ``maximum_likelihood``, ``linear_inversion``, ``project_to_physical``
:mod:`.merit`                  ``fidelity``, ``purity``, ``concurrence``, ``tangle``, ``monte_carlo``
:mod:`.nonlocality`               ``chsh``, ``CHSH_ANGLES_DEG``
:mod:`.visibility`             ``fit_fringe``
:mod:`.waveplates`             ``analyzer_settings``, ``analyzer_ket``, ``analyzer_projector``
:mod:`.plots`                  ``plot_density_matrix``, ``plot_fringe`` (matplotlib, imported on use)
=============================  ==========================================================
"""

import importlib

_PUBLIC = {
    "states": ["ket", "bloch_ket", "bell_state", "werner_state", "BASIS_LABELS"],
    "settings": [
        "STANDARD_16",
        "OVERCOMPLETE_36",
        "PAULI_9",
        "TomographyData",
        "tomography_data",
        "expected_counts",
        "draw_counts",
    ],
    "tomography": ["maximum_likelihood", "linear_inversion", "project_to_physical", "TomographyResult"],
    "merit": ["fidelity", "purity", "concurrence", "tangle", "trace_distance", "monte_carlo"],
    "nonlocality": ["chsh", "CHSH_ANGLES_DEG", "ChshResult"],
    "visibility": ["fit_fringe", "FringeFit"],
    "waveplates": ["analyzer_settings", "analyzer_ket", "analyzer_projector", "waveplate_jones"],
    "plots": ["plot_density_matrix", "plot_fringe"],
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_WHERE)  # pyright: ignore[reportUnsupportedDunderAll]


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

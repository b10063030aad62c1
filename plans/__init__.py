"""Bluesky plans over the lab's devices, typed on bluesky protocols (:mod:`qnetlab.plans.protocols`).

Public names: :func:`count_rates`, :func:`record_tags`, :class:`PlanArgumentError`; the
entanglement plans :func:`visibility_curves`, :func:`chsh`, :func:`state_tomography` with
:func:`pair_analyzers` (:mod:`qnetlab.plans.entanglement`); shared stubs in :mod:`qnetlab.plans.stubs`.
"""

from qnetlab.plans._arguments import PlanArgumentError
from qnetlab.plans.count_rates import count_rates
from qnetlab.plans.entanglement import chsh, pair_analyzers, state_tomography, visibility_curves
from qnetlab.plans.record_tags import record_tags

__all__ = [
    "PlanArgumentError",
    "chsh",
    "count_rates",
    "pair_analyzers",
    "record_tags",
    "state_tomography",
    "visibility_curves",
]

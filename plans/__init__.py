"""Bluesky plans over the lab's devices, typed on bluesky protocols (:mod:`qnetlab.plans.protocols`).

Public names: :func:`count_rates`, :func:`record_tags`, :class:`PlanArgumentError`; the
entanglement plans :func:`visibility_curves`, :func:`chsh`, :func:`state_tomography` with
:func:`pair_analyzers` (:mod:`qnetlab.plans.entanglement`); QKD: :func:`bb84`, :func:`bbm92`
(:mod:`qnetlab.plans.qkd`); shared stubs in :mod:`qnetlab.plans.stubs`. ``plans.list()`` lists
every plan with its parameters, units and limits (also ``qnetlab plans`` in a shell).
"""

from qnetlab.plans._arguments import PlanArgumentError
from qnetlab.plans._catalogue import PlanInfo, PlanList, plan_catalogue
from qnetlab.plans.calibration import (
    detector_dark_counts,
    outcome,
    pair_source,
    polarization_compensation,
    polarization_tracking_step,
    snspd_bias,
    tagger_delays,
    tagger_sync_delays,
    timebin_phase,
)
from qnetlab.plans.count_rates import count_rates
from qnetlab.plans.entanglement import chsh, pair_analyzers, state_tomography, visibility_curves
from qnetlab.plans.qkd import bb84, bbm92
from qnetlab.plans.record_tags import record_tags

# not `list`: a star import would shadow the builtin
__all__ = [
    "PlanArgumentError",
    "PlanInfo",
    "bb84",
    "bbm92",
    "chsh",
    "count_rates",
    "detector_dark_counts",
    "outcome",
    "pair_analyzers",
    "pair_source",
    "polarization_compensation",
    "polarization_tracking_step",
    "record_tags",
    "snspd_bias",
    "state_tomography",
    "tagger_delays",
    "tagger_sync_delays",
    "timebin_phase",
    "visibility_curves",
]


def list() -> PlanList:  # the name lab staff type: ``plans.list()``
    """Every plan of this package, with its parameters (type, default, unit, limits, description)."""
    return plan_catalogue(globals())

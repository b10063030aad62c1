"""Bluesky plans over the lab's devices, typed on bluesky protocols (:mod:`qnetlab.plans.protocols`).

Public names: :func:`count_rates`, :func:`record_tags`, :class:`PlanArgumentError`; the
entanglement plans :func:`visibility_curves`, :func:`chsh`, :func:`state_tomography` with
:func:`pair_analyzers` (:mod:`qnetlab.plans.entanglement`); QKD: :func:`bb84`, :func:`bbm92`
(:mod:`qnetlab.plans.qkd`); shared stubs in :mod:`qnetlab.plans.stubs`. ``plans.list()`` lists
every plan with its parameters, units and limits (also ``qnetlab plans`` in a shell).
"""

from typing import TYPE_CHECKING

from qnetlab.plans._arguments import PlanArgumentError
from qnetlab.plans._catalogue import PlanInfo, PlanList, plan_catalogue
from qnetlab.plans.count_rates import count_rates  # (eager: a module named as its plan would shadow it)
from qnetlab.plans.record_tags import record_tags

if TYPE_CHECKING:
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
    from qnetlab.plans.entanglement import chsh, mount_zeros, pair_analyzers, state_tomography, visibility_curves
    from qnetlab.plans.qkd import bb84, bbm92

# the calibration, entanglement and QKD families are imported on first use: `qnetlab run
# count_rates` need not load the calibration fits (scipy) or the QKD engine
_FAMILY = {
    **dict.fromkeys(
        [
            "detector_dark_counts",
            "outcome",
            "pair_source",
            "polarization_compensation",
            "polarization_tracking_step",
            "snspd_bias",
            "tagger_delays",
            "tagger_sync_delays",
            "timebin_phase",
        ],
        "calibration",
    ),
    **dict.fromkeys(["chsh", "mount_zeros", "pair_analyzers", "state_tomography", "visibility_curves"], "entanglement"),
    **dict.fromkeys(["bb84", "bbm92"], "qkd"),
}


def __getattr__(name: str):
    family = _FAMILY.get(name)
    if family is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{family}"), name)
    globals()[name] = value
    return value


# not `list`: a star import would shadow the builtin
__all__ = [
    "PlanArgumentError",
    "PlanInfo",
    "bb84",
    "bbm92",
    "chsh",
    "count_rates",
    "detector_dark_counts",
    "mount_zeros",
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
    return plan_catalogue({name: globals().get(name) or __getattr__(name) for name in __all__})

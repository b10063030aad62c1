"""Bluesky plans over the lab's devices, typed on bluesky protocols (:mod:`qnetlab.plans.protocols`).

Public names: :func:`count_rates`, :func:`record_tags`, :class:`PlanArgumentError`;
shared stubs in :mod:`qnetlab.plans.stubs`.
"""

from qnetlab.plans._arguments import PlanArgumentError
from qnetlab.plans.calibration import (
    detector_dark_counts,
    outcome,
    pair_source,
    polarization_compensation,
    polarization_tracking_step,
    snspd_bias,
    tagger_delays,
    timebin_phase,
)
from qnetlab.plans.count_rates import count_rates
from qnetlab.plans.record_tags import record_tags

__all__ = [
    "PlanArgumentError",
    "count_rates",
    "detector_dark_counts",
    "outcome",
    "pair_source",
    "polarization_compensation",
    "polarization_tracking_step",
    "record_tags",
    "snspd_bias",
    "tagger_delays",
    "timebin_phase",
]

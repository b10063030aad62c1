"""Bluesky plans: calibration, QKD, entanglement, nightly.

Public names: :func:`count_rates`, :func:`record_tags`.
"""

from qnetlab.plans.count_rates import count_rates
from qnetlab.plans.record_tags import record_tags

__all__ = ["count_rates", "record_tags"]

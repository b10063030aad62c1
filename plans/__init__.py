"""Bluesky plans: calibration, QKD, entanglement, nightly.

Public names: :func:`count_rates`.
"""

from plans.count_rates import count_rates

__all__ = ["count_rates"]

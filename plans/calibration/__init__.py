"""Calibration step plans: one plan = one run, its outcome in stream ``calibration``.

=================================  =====================================================
:func:`polarization_compensation`  Bob's paddles until QBER in Z and X is at the floor
:func:`polarization_tracking_step` a small correction between the blocks of a QKD run
:func:`tagger_delays`            input delays so pair coincidence peaks sit at zero
:func:`tagger_sync_delays`       receiver input delays so slot 0 of Alice's pattern sits on her sync
:func:`timebin_phase`            piezo scan, fringe fit, lock at the maximum (and a hold step)
:func:`detector_dark_counts`     dark counts with Alice's output off
:func:`snspd_bias`               bias sweep, plateau rule, latch reset
:func:`pair_source`              two-photon visibility in H/V and D/A
:func:`outcome`                    the decoded ``calibration`` event of a recorded run
=================================  =====================================================
"""

from qnetlab.plans.calibration._record import STEPS, outcome
from qnetlab.plans.calibration.detector_health import detector_dark_counts, snspd_bias
from qnetlab.plans.calibration.pair_source import pair_source
from qnetlab.plans.calibration.polarization_compensation import (
    polarization_compensation,
    polarization_tracking_step,
)
from qnetlab.plans.calibration.sync_delays import tagger_sync_delays
from qnetlab.plans.calibration.tagger_delays import tagger_delays
from qnetlab.plans.calibration.timebin_phase import timebin_phase, timebin_phase_hold_step

__all__ = [
    "STEPS",
    "detector_dark_counts",
    "outcome",
    "pair_source",
    "polarization_compensation",
    "polarization_tracking_step",
    "snspd_bias",
    "tagger_delays",
    "tagger_sync_delays",
    "timebin_phase",
    "timebin_phase_hold_step",
]

"""QKD plans on the bench: decoy BB84 (polarization, time-bin), distilled while acquiring."""

from qnetlab.plans.qkd.bb84 import SIM_LAB_CHANNELS, bb84, block_line

__all__ = ["SIM_LAB_CHANNELS", "bb84", "block_line"]

"""QKD plans on the bench: decoy BB84 (polarization, time-bin) and BBM92 (pair source), distilled while acquiring."""

from qnetlab.plans.qkd.bb84 import SIM_LAB_CHANNELS, bb84, block_line
from qnetlab.plans.qkd.bbm92 import bbm92

__all__ = ["SIM_LAB_CHANNELS", "bb84", "bbm92", "block_line"]

"""Thorlabs instruments."""

from qnetlab.drivers.thorlabs.thorlabs_k10cr1 import ThorlabsK10CR1
from qnetlab.drivers.thorlabs.thorlabs_mdt693b import ThorlabsMDT693B, ThorlabsMDT694B
from qnetlab.drivers.thorlabs.thorlabs_mpc320 import ThorlabsMPC320

__all__ = ["ThorlabsK10CR1", "ThorlabsMDT693B", "ThorlabsMDT694B", "ThorlabsMPC320"]

"""Thorlabs instruments."""

from drivers.thorlabs.thorlabs_mdt693b import ThorlabsMDT693B, ThorlabsMDT694B

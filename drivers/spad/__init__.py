"""Free-running SPADs (qnetlab's SCPI-style command set; no vendor's public set was found)."""

from qnetlab.drivers.spad.scpi_free_running_spad import ScpiFreeRunningSpad

__all__ = ["ScpiFreeRunningSpad"]

"""SNSPD bias controllers (qnetlab's SCPI-style command set; no vendor's public set exists)."""

from qnetlab.drivers.snspd.scpi_snspd_controller import ScpiSnspdController, SnspdBiasChannel

__all__ = ["ScpiSnspdController", "SnspdBiasChannel"]

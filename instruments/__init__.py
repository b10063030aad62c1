"""Ophyd devices over the drivers, and the lab assembled from a config file.

Public names: :func:`load_lab`, :class:`Lab`, :class:`PulsedLaser`, :class:`TimeTagger`,
:func:`load_config`, :class:`ConfigError`.
"""

from typing import TYPE_CHECKING

from qnetlab.instruments.config import ConfigError, load_config
from qnetlab.instruments.lab import Lab, load_lab

if TYPE_CHECKING:  # imported on first use below: ophyd is not needed to read a config
    from qnetlab.instruments.laser import PulsedLaser
    from qnetlab.instruments.timetagger import TimeTagger

__all__ = ["ConfigError", "Lab", "PulsedLaser", "TimeTagger", "load_config", "load_lab"]


def __getattr__(name):
    if name == "PulsedLaser":
        from qnetlab.instruments.laser import PulsedLaser

        return PulsedLaser
    if name == "TimeTagger":
        from qnetlab.instruments.timetagger import TimeTagger

        return TimeTagger
    raise AttributeError(name)

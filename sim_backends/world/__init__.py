"""The simulated optical world: the physics every emulator reads and writes.

Sources and Alice's transmitter, fibers, actuators (the state emulators move), links
(the optical paths from a source to its detectors), detectors, the time tagger, and
:class:`OpticalWorld`, which holds them under one seeded generator and one clock. The
numba passes that make a slice of tags live in ``kernels``. Nothing here imports an
emulator.
"""

from qnetlab.sim_backends.world.actuators import PaddleController, PhaseShifter, Waveplate
from qnetlab.sim_backends.world.detectors import DetectorModel, SnspdModel, SpadModel
from qnetlab.sim_backends.world.fiber import FiberModel
from qnetlab.sim_backends.world.links import (
    EntangledPairLink,
    PolarizationBB84Link,
    PulsedLink,
    SplitterLink,
    SyncOutput,
    TimeBinBB84Link,
)
from qnetlab.sim_backends.world.optical_world import OpticalWorld
from qnetlab.sim_backends.world.sources import PulsedLaserModel
from qnetlab.sim_backends.world.tagger import TaggerChannelModel, TaggerModel
from qnetlab.sim_backends.world.transmitter import TransmitterModel, decode_slots, encode_slots

__all__ = [
    "DetectorModel",
    "EntangledPairLink",
    "FiberModel",
    "OpticalWorld",
    "PaddleController",
    "PhaseShifter",
    "PolarizationBB84Link",
    "PulsedLaserModel",
    "PulsedLink",
    "SnspdModel",
    "SpadModel",
    "SplitterLink",
    "SyncOutput",
    "TaggerChannelModel",
    "TaggerModel",
    "TimeBinBB84Link",
    "TransmitterModel",
    "Waveplate",
    "decode_slots",
    "encode_slots",
]

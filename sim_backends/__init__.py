"""The simulated optical world and the emulators that speak each instrument's protocol.

``sim_backends`` imports neither ``drivers`` nor ``instruments``: an emulator is an
independent implementation of an instrument's protocol, so a driver test against it
can fail. Public names:

- :class:`OpticalWorld` — the one shared, seeded world with its own clock.
- :class:`TransmitterModel`, :class:`FiberModel`, :class:`DetectorModel`,
  :class:`SnspdModel`, :class:`SpadModel`, :class:`TaggerModel` — the physics of each part;
  links (:mod:`sim_backends.links`) join them into optical paths.
- :func:`emulated_timetagger_sdk` — a module object with the Swabian Time Tagger API subset.
- :class:`ScpiLaserEmulator` — the pulsed laser's SCPI command set on a loopback socket.
"""

from qnetlab.sim_backends.detectors import DetectorModel, SnspdModel, SpadModel
from qnetlab.sim_backends.fiber import FiberModel
from qnetlab.sim_backends.sources import PulsedLaserModel
from qnetlab.sim_backends.tagger import TaggerChannelModel, TaggerModel
from qnetlab.sim_backends.transmitter import TransmitterModel
from qnetlab.sim_backends.world import OpticalWorld

__all__ = [
    "DetectorModel",
    "FiberModel",
    "OpticalWorld",
    "PulsedLaserModel",
    "ScpiLaserEmulator",
    "SnspdModel",
    "SpadModel",
    "TaggerChannelModel",
    "TaggerModel",
    "TransmitterModel",
    "emulated_timetagger_sdk",
]


def __getattr__(name):
    # Emulators start sockets and threads: import them only when asked for.
    if name == "emulated_timetagger_sdk":
        from qnetlab.sim_backends.timetagger_sdk import emulated_timetagger_sdk

        return emulated_timetagger_sdk
    if name == "ScpiLaserEmulator":
        from qnetlab.sim_backends.laser_emulator import ScpiLaserEmulator

        return ScpiLaserEmulator
    raise AttributeError(name)

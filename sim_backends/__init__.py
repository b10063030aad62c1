"""The simulated optical world and the emulators that speak each instrument's protocol.

``sim_backends`` imports neither ``drivers`` nor ``instruments``: an emulator is an
independent implementation of an instrument's protocol, so a driver test against it
can fail. Two subpackages, kept apart by an import-linter contract:

- :mod:`qnetlab.sim_backends.world` — the physics: :class:`OpticalWorld` (one shared,
  seeded world with its own clock) and its parts, published here too:
  :class:`TransmitterModel` (with :func:`encode_slots` for its pattern memory),
  :class:`FiberModel`, the actuators :class:`Waveplate`, :class:`PaddleController`,
  :class:`PhaseShifter`, the links :class:`SplitterLink`, :class:`PolarizationBB84Link`,
  :class:`TimeBinBB84Link`, :class:`EntangledPairLink`, :class:`SyncOutput`, the
  detectors :class:`DetectorModel`, :class:`SnspdModel`, :class:`SpadModel` and the
  tagger :class:`TaggerModel` / :class:`TaggerChannelModel`.
- :mod:`qnetlab.sim_backends.emulators` — the protocol servers that read and write the
  world; imported only when asked for: :func:`emulated_timetagger_sdk` (the Swabian Time
  Tagger API subset) and :class:`ScpiLaserEmulator` (the pulsed laser's SCPI command set
  on a loopback socket) are reachable from here.
"""

from qnetlab.sim_backends.world import (
    DetectorModel,
    EntangledPairLink,
    FiberModel,
    OpticalWorld,
    PaddleController,
    PhaseShifter,
    PolarizationBB84Link,
    PulsedLaserModel,
    PulsedLink,
    SnspdModel,
    SpadModel,
    SplitterLink,
    SyncOutput,
    TaggerChannelModel,
    TaggerModel,
    TimeBinBB84Link,
    TransmitterModel,
    Waveplate,
    decode_slots,
    encode_slots,
)

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
    "ScpiLaserEmulator",
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
    "emulated_timetagger_sdk",
    "encode_slots",
]


def __getattr__(name):
    # Emulators start sockets and threads: import them only when asked for.
    if name == "emulated_timetagger_sdk":
        from qnetlab.sim_backends.emulators.timetagger_sdk import emulated_timetagger_sdk

        return emulated_timetagger_sdk
    if name == "ScpiLaserEmulator":
        from qnetlab.sim_backends.emulators.laser_emulator import ScpiLaserEmulator

        return ScpiLaserEmulator
    raise AttributeError(name)

"""Optical links: what each detector of a receiver is sent, given the world's state now.

A link turns a source and the actuators along its path into photon arrival times at its
detectors (before detector efficiency losses are applied, which happen here too because a
coherent pulse splits into independent Poisson modes: each detector fires independently
with p = 1 − exp(−η·μ_d)). Dark counts, jitter and dead time are the detector's business.

This module is the index of the link kinds, one import for all; each kind lives in its own
module: :mod:`.pulsed_links` (the base, its walk, the splitter), :mod:`.bb84_links`
(polarization and time-bin BB84), :mod:`.pair_link` (SPDC pairs), and Alice's sync output
in :mod:`.sync`. :data:`LINK_KINDS` maps each config ``kind`` to its class.
"""

from __future__ import annotations

from qnetlab.sim_backends.world.bb84_links import PolarizationBB84Link, TimeBinBB84Link
from qnetlab.sim_backends.world.pair_link import EntangledPairLink
from qnetlab.sim_backends.world.pulsed_links import GROUP_DELAY_PS_PER_KM, PulsedLink, SplitterLink, WalkInputs, walk
from qnetlab.sim_backends.world.sync import SyncOutput

LINK_KINDS: dict[str, type] = {
    link.kind: link for link in (SplitterLink, PolarizationBB84Link, TimeBinBB84Link, EntangledPairLink)
}

__all__ = [
    "GROUP_DELAY_PS_PER_KM",
    "LINK_KINDS",
    "EntangledPairLink",
    "PolarizationBB84Link",
    "PulsedLink",
    "SplitterLink",
    "SyncOutput",
    "TimeBinBB84Link",
    "WalkInputs",
    "walk",
]

"""The two polarization analyzers of a pair source: QWP and HWP mounts, a PBS, two tagger inputs.

An :class:`Analyzer` names what a plan moves and counts on one side: the two rotation
mounts (bluesky ``Movable``), the tagger inputs of the PBS's transmitted (T) and reflected
(R) ports, and each mount's calibrated zero (the motor position at which the plate's fast
axis is horizontal). Settings come from the Jones calculus of the mounted plates
(:func:`qnetlab.analysis.entanglement.analyzer_settings`), offsets included.

Where the offsets live: each ``thorlabs_k10cr1`` entry's ``zero_offset_deg`` (the
device's ``zero_offset_deg`` configuration signal), which :func:`pair_analyzers` reads; an
argument ``pair_analyzers(s.lab, zero_offsets_deg={"ent_a_hwp": 1.3})`` overrides a mount's.
Both the values and where each came from (``"config"`` or ``"argument"``) are recorded in
every run's start document (``plan_args.analyzers``). :func:`~.mount_zeros.mount_zeros`
measures them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bluesky.protocols import Movable


@dataclass(frozen=True)
class Analyzer:
    """One side's analyzer.

    Attributes
    ----------
    qwp, hwp : rotation mounts (``Movable`` in degrees), light meets the QWP first
    channel_t, channel_r : tagger inputs of the PBS's transmitted and reflected ports
    qwp_zero_deg, hwp_zero_deg : motor position of each plate's fast axis along H (deg)
    qwp_zero_from, hwp_zero_from : where each zero came from ("config", "argument" or "given")
    """

    qwp: Movable
    hwp: Movable
    channel_t: int
    channel_r: int
    qwp_zero_deg: float = 0.0
    hwp_zero_deg: float = 0.0
    qwp_zero_from: str = "given"
    hwp_zero_from: str = "given"

    def __post_init__(self):
        if self.channel_t == self.channel_r:
            raise ValueError(f"analyzer {self.describe()}: channel_t and channel_r are both {self.channel_t}")

    def motor_positions(self, target: Any) -> tuple[float, float]:
        """(qwp_deg, hwp_deg) motor positions whose T port projects onto ``target`` (label, Bloch vector, ket)."""
        from qnetlab.analysis.entanglement import analyzer_settings

        return analyzer_settings(target, qwp_zero_deg=self.qwp_zero_deg, hwp_zero_deg=self.hwp_zero_deg)

    def describe(self) -> dict[str, Any]:
        """What the start document records of this analyzer."""
        return {
            "qwp": getattr(self.qwp, "name", str(self.qwp)),
            "hwp": getattr(self.hwp, "name", str(self.hwp)),
            "channel_t": self.channel_t,
            "channel_r": self.channel_r,
            "qwp_zero_deg": self.qwp_zero_deg,
            "hwp_zero_deg": self.hwp_zero_deg,
            "qwp_zero_from": self.qwp_zero_from,
            "hwp_zero_from": self.hwp_zero_from,
        }


def _channel_of(lab: Any, tagger: Any, detector: str) -> int:
    channels = [ch for ch, wire in tagger.inputs.items() if getattr(wire, "detector", None) == detector]
    if len(channels) != 1:
        raise ValueError(
            f"lab {lab.config.name!r}: tagger {tagger.name!r} has {len(channels)} inputs cabled to detector "
            f"{detector!r} (need exactly one)"
        )
    return int(channels[0])


def _zero(lab: Any, name: str, offsets: Mapping[str, float]) -> tuple[float, str]:
    """(zero, source) of mount ``name``: the argument's, else the device's configured ``zero_offset_deg``."""
    if name in offsets:
        return float(offsets[name]), "argument"
    signal = getattr(lab[name], "zero_offset_deg", None)
    if signal is None:
        return 0.0, "default"
    return float(signal.get()), "config"


def pair_analyzers(
    lab: Any,
    *,
    mounts: Mapping[str, tuple[str, str]] | None = None,
    detectors: Mapping[str, tuple[str, str]] | None = None,
    zero_offsets_deg: Mapping[str, float] | None = None,
) -> tuple[Analyzer, Analyzer]:
    """Alice's and Bob's analyzers built from a lab (defaults: the names of ``config/sim_lab.yaml``).

    Parameters
    ----------
    lab : the loaded lab (``session.start(...).lab``); its default tagger's inputs give the channels
    mounts : side ("A", "B") -> (qwp device name, hwp device name)
    detectors : side -> (detector on the T port, detector on the R port), as cabled in the tagger's ``inputs``
    zero_offsets_deg : mount device name -> zero (deg), overriding that mount's configured
        ``zero_offset_deg`` (a mount without that key: 0)

    Returns
    -------
    (Analyzer, Analyzer)
    """
    mounts = dict(mounts or {"A": ("ent_a_qwp", "ent_a_hwp"), "B": ("ent_b_qwp", "ent_b_hwp")})
    detectors = dict(detectors or {"A": ("ent_a_t", "ent_a_r"), "B": ("ent_b_t", "ent_b_r")})
    offsets = dict(zero_offsets_deg or {})
    unknown = sorted(set(offsets) - {name for pair in mounts.values() for name in pair})
    if unknown:
        raise ValueError(f"pair_analyzers: zero_offsets_deg names {unknown}, which are not analyzer mounts")
    tagger = lab.default_device("tagger")
    sides = []
    for side in ("A", "B"):
        qwp, hwp = mounts[side]
        t, r = detectors[side]
        qwp_zero, qwp_from = _zero(lab, qwp, offsets)
        hwp_zero, hwp_from = _zero(lab, hwp, offsets)
        sides.append(
            Analyzer(
                lab[qwp],
                lab[hwp],
                _channel_of(lab, tagger, t),
                _channel_of(lab, tagger, r),
                qwp_zero_deg=qwp_zero,
                hwp_zero_deg=hwp_zero,
                qwp_zero_from=qwp_from,
                hwp_zero_from=hwp_from,
            )
        )
    return sides[0], sides[1]

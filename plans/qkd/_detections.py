"""Bob's tags to (slot, basis, bit, double click): the receivers' detector roles and timing.

Polarization: detectors H, V (basis Z, bits 0, 1) and D, A (basis X, bits 0, 1), all at
the slot's one arrival time. Time-bin: detector Z sees the early (bit 0) or late (bit 1)
bin; the interferometer outputs X0, X1 see three positions, of which only the middle one
(one bin separation after early) interferes and carries the X bit; side-peak clicks say
nothing about the bit and are dropped. A click outside the gate around its position is
dropped too. Several clicks in one slot are one double click (squashing: a random bit,
and a random basis when the bases differ; Lim et al. 2014, Sec. II step 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROLES = {
    "polarization": {"H": (0, 0, 0), "V": (0, 1, 0), "D": (1, 0, 0), "A": (1, 1, 0)},
    # role -> (basis, bit, position in bin separations); X side peaks are dropped by position
    "time-bin": {"Z": (0, -1, 0), "X0": (1, 0, 1), "X1": (1, 1, 1)},
}


@dataclass(frozen=True)
class Receiver:
    """Bob's receiver: which tagger input plays which role, and the slot timing.

    Parameters
    ----------
    encoding : "polarization" or "time-bin"
    channels : role -> tagger input (roles of :data:`ROLES`)
    period_ps : Alice's pulse period (ps)
    separation_ps : time-bin early-late separation (ps); unused for polarization
    gate_ps : half-width of the acceptance window around each arrival position (ps)
    """

    encoding: str
    channels: dict[str, int]
    period_ps: float
    separation_ps: float = 2000.0
    gate_ps: float = 500.0

    def __post_init__(self):
        roles = ROLES.get(self.encoding)
        if roles is None:
            raise ValueError(f"bb84: encoding {self.encoding!r} must be one of {sorted(ROLES)}")
        missing = sorted(set(roles) - set(self.channels))
        if missing:
            raise ValueError(f"bb84: detector roles {missing} of the {self.encoding} receiver have no tagger input")

    @property
    def inputs(self) -> list[int]:
        return sorted(self.channels[role] for role in ROLES[self.encoding])

    def lookup(self) -> np.ndarray:
        """Per tagger input (index): (basis, bit, position), -2 for inputs that are not Bob's."""
        table = np.full((max(self.inputs) + 1, 3), -2, np.int64)
        for role, (basis, bit, position) in ROLES[self.encoding].items():
            table[self.channels[role]] = (basis, bit, position)
        return table

    def z_phase_channels(self) -> list[int]:
        """Inputs whose clicks mark the slot's reference position (phase calibration)."""
        if self.encoding == "polarization":
            return self.inputs
        return [self.channels["Z"]]


def find_phase_ps(receiver: Receiver, times_ps: np.ndarray, channels: np.ndarray, origin_ps: int) -> float:
    """Arrival time of the slot's reference position, modulo the period, from ``origin_ps`` (ps).

    Polarization: the circular mean of the arrival phases. Time-bin: the earlier of the
    Z detector's two peaks (early and late bins, one separation apart).
    """
    period = receiver.period_ps
    ref = np.isin(channels, receiver.z_phase_channels())
    phase = np.mod((times_ps[ref] - origin_ps).astype(np.float64), period)
    if phase.size < 100:
        raise RuntimeError(f"bb84: only {phase.size} reference clicks to find the slot timing (need 100)")
    bins = np.bincount((phase // 50).astype(np.int64), minlength=int(np.ceil(period / 50)))
    peak = (np.argmax(bins) + 0.5) * 50
    if receiver.encoding == "time-bin":
        sep_bins = int(round(receiver.separation_ps / 50))
        n = bins.size
        peak_bin = int(np.argmax(bins))
        before, after = bins[(peak_bin - sep_bins) % n], bins[(peak_bin + sep_bins) % n]
        if before > after:  # the highest peak is the late bin
            peak -= receiver.separation_ps
    near = np.angle(np.exp(2j * np.pi * (phase - peak) / period)) * period / (2 * np.pi)
    close = np.abs(near) < receiver.gate_ps
    return float(np.mod(peak + np.mean(near[close]), period))


def decode(
    receiver: Receiver,
    times_ps: np.ndarray,
    channels: np.ndarray,
    origin_ps: int,
    phase_ps: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bob's detections as (slot since ``origin_ps``, basis, bit, double click), one per slot.

    Slots are counted in periods from ``origin_ps + phase_ps``; clicks outside the gates
    and time-bin side peaks are dropped; several clicks in a slot become one double click.
    """
    table = receiver.lookup()
    keep = channels < table.shape[0]
    t, c = times_ps[keep], channels[keep].astype(np.int64)
    role = table[c]
    mine = role[:, 0] >= 0
    t, role = t[mine], role[mine]
    sep = receiver.separation_ps
    guard = receiver.period_ps / 2 - (sep if receiver.encoding == "time-bin" else 0.0)
    rel = (t - origin_ps).astype(np.float64) - phase_ps
    slot = np.floor((rel + guard) / receiver.period_ps).astype(np.int64)
    pos = rel - slot * receiver.period_ps
    position = np.rint(pos / sep).astype(np.int64) if receiver.encoding == "time-bin" else np.zeros_like(slot)
    in_gate = np.abs(pos - position * sep) < receiver.gate_ps
    if receiver.encoding == "time-bin":
        z = role[:, 0] == 0
        in_gate &= np.where(z, (position == 0) | (position == 1), position == role[:, 2])
    slot, role, position = slot[in_gate], role[in_gate], position[in_gate]
    basis = role[:, 0].astype(np.uint8)
    bit = np.where(role[:, 1] < 0, position, role[:, 1]).astype(np.uint8)
    order = np.argsort(slot, kind="stable")
    slot, basis, bit = slot[order], basis[order], bit[order]
    if slot.size == 0:
        return slot, basis, bit, np.zeros(0, bool)
    first = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    code = basis * 2 + bit
    lo, hi = np.minimum.reduceat(code, first), np.maximum.reduceat(code, first)
    out_slot, out_basis, out_bit = slot[first], basis[first].copy(), bit[first].copy()
    double = lo != hi
    mixed = double & ((lo >> 1) != (hi >> 1))
    out_basis[mixed] = rng.integers(0, 2, int(mixed.sum()), dtype=np.uint8)
    out_bit[double] = 0  # BobRecord gives double clicks their random bit when sifting
    return out_slot, out_basis, out_bit, double

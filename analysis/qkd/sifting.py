"""Sifting of BB84 records (polarization or time-bin) by time slot and basis.

Alice's record lists every slot she sent: slot index, basis, bit and intensity
level (0 = signal mu1, 1 = weak decoy mu2, 2 = vacuum/weakest mu3).  Bob's
record lists his detection slots: slot index, basis and bit, or a double click.
Following the squashing model (Lim et al., PRA 89, 022307 (2014), Sec. II step 2)
a double click is given a uniformly random bit.  Events whose bases agree are
kept, for every intensity.

Basis labels: ``"Z"`` (polarization H/V; time-bin early/late) and ``"X"``
(polarization D/A; time-bin phase), or the codes 0 and 1; the aliases in
``BASIS_ALIASES`` are accepted too.  Anything else is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BASIS_ALIASES", "AliceRecord", "BobRecord", "SiftedBlock", "basis_codes", "sift"]

BASIS_ALIASES = {
    "Z": 0,
    "X": 1,
    "HV": 0,
    "DA": 1,
    "H/V": 0,
    "D/A": 1,
    "+": 0,
    "x": 1,
    "time": 0,
    "phase": 1,
    "early/late": 0,
}


def basis_codes(labels) -> np.ndarray:
    """Map basis labels (strings or 0/1 codes) to uint8 codes 0 (Z) and 1 (X)."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "iub":
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            raise ValueError(f"sifting: unknown basis code {arr[bad][0].item()!r}; expected 0 (Z) or 1 (X)")
        return arr.astype(np.uint8)
    uniq, inv = np.unique(arr.astype(str), return_inverse=True)
    unknown = [str(u) for u in uniq if str(u) not in BASIS_ALIASES]
    if unknown:
        raise ValueError(f"sifting: unknown basis label {unknown[0]!r}; known: {sorted(BASIS_ALIASES)}")
    codes = np.array([BASIS_ALIASES[str(u)] for u in uniq], np.uint8)
    return codes[inv.reshape(arr.shape)]


def _same_length(who: str, **arrays) -> int:
    sizes = {k: np.asarray(v).shape[0] for k, v in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"sifting: {who} record fields have different lengths {sizes}")
    return next(iter(sizes.values()))


def _bits(who: str, name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"sifting: {who} {name} must be 0 or 1")
    return arr.astype(np.uint8)


@dataclass(frozen=True, repr=False)
class AliceRecord:
    """What Alice sent: one entry per slot (arrays of equal length).

    Construction validates the record once (labels, bits, levels, no slot
    twice) and packs basis, bit and level into one byte per slot, so that
    sifting gathers one array instead of three.
    """

    slot: np.ndarray
    basis: np.ndarray
    bit: np.ndarray
    intensity: np.ndarray
    packed: np.ndarray = field(init=False, compare=False)
    """basis | bit << 1 | level << 2, uint8 per slot."""
    contiguous: bool = field(init=False, compare=False)
    """True when the slots are ``slot[0], slot[0] + 1, ...`` (sifting indexes directly)."""

    def __post_init__(self):
        _same_length("Alice", slot=self.slot, basis=self.basis, bit=self.bit, intensity=self.intensity)
        slot = np.asarray(self.slot, np.int64)
        basis = basis_codes(self.basis)
        bit = _bits("Alice", "bit", self.bit)
        inten = np.asarray(self.intensity)
        if inten.size and (inten.min() < 0 or inten.max() > 2):
            raise ValueError("sifting: Alice intensity level must be 0 (signal), 1 (decoy) or 2 (vacuum)")
        inten = inten.astype(np.int8)
        steps = np.diff(slot)
        contiguous = bool(slot.size == 0 or (steps == 1).all())
        if not contiguous and slot.size > 1 and (np.diff(np.sort(slot)) == 0).any():
            raise ValueError("sifting: Alice's record lists a slot twice")
        packed = basis | (bit << 1) | (inten.view(np.uint8) << 2)
        for name, value in (("slot", slot), ("basis", basis), ("bit", bit), ("intensity", inten)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "packed", packed)
        object.__setattr__(self, "contiguous", contiguous)

    def __repr__(self) -> str:
        return f"AliceRecord(slots={self.slot.size})"


@dataclass(frozen=True, repr=False)
class BobRecord:
    """Bob's detections: slot, basis, bit and double-click flag (equal lengths)."""

    slot: np.ndarray
    basis: np.ndarray
    bit: np.ndarray
    double_click: np.ndarray | None = None

    def __post_init__(self):
        dc = self.double_click
        if dc is None:
            dc = np.zeros(np.asarray(self.slot).shape[0], bool)
        _same_length("Bob", slot=self.slot, basis=self.basis, bit=self.bit, double_click=dc)
        dc = np.asarray(dc, bool)
        bit = np.asarray(self.bit)
        object.__setattr__(self, "slot", np.asarray(self.slot, np.int64))
        object.__setattr__(self, "basis", basis_codes(self.basis))
        object.__setattr__(self, "bit", _bits("Bob", "bit", np.where(dc, 0, bit)))
        object.__setattr__(self, "double_click", dc)
        slot = self.slot
        if slot.size > 1 and not (np.diff(slot) > 0).all() and (np.diff(np.sort(slot)) == 0).any():
            raise ValueError("sifting: Bob's record lists a slot twice")

    def __repr__(self) -> str:
        return f"BobRecord(detections={self.slot.size})"


@dataclass(repr=False)
class SiftedBlock:
    """Events where both used the same basis (arrays of equal length)."""

    alice_bit: np.ndarray
    bob_bit: np.ndarray
    basis: np.ndarray
    intensity: np.ndarray
    detections: int
    double_clicks: int
    packed: np.ndarray | None = None
    """Optional uint8 per event: basis | alice bit << 1 | level << 2 | bob bit << 4 (what :func:`sift` gives)."""

    def __repr__(self) -> str:
        return (
            f"SiftedBlock(sifted={self.basis.size}, detections={self.detections}, double_clicks={self.double_clicks})"
        )

    def select(self, basis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(alice bits, bob bits, intensity levels) of one basis."""
        if self.packed is None:
            m = self.basis == basis
            return np.compress(m, self.alice_bit), np.compress(m, self.bob_bit), np.compress(m, self.intensity)
        code = np.compress((self.packed & 1) == basis, self.packed)
        return (code >> 1) & 1, code >> 4, ((code >> 2) & 3).view(np.int8)

    def counts(self, basis: int) -> np.ndarray:
        """Sifted events per intensity level (length 3) in one basis."""
        return np.bincount(self.intensity[self.basis == basis], minlength=3)[:3]


def _alice_index(alice: AliceRecord, bob_slot: np.ndarray) -> np.ndarray:
    """Index into Alice's record of each of Bob's slots (error if she did not send it)."""
    a_slot = alice.slot
    if alice.contiguous:  # every slot of a contiguous range: index directly
        idx = bob_slot - (a_slot[0] if a_slot.size else 0)
        bad = (idx < 0) | (idx >= a_slot.size)
        if bad.any():
            raise ValueError(f"sifting: Bob detected slot {int(bob_slot[bad][0])} that Alice did not send")
        return idx
    order = np.argsort(a_slot, kind="stable")
    a_sorted = a_slot[order]
    pos = np.minimum(np.searchsorted(a_sorted, bob_slot), max(a_sorted.size - 1, 0))
    bad = (a_sorted[pos] != bob_slot) if a_sorted.size else np.ones(bob_slot.size, bool)
    if bad.any():
        raise ValueError(f"sifting: Bob detected slot {int(bob_slot[bad][0])} that Alice did not send")
    return order[pos]


def sift(alice: AliceRecord, bob: BobRecord, rng: np.random.Generator) -> SiftedBlock:
    """Match Bob's detections to Alice's slots and keep equal-basis events.

    Raises ValueError when Bob reports a slot Alice did not send (records
    listing a slot twice are refused when they are built).
    """
    code = alice.packed[_alice_index(alice, bob.slot)]
    bob_bit = bob.bit
    dc = bob.double_click
    n_dc = 0 if dc is None else int(np.count_nonzero(dc))
    if n_dc:
        bob_bit = bob_bit.copy()
        bob_bit[dc] = rng.integers(0, 2, n_dc, dtype=np.uint8)
    keep = (code & 1) == bob.basis
    code = np.compress(keep, code)
    code |= np.compress(keep, bob_bit) << 4
    return SiftedBlock(
        (code >> 1) & 1,
        code >> 4,
        code & 1,
        ((code >> 2) & 3).view(np.int8),
        detections=int(bob.slot.size),
        double_clicks=n_dc,
        packed=code,
    )

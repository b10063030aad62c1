"""Cascade's messages (private; published by :mod:`analysis.qkd.cascade`).

Plain data (ints and numpy arrays): they can be serialized to run Alice and
Bob across a network.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PassSpec(NamedTuple):
    """Public description of one pass (Bob -> Alice)."""

    index: int  # pyright: ignore[reportIncompatibleMethodOverride]  (a field, as in every PassSpec message)
    kind: int
    block_size: int
    a: int = 1
    c: int = 0
    seed: int = 0


class ParityRequest(NamedTuple):
    """Ranges ``[lo, hi)`` of blocks ``block`` of pass ``pass_index`` (Bob -> Alice)."""

    pass_index: int
    block: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class PassBatch(NamedTuple):
    """Every pass opened in one message (Bob -> Alice): Alice answers the
    top-level block parities of all of them, concatenated in pass order.

    The passes do not depend on Bob's corrections (their permutations and
    masks are public random draws), and every pass's block parities are
    disclosed in any case, so asking for them all at once leaks exactly what
    opening them one by one would, and saves one round trip per pass.
    """

    specs: tuple[PassSpec, ...]


class ParityBatch(NamedTuple):
    """Several ParityRequests sent in one round trip (Bob -> Alice)."""

    requests: tuple[ParityRequest, ...]


class ParityReply(NamedTuple):
    """Alice's parities, one bit (uint8 0/1) per block or requested range."""

    parities: np.ndarray


class SyndromeRequest(NamedTuple):
    """Ranges ``[lo, hi)`` of blocks ``block`` of pass ``pass_index`` whose syndromes Bob asks (Bob -> Alice).

    Alice answers ceil(log2(hi - lo)) bits per range (the parities of its
    bit-slices, :mod:`analysis.qkd._cascade_syndrome`), least significant first.
    """

    pass_index: int
    block: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

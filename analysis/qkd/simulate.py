"""Simulated decoy-state BB84 records for tests and benchmarks (no hardware).

A small closed-form model: Poisson source with three intensities, fibre and
detector transmittance ``eta``, two detectors with dark-count probability
``p_dc`` each, misalignment ``e_mis``; optionally an intercept-resend attack on
every pulse (Eve measures in a random basis and resends a single photon), which
raises the QBER to 25 %.
"""

from __future__ import annotations

import numpy as np

from .sifting import AliceRecord, BobRecord

__all__ = ["bb84_records"]


def bb84_records(
    n_slots: int,
    rng: np.random.Generator,
    *,
    mu=(0.5, 0.1, 0.0),
    p=(0.7, 0.2, 0.1),
    q_x: float = 0.5,
    eta: float = 0.1,
    p_dc: float = 1e-6,
    e_mis: float = 0.01,
    intercept_resend: bool = False,
) -> tuple[AliceRecord, BobRecord]:
    """Alice's record of ``n_slots`` pulses and Bob's detections.

    Basis code 1 (X) is chosen with probability ``q_x`` by both parties.
    """
    slot = np.arange(n_slots, dtype=np.int64)
    a_basis = (rng.random(n_slots) < q_x).astype(np.uint8)
    a_bit = rng.integers(0, 2, n_slots, dtype=np.uint8)
    level = rng.choice(3, n_slots, p=p).astype(np.int8)
    photons = rng.poisson(np.asarray(mu)[level])
    b_basis = (rng.random(n_slots) < q_x).astype(np.uint8)
    state_basis, state_bit = a_basis, a_bit
    if intercept_resend:
        e_basis = rng.integers(0, 2, n_slots, dtype=np.uint8)
        e_bit = np.where(e_basis == a_basis, a_bit, rng.integers(0, 2, n_slots, dtype=np.uint8))
        state_basis, state_bit = e_basis, e_bit.astype(np.uint8)
        photons = np.where(photons > 0, 1, 0)
    arrived = rng.binomial(photons, eta) > 0
    # detector that fires for an arrived photon: the encoded bit if bases match, else random
    match = state_basis == b_basis
    signal_bit = np.where(match, state_bit, rng.integers(0, 2, n_slots, dtype=np.uint8))
    flip = rng.random(n_slots) < e_mis
    signal_bit = signal_bit ^ (flip & match)
    click = np.zeros((n_slots, 2), bool)
    click[np.flatnonzero(arrived), signal_bit[arrived]] = True
    click |= rng.random((n_slots, 2)) < p_dc
    det = np.asarray(click.any(axis=1))
    double = np.asarray(click.all(axis=1))
    bob_bit = np.where(click[:, 1], 1, 0).astype(np.uint8)
    alice = AliceRecord(slot, a_basis, a_bit, level)
    bob = BobRecord(slot[det], b_basis[det], np.where(double[det], 0, bob_bit[det]), double[det])
    return alice, bob

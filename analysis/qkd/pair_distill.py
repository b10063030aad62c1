"""One BBM92 block from both sides' sifted bits to a stored key (the chain of :mod:`.distill`).

Test-basis QBER (all test bits disclosed) -> Cascade on the key basis -> verification
hash -> Tomamichel et al. Eq. (2) (:func:`.bbm92.bbm92_finite_key`) with the leakage
actually counted -> privacy amplification of Alice's key and of Bob's corrected key,
each hashed on its own with the same seed -> the two final keys compared (unequal: the
block is discarded) -> key store. Only public facts come back (:class:`BlockResult`:
lengths, QBERs, the key's SHA-256) beside the finite-key terms.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .bbm92 import BBM92FiniteKey, bbm92_finite_key
from .distill import BlockResult
from .estimation import qber, qber_from_counts
from .keystore import KeyStore

__all__ = ["PairParams", "distill_pairs"]


@dataclass(frozen=True)
class PairParams:
    """Protocol parameters of one BBM92 block.

    ``qber_abort``: no key when the test-basis or key-basis QBER exceeds it;
    ``min_test_bits`` / ``min_key_bits``: fewer sifted bits give "no key".
    """

    eps_sec: float = 1e-10
    eps_cor: float = 1e-15
    qber_abort: float = 0.11
    min_test_bits: int = 200
    min_key_bits: int = 1000
    confidence: float = 0.99
    pa_hash: Literal["multiply_add_shift", "toeplitz"] = "multiply_add_shift"

    def __post_init__(self):
        if self.pa_hash not in ("multiply_add_shift", "toeplitz"):
            raise ValueError(f"bbm92 distill: pa_hash {self.pa_hash!r} must be 'multiply_add_shift' or 'toeplitz'")
        for name in ("eps_sec", "eps_cor", "qber_abort"):
            value = getattr(self, name)
            if not 0 < value < (0.5 if name == "qber_abort" else 1):
                raise ValueError(f"bbm92 distill: {name}={value} out of range")


def _hash(bits: np.ndarray, length: int, seed: int, how: str) -> np.ndarray:
    from . import privacy

    if how == "toeplitz":
        return privacy.toeplitz_hash(bits, length, seed, True)
    return privacy.multiply_add_shift_hash(bits, length, seed)


def distill_pairs(
    key_a: np.ndarray,
    key_b: np.ndarray,
    test_a: np.ndarray,
    test_b: np.ndarray,
    params: PairParams,
    store: KeyStore,
    rng: np.random.Generator,
    key_id: str | None = None,
) -> tuple[BlockResult, BBM92FiniteKey | None]:
    """Distil one block: ``key_*`` the key-basis bits of Alice and Bob, ``test_*`` the test-basis bits."""
    from . import cascade, privacy, verification

    key_a, key_b = np.asarray(key_a, np.uint8), np.asarray(key_b, np.uint8)
    test_a, test_b = np.asarray(test_a, np.uint8), np.asarray(test_b, np.uint8)
    if key_a.shape != key_b.shape or test_a.shape != test_b.shape:
        raise ValueError(
            f"bbm92 distill: Alice and Bob hold different numbers of bits "
            f"(key {key_a.size} vs {key_b.size}, test {test_a.size} vs {test_b.size})"
        )
    counts = {"n_key": int(key_a.size), "n_test": int(test_a.size), "m_test": int(np.count_nonzero(test_a != test_b))}
    res = BlockResult(False, "", sifted_key_bits=int(key_a.size), counts=counts, params=dataclasses.asdict(params))
    if test_a.size < params.min_test_bits or key_a.size < params.min_key_bits:
        reason = (
            f"too few bits for parameter estimation: {test_a.size} test bits (need {params.min_test_bits}), "
            f"{key_a.size} key bits (need {params.min_key_bits})"
        )
        return replace(res, reason=reason), None
    q_test = qber(test_a, test_b, params.confidence)
    res = replace(res, qber_test=q_test)
    if q_test.value > params.qber_abort:
        return replace(
            res, reason=f"test-basis QBER {q_test.value:.4f} above abort threshold {params.qber_abort}"
        ), None

    alice = cascade.CascadeAlice(key_a)
    bob = cascade.CascadeBob(key_b, max(q_test.value, 0.005), rng)
    bob.reconcile(alice.handle)
    q_key = qber_from_counts(key_a.size, bob.corrected, params.confidence)
    res = replace(res, qber_key=q_key, leaked_ec_bits=alice.leaked_bits)
    tag = verification.make_tag(key_a, params.eps_cor, rng)
    res = replace(res, verification_bits=tag.bits)
    if not verification.check_tag(bob.key, tag):
        return replace(res, reason="verification failed: block discarded"), None
    if q_key.value > params.qber_abort:
        return replace(res, reason=f"key-basis QBER {q_key.value:.4f} above abort threshold {params.qber_abort}"), None

    fk = bbm92_finite_key(key_a.size, test_a.size, q_test.value, alice.leaked_bits, params.eps_sec, params.eps_cor)
    if fk.length <= 0:
        return replace(res, reason=f"no secret key: {fk.reason}"), fk
    seed = privacy.new_seed(rng)
    res = replace(res, pa_seed=seed)
    final_a = _hash(key_a, fk.length, seed, params.pa_hash)
    final_b = _hash(bob.key, fk.length, seed, params.pa_hash)
    if not np.array_equal(final_a, final_b):  # an eps_cor event: the tag matched, the keys do not
        return replace(res, reason="the two ends' keys differ after verification: block discarded"), fk
    rec = store.put(key_id or uuid.uuid4().hex, final_a)
    return replace(res, accepted=True, key_id=rec.key_id, length=rec.length, sha256=rec.sha256), fk

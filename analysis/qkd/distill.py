"""One block from records to a stored secret key: the whole post-processing chain.

sift -> test-basis QBER (all test bits disclosed) and checks -> Cascade on the
key basis -> verification hash -> Lim et al. Eq. (1) with the leakage actually
counted -> privacy amplification (2-universal hash) -> key store.  Both
parties' records are in this process (the bench computer holds Alice's pattern
and Bob's tags), so after a passed verification the two corrected keys are
compared directly and hashed once; keys that still differ (an eps_cor event)
discard the block.  Every outcome is a
:class:`BlockResult` holding only public facts (lengths, QBERs, parameters,
seeds, the key's SHA-256); a block that cannot give a key says why in
``reason``.  Key bits never leave the key store.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from .decoy import Intensities
from .estimation import QberEstimate, qber, qber_from_counts
from .keyrate import FiniteKey, finite_key_length
from .keystore import KeyStore
from .sifting import AliceRecord, BobRecord, sift

__all__ = ["BlockResult", "DistillParams", "distill_block"]


@dataclass(frozen=True)
class DistillParams:
    """Protocol parameters of one block.

    ``key_basis`` 1 (X) gives the key and 0 (Z) the test, as in Lim et al.
    ``qber_abort``: abort when the test-basis or key-basis QBER exceeds it.
    ``min_test_bits`` / ``min_key_bits``: fewer sifted bits give "no key".
    ``pa_hash``: "multiply_add_shift" (default, GMP) or "toeplitz" (FFT);
    ``identity_pa`` applies to "toeplitz" only (matrix [I | T]).
    """

    intensities: Intensities
    key_basis: int = 1
    eps_sec: float = 1e-10
    eps_cor: float = 1e-15
    qber_abort: float = 0.11
    min_test_bits: int = 1000
    min_key_bits: int = 10000
    confidence: float = 0.99
    identity_pa: bool = True
    pa_hash: Literal["multiply_add_shift", "toeplitz"] = "multiply_add_shift"

    def __post_init__(self):
        if self.pa_hash not in ("multiply_add_shift", "toeplitz"):
            raise ValueError(f"distill: pa_hash {self.pa_hash!r} must be 'multiply_add_shift' or 'toeplitz'")
        if self.key_basis not in (0, 1):
            raise ValueError(f"distill: key_basis {self.key_basis!r} must be 0 (Z) or 1 (X)")


@dataclass(frozen=True)
class BlockResult:
    """Public outcome of one block (safe for catalog and logs)."""

    accepted: bool
    reason: str
    key_id: str | None = None
    length: int = 0
    sha256: str | None = None
    sifted_key_bits: int = 0
    qber_test: QberEstimate | None = None
    qber_key: QberEstimate | None = None
    leaked_ec_bits: int = 0
    verification_bits: int = 0
    pa_seed: int | None = None
    finite_key: FiniteKey | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def catalog(self) -> dict[str, Any]:
        """Plain JSON-friendly dict for the run catalog (no key bits)."""
        out: dict[str, Any] = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if self.pa_seed is not None:
            out["pa_seed"] = f"{self.pa_seed:032x}"
        return out


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {k: _plain(x) for k, x in dataclasses.asdict(v).items()}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def distill_block(
    alice: AliceRecord,
    bob: BobRecord,
    params: DistillParams,
    store: KeyStore,
    rng: np.random.Generator,
    key_id: str | None = None,
) -> BlockResult:
    """Run the post-processing chain on one block of records."""
    from . import cascade, privacy, verification

    s = sift(alice, bob, rng)
    kb, tb = params.key_basis, 1 - params.key_basis
    ta, tbb, t_int = s.select(tb)
    xa, xb, x_int = s.select(kb)
    n_x, n_z = np.bincount(x_int, minlength=3)[:3], np.bincount(t_int, minlength=3)[:3]
    m_z = np.bincount(t_int[ta != tbb], minlength=3)[:3]
    counts = {
        "n_key": n_x.tolist(),
        "n_test": n_z.tolist(),
        "m_test": m_z.tolist(),
        "detections": s.detections,
        "double_clicks": s.double_clicks,
    }
    res = BlockResult(False, "", sifted_key_bits=int(xa.size), counts=counts, params=dataclasses.asdict(params))
    if ta.size < params.min_test_bits or xa.size < params.min_key_bits:
        return replace(
            res,
            reason=f"too few bits for parameter estimation: {ta.size} test bits "
            f"(need {params.min_test_bits}), {xa.size} key bits (need {params.min_key_bits})",
        )
    q_test = qber(ta, tbb, params.confidence)
    res = replace(res, qber_test=q_test)
    if q_test.value > params.qber_abort:
        return replace(res, reason=f"test-basis QBER {q_test.value:.4f} above abort threshold {params.qber_abort}")

    alice_side = cascade.CascadeAlice(xa)
    bob_side = cascade.CascadeBob(xb, max(q_test.value, 0.005), rng)
    bob_side.reconcile(alice_side.handle)
    leaked = alice_side.leaked_bits
    q_key = qber_from_counts(xa.size, bob_side.corrected, params.confidence)
    counts["m_key"] = np.bincount(x_int[bob_side.key != xb], minlength=3)[:3].tolist()  # Bob's corrections per level
    res = replace(res, qber_key=q_key, leaked_ec_bits=leaked, counts=counts)

    tag = verification.make_tag(xa, params.eps_cor, rng)
    res = replace(res, verification_bits=tag.bits)
    if not verification.check_tag(bob_side.key, tag):
        return replace(res, reason="verification failed: block discarded")
    if q_key.value > params.qber_abort:
        return replace(res, reason=f"key-basis QBER {q_key.value:.4f} above abort threshold {params.qber_abort}")

    fk = finite_key_length(n_x, n_z, m_z, params.intensities, leaked, params.eps_sec, params.eps_cor)
    res = replace(res, finite_key=fk)
    if fk.length <= 0:
        return replace(res, reason=f"no secret key: {fk.reason}")
    seed = privacy.new_seed(rng)
    res = replace(res, pa_seed=seed)
    if not np.array_equal(xa, bob_side.key):  # an eps_cor event: the tag matched, the keys do not
        return replace(res, reason="keys differ after verification: block discarded")
    if params.pa_hash == "toeplitz":
        key = privacy.toeplitz_hash(xa, fk.length, seed, params.identity_pa)
    else:
        key = privacy.multiply_add_shift_hash(xa, fk.length, seed)
    rec = store.put(key_id or uuid.uuid4().hex, key)
    return replace(res, accepted=True, key_id=rec.key_id, length=rec.length, sha256=rec.sha256)

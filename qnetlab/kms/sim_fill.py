"""The simulated bench's link keys: real QKD post-processing of simulated BB84 records.

**This is the sim source of link keys.**  For each link, decoy-state BB84 records
are simulated (:func:`qnetlab.analysis.qkd.simulate.bb84_records`: Poisson source,
fibre and detector transmittance, dark counts, misalignment) and distilled by the
same chain as a lab run (:func:`qnetlab.analysis.qkd.distill.distill_block`:
sifting, estimation, Cascade, verification, finite-key length, Toeplitz privacy
amplification).  The distilled key, identical for the two parties, is written to
both nodes' copies of the link store (:func:`qnetlab.kms.pool.deposit_link_key`).
In a lab each node's own post-processing writes its copy the same way.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .network import Network
from .pool import deposit_link_key

__all__ = ["LinkFill", "fill_sim_links"]

MU, P_MU = (0.45, 0.2, 2e-4), (0.25, 0.55, 0.2)


@dataclass(frozen=True)
class LinkFill:
    """Public facts of one link's fill (no key bits)."""

    link: str
    run_id: str
    accepted: bool
    reason: str
    secret_bits: int
    qber_key: float | None
    sha256: str | None


def fill_sim_links(
    network: Network,
    state_dir: Path,
    links: list[str] | None = None,
    n_slots: int = 8_000_000,
    seed: int | None = None,
    block_bits: int = 8192,
) -> list[LinkFill]:
    """Distil one simulated BB84 block per link and store the key at both ends.

    ``n_slots`` pulses per link (8e6 gives about 5e4 secret bits at 20 % transmittance
    and 1 % misalignment).  Returns one :class:`LinkFill` per link.
    """
    from qnetlab.analysis.qkd.decoy import Intensities
    from qnetlab.analysis.qkd.distill import DistillParams, distill_block
    from qnetlab.analysis.qkd.keystore import KeyStore
    from qnetlab.analysis.qkd.simulate import bb84_records

    rng = np.random.default_rng(seed)
    params = DistillParams(Intensities(MU, P_MU))
    keys_root = Path(state_dir) / "keys"
    KeyStore(keys_root)
    out = []
    for link in links or list(network.links):
        if link not in network.links:
            raise ValueError(f"unknown link {link!r} (links: {', '.join(network.links)})")
        alice, bob = bb84_records(n_slots, rng, mu=MU, p=P_MU, q_x=0.75, eta=0.2, e_mis=0.01)
        run_id = uuid.uuid4().hex[:12]
        with tempfile.TemporaryDirectory(dir=keys_root) as scratch:
            store = KeyStore(Path(scratch) / "distilled")
            result = distill_block(alice, bob, params, store, rng, key_id=run_id)
            if result.accepted:
                bits = store.take(run_id)
                nodes = network.links[link].nodes
                deposit_link_key({n: keys_root / n for n in nodes}, nodes, link, bits, run_id, block_bits)
        out.append(
            LinkFill(
                link,
                run_id,
                result.accepted,
                result.reason,
                result.length,
                result.qber_key.value if result.qber_key else None,
                result.sha256,
            )
        )
    return out

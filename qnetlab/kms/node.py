"""One node's key management entity: the ETSI 014 calls and the trusted-node relay.

Transport-free: :class:`Kme` takes the caller's identity (from its TLS client
certificate) and the request's fields, and returns the standard's objects or raises
:class:`~qnetlab.kms.etsi014.EtsiError`.  ``send_hop(node, message)`` carries a hop to
another KME (HTTPS with mutual TLS in :mod:`qnetlab.kms.server`).

Key delivery for master SAE *m* at node M and slave SAE *s* at node S, route
M = n0 - n1 - ... - nk = S:

- n0 draws ``number * size`` bits from its link to n1; they *are* the keys.  n1 draws
  the same bits from its copy.
- each relay n_i (0 < i < k) draws as many bits P from its link to n_{i+1} and sends
  C = K xor P (one-time pad) with the slices it drew; n_{i+1} draws P and gets K = C xor P.
- S holds the keys for *s* until it asks by key_ID; M returns them to *m* only after
  S has them.  Every hop uses ``size`` link bits per key bit delivered.

A relay sees the key (it is trusted); nothing else does, and no key bit is logged.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qnetlab.analysis.qkd.keystore import KeyStore, KeyStoreError, link_store

from . import etsi014
from .etsi014 import bad_request, server_error, unauthorized
from .network import Network
from .pool import KeyShortage, LinkPool, PendingKeys, SliceError

__all__ = ["HopError", "Kme"]

log = logging.getLogger(__name__)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class HopError(RuntimeError):
    """A hop to another KME failed (its message holds no key material)."""


def _b64(bits: np.ndarray) -> str:
    return base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def _unb64(text: str, n_bits: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(text, validate=True), np.uint8))[:n_bits]


class Kme:
    """The KME of ``node`` in ``network``, keeping its keys under ``<state>/keys/<node>``."""

    def __init__(
        self, network: Network, node: str, state_dir: Path, send_hop: Callable[[str, dict], None] | None = None
    ):
        if node not in network.nodes:
            raise ValueError(f"node {node!r} is not in network {network.name!r} (nodes: {', '.join(network.nodes)})")
        self.network, self.node, self.spec = network, node, network.nodes[node]
        self.limits = network.limits
        root = Path(state_dir) / "keys" / node
        KeyStore(root)  # the node's key root: owner-only, no symlink
        self.pools = {link: LinkPool(link_store(root, link), node) for link in network.links_of(node)}
        self.pending = PendingKeys(root)
        self.send_hop = send_hop

    # --- who is calling -------------------------------------------------------------
    def _local_sae(self, sae: str) -> None:
        spec = self.network.saes.get(sae)
        if spec is None or spec.node != self.node:
            raise unauthorized(f"certificate subject {sae!r} is not an SAE served by KME {self.spec.kme_id}")

    def _remote_sae(self, sae: str, role: str) -> str:
        spec = self.network.saes.get(sae)
        if spec is None:
            raise bad_request(f"{role} {sae!r} is unknown to KME {self.spec.kme_id}")
        return spec.node

    def _route(self, target_node: str, role: str, sae: str) -> list[str]:
        if target_node == self.node:
            raise bad_request(f"{role} {sae!r} is served by this KME: no QKD link between an SAE and its own node")
        route = self.network.route(self.node, target_node)
        if not route:
            raise bad_request(f"no chain of QKD links from node {self.node!r} to node {target_node!r}")
        return route

    # --- ETSI 014 -------------------------------------------------------------------
    def status(self, master: str, slave: str) -> etsi014.Status:
        """Get status (5.1): what ``master`` could get for ``slave`` now."""
        self._local_sae(master)
        target = self._remote_sae(slave, "slave_SAE_ID")
        route = self._route(target, "slave_SAE_ID", slave)
        lim = self.limits
        return etsi014.Status(
            source_KME_ID=self.spec.kme_id,
            target_KME_ID=self.network.nodes[target].kme_id,
            master_SAE_ID=master,
            slave_SAE_ID=slave,
            key_size=lim.key_size,
            stored_key_count=min(self._first_hop(route).allocatable_bits() // lim.key_size, lim.max_key_count),
            max_key_count=lim.max_key_count,
            max_key_per_request=lim.max_key_per_request,
            max_key_size=lim.max_key_size,
            min_key_size=lim.min_key_size,
            max_SAE_ID_count=lim.max_sae_id_count,
        )

    def _first_hop(self, route: list[str]) -> LinkPool:
        link = self.network.link_between(route[0], route[1])
        assert link is not None
        return self.pools[link]

    def _check_request(self, req: etsi014.KeyRequest) -> tuple[int, int, list[str]]:
        lim = self.limits
        number = 1 if req.number is None else req.number
        size = lim.key_size if req.size is None else req.size
        if type(number) is not int or number < 1:
            raise bad_request(f"number must be a positive integer, got {number!r}")
        if number > lim.max_key_per_request:
            raise bad_request(
                f"number {number} is above max_key_per_request {lim.max_key_per_request}",
                max_key_per_request=lim.max_key_per_request,
            )
        if type(size) is not int:
            raise bad_request(f"size must be an integer number of bits, got {size!r}")
        if size % 8:
            raise bad_request(f"size {size} is not a multiple of 8 bits", size=size)
        if not lim.min_key_size <= size <= lim.max_key_size:
            raise bad_request(
                f"size {size} is outside min_key_size {lim.min_key_size} .. max_key_size {lim.max_key_size}",
                min_key_size=lim.min_key_size,
                max_key_size=lim.max_key_size,
            )
        extra = [] if req.additional_slave_SAE_IDs is None else req.additional_slave_SAE_IDs
        if not isinstance(extra, list) or not all(isinstance(s, str) for s in extra):
            raise bad_request("additional_slave_SAE_IDs must be an array of SAE ID strings")
        if len(extra) > lim.max_sae_id_count:
            raise bad_request(
                f"{len(extra)} additional_slave_SAE_IDs, above max_SAE_ID_count {lim.max_sae_id_count}",
                max_SAE_ID_count=lim.max_sae_id_count,
            )
        mandatory = req.extension_mandatory
        if mandatory:
            names = [k for ext in mandatory for k in ext] if isinstance(mandatory, list) else [str(mandatory)]
            raise bad_request(
                "not all extension_mandatory parameters are supported",
                extension_mandatory_unsupported=[str(n) for n in names],
            )
        return number, size, extra

    def enc_keys(self, master: str, slave: str, req: etsi014.KeyRequest) -> etsi014.KeyContainer:
        """Get key (5.2): new keys for ``master`` to share with ``slave`` (and any additional slaves)."""
        self._local_sae(master)
        number, size, extra = self._check_request(req)
        slaves = [slave, *[s for s in extra if s != slave]]
        by_node: dict[str, list[str]] = {}
        for sae in slaves:
            node = self._remote_sae(sae, "slave_SAE_ID" if sae == slave else "additional_slave_SAE_ID")
            by_node.setdefault(node, []).append(sae)
        routes = {}
        for node, saes in by_node.items():
            routes[node] = self._route(node, "slave_SAE_ID", saes[0]) if node != self.node else None
        primary = routes[next(iter(by_node))]  # the slave_SAE_ID's node comes first
        assert primary is not None
        key_ids = [str(uuid.uuid4()) for _ in range(number)]
        n_bits = number * size
        pool = self._first_hop(primary)
        with pool.lock:  # the peer must draw in the order this node allocates
            try:
                keys_bits, slices = pool.allocate(n_bits)
            except KeyShortage as short:
                stored = short.available_bits // size
                raise server_error(
                    f"not enough key for {number} keys of {size} bits to {slave!r}: {stored} keys of that size stored",
                    stored_key_count=stored,
                ) from None
            except (SliceError, KeyStoreError) as error:
                raise server_error(f"key store error on the link to {primary[1]!r}: {error}") from None
            self._send(primary, key_ids, slices, None, master, by_node[primary[-1]], size)
        keys = np.split(keys_bits, number)
        for node, route in routes.items():
            if route is None:  # an additional slave at this node: hold the keys here
                self.pending.add(key_ids, keys, master, by_node[node])
            elif route is not primary:
                self._relay(route, key_ids, keys, master, by_node[node], size)
        return etsi014.KeyContainer(
            keys=[etsi014.Key(key_ID=k, key=_b64(b)) for k, b in zip(key_ids, keys, strict=True)]
        )

    def dec_keys(self, slave: str, master: str, key_ids: list[Any]) -> etsi014.KeyContainer:
        """Get key with key IDs (5.3): the keys ``master`` got, for ``slave``, each once."""
        self._local_sae(slave)
        self._remote_sae(master, "master_SAE_ID")
        if not key_ids:
            raise bad_request("no key_ID given")
        if len(key_ids) > self.limits.max_key_per_request:
            raise bad_request(f"{len(key_ids)} key_IDs, above max_key_per_request {self.limits.max_key_per_request}")
        for key_id in key_ids:
            if not isinstance(key_id, str) or not _UUID.match(key_id):
                raise bad_request(f"key_ID {key_id!r} is not a UUID")
        if len(set(key_ids)) != len(key_ids):
            raise bad_request("a key_ID is asked twice in one request")
        for key_id in key_ids:
            facts = self.pending.who(key_id)
            if facts is None or facts["master"] != master:
                raise bad_request(f"key_ID {key_id} not found for master_SAE_ID {master!r}", key_ID=key_id)
            if slave not in facts["slaves"]:
                raise unauthorized(f"key_ID {key_id} is not for SAE {slave!r} (or was already delivered to it)")
        try:
            keys = self.pending.deliver(key_ids, slave)
        except KeyError as error:  # another request took it in between
            raise bad_request(f"key_ID {error.args[0]} not found for master_SAE_ID {master!r}") from None
        return etsi014.KeyContainer(
            keys=[etsi014.Key(key_ID=k, key=_b64(b)) for k, b in zip(key_ids, keys, strict=True)]
        )

    # --- the relay ------------------------------------------------------------------
    def _send(self, route, key_ids, slices, ciphertexts, master, slaves, size) -> None:
        message = {
            "link": self.network.link_between(route[0], route[1]),
            "route": route[1:],
            "key_IDs": key_ids,
            "size": size,
            "slices": [list(s) for s in slices],
            "ciphertexts": ciphertexts,
            "master_SAE_ID": master,
            "slave_SAE_IDs": slaves,
        }
        if self.send_hop is None:
            raise server_error("this KME has no connection to other KMEs")
        try:
            self.send_hop(route[1], message)
        except HopError as error:
            raise server_error(f"key relay to node {route[1]!r} failed: {error}") from None

    def _relay(self, route, key_ids, keys, master, slaves, size) -> None:
        """Send keys one hop along ``route`` (route[0] is this node) under a one-time pad."""
        pool = self._first_hop(route)
        with pool.lock:
            try:
                pad, slices = pool.allocate(len(keys) * size)
            except (SliceError, KeyStoreError) as error:
                raise server_error(f"not enough key on the link to {route[1]!r} to relay: {error}") from None
            cipher = [_b64(k ^ p) for k, p in zip(keys, np.split(pad, len(keys)), strict=True)]
            self._send(route, key_ids, slices, cipher, master, slaves, size)

    def receive_hop(self, sender_kme_id: str, message: dict) -> None:
        """A hop from the KME ``sender_kme_id`` (from its certificate): draw, decrypt, hold or forward."""
        sender = self.network.node_of_kme(sender_kme_id)
        try:
            link, route, key_ids, size = message["link"], message["route"], message["key_IDs"], message["size"]
            slices = [(str(b), int(o), int(n)) for b, o, n in message["slices"]]
            master, slaves, cipher = message["master_SAE_ID"], message["slave_SAE_IDs"], message["ciphertexts"]
        except (KeyError, TypeError, ValueError):
            raise bad_request("malformed hop message") from None
        if sender is None or link not in self.pools or self.network.links_of(self.node)[link] != sender:
            raise unauthorized(f"{sender_kme_id!r} is not the KME at the other end of link {link!r}")
        if not route or route[0] != self.node or type(size) is not int or size <= 0 or size % 8:
            raise bad_request("hop message with a bad route or size")
        n_keys = len(key_ids)
        try:
            pad = self.pools[link].extract(slices, allocator=sender)
        except (SliceError, KeyStoreError, KeyError) as error:
            log.error("hop from %s on %s: link copies disagree: %s", sender, link, error)
            raise server_error(f"link {link!r}: this node's copy cannot give the slices asked: {error}") from None
        if pad.size != n_keys * size:
            raise server_error(f"link {link!r}: slices hold {pad.size} bits, {n_keys} keys of {size} bits sent")
        pads = np.split(pad, n_keys)
        keys = pads if cipher is None else [_unb64(c, size) ^ p for c, p in zip(cipher, pads, strict=True)]
        if len(route) == 1:
            self.pending.add(key_ids, keys, master, slaves)
        else:
            self._relay(route, key_ids, keys, master, slaves, size)

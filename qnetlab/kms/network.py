"""The key network description: nodes (one KME each), QKD links and SAEs, from YAML.

Example: ``config/kms/sim_network.yaml``.  Every problem is one :class:`NetworkError`
line ``<file>: <key.path>: <what is wrong>``.  A node's files live under a state
directory (default ``$QNETLAB_DATA_DIR/kms``, else ``./data/kms``)::

    <state>/certs/ca.pem, <name>.pem, <name>.key     (KMEs and SAEs, see certs.py)
    <state>/keys/<node>/<link>/                      this node's copy of the link's key
    <state>/keys/<node>/pending/                     keys waiting for their slave SAE
"""

from __future__ import annotations

import ipaddress
import os
from collections import deque
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["Network", "NetworkError", "Node", "load_network", "resolve_state_dir"]

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class NetworkError(ValueError):
    """A network file is unreadable or invalid; the message names file, key path and fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Node(_Strict):
    """One trusted node and its KME's HTTPS endpoint (loopback unless told otherwise)."""

    kme_id: Name
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)]


class Link(_Strict):
    """A QKD link between two nodes; both keep a copy of its key."""

    nodes: Annotated[list[Name], Field(min_length=2, max_length=2)]


class Sae(_Strict):
    """A secure application entity and the node whose KME serves it."""

    node: Name


class Limits(_Strict):
    """What each KME announces in its ETSI 014 Status (sizes in bits)."""

    key_size: Annotated[int, Field(ge=8, multiple_of=8)] = 256
    min_key_size: Annotated[int, Field(ge=8, multiple_of=8)] = 64
    max_key_size: Annotated[int, Field(ge=8, multiple_of=8)] = 8192
    max_key_per_request: Annotated[int, Field(ge=1, le=10_000)] = 128
    max_key_count: Annotated[int, Field(ge=1)] = 1_000_000
    max_sae_id_count: Annotated[int, Field(ge=0, le=16)] = 4

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min_key_size <= self.key_size <= self.max_key_size:
            raise ValueError(
                f"need min_key_size <= key_size <= max_key_size, got {self.min_key_size}, "
                f"{self.key_size}, {self.max_key_size}"
            )
        return self


class Network(_Strict):
    """Nodes, links and SAEs of one key network."""

    name: str
    limits: Limits = Limits()
    nodes: dict[Name, Node]
    links: dict[Name, Link]
    saes: dict[Name, Sae]

    @model_validator(mode="after")
    def _references(self):
        for link, spec in self.links.items():
            for node in spec.nodes:
                if node not in self.nodes:
                    raise ValueError(f"links.{link}: unknown node {node!r} (nodes: {', '.join(self.nodes)})")
            if spec.nodes[0] == spec.nodes[1]:
                raise ValueError(f"links.{link}: a link joins two different nodes")
        for sae, spec in self.saes.items():
            if spec.node not in self.nodes:
                raise ValueError(f"saes.{sae}: unknown node {spec.node!r} (nodes: {', '.join(self.nodes)})")
        kme_ids = [n.kme_id for n in self.nodes.values()]
        if len(set(kme_ids)) != len(kme_ids):
            raise ValueError("nodes: two nodes share a kme_id")
        clash = set(kme_ids) & set(self.saes)
        if clash:
            raise ValueError(f"saes: {sorted(clash)} are also KME ids (certificates must tell them apart)")
        for node, spec in self.nodes.items():
            try:
                ipaddress.ip_address(spec.host)
            except ValueError:
                raise ValueError(f"nodes.{node}.host: {spec.host!r} is not an IP address") from None
        return self

    def node_of_kme(self, kme_id: str) -> str | None:
        """The node whose KME has this id, or None."""
        return next((n for n, spec in self.nodes.items() if spec.kme_id == kme_id), None)

    def link_between(self, a: str, b: str) -> str | None:
        """The link joining nodes ``a`` and ``b``, or None."""
        return next((name for name, spec in self.links.items() if set(spec.nodes) == {a, b}), None)

    def links_of(self, node: str) -> dict[str, str]:
        """This node's links: link name -> the node at its other end."""
        return {
            name: next(n for n in spec.nodes if n != node) for name, spec in self.links.items() if node in spec.nodes
        }

    def route(self, source: str, target: str) -> list[str]:
        """Shortest chain of nodes from ``source`` to ``target`` (both included); [] if none."""
        previous: dict[str, str | None] = {source: None}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            if node == target:
                path = [node]
                while (step := previous[path[-1]]) is not None:
                    path.append(step)
                return path[::-1]
            for other in sorted(self.links_of(node).values()):
                if other not in previous:
                    previous[other] = node
                    queue.append(other)
        return []


def load_network(path: str | os.PathLike) -> Network:
    """Read and check a network YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise NetworkError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise NetworkError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise NetworkError(f"{path}: expected a mapping with name, nodes, links, saes")
    try:
        return Network.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise NetworkError(f"{path}: {where}: {first['msg']}") from None


def resolve_state_dir(state_dir: str | os.PathLike | None = None) -> Path:
    """``state_dir``, else ``$QNETLAB_DATA_DIR/kms``, else ``./data/kms``."""
    if state_dir is not None:
        return Path(state_dir)
    return Path(os.environ.get("QNETLAB_DATA_DIR", "data")) / "kms"

"""A node's copy of one link's key, drawn bit by bit, and the keys waiting for slave SAEs.

Both nodes of a link hold the same key blocks (the QKD post-processing of the link
stores the same bits at both ends).  Each block belongs to one *allocator*: its id
starts with that node's name (``alice.<run>.<n>``).  Only the allocator draws from its
blocks (:meth:`LinkPool.allocate`, in id order, from the start of a block) and tells the
other node which bits it drew as slices ``(block_id, n_bits)``; the other node draws
exactly those (:meth:`LinkPool.extract`).  So both ends use each bit once, in step,
without a shared lock.  A partly used block is erased and its rest stored under the
next id (``<id>.r1``, ``.r2``, ...), computed alike at both ends; the block is erased
first, so a crash can lose key bits but never hand out a bit twice.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import numpy as np

from qnetlab.analysis.qkd.keystore import KeyStore, link_store

__all__ = ["LinkPool", "PendingKeys", "SliceError", "deposit_link_key"]

_REST = re.compile(r"^(?P<base>.+?)(\.r(?P<n>\d+))?$")
Slice = tuple[str, int]


class SliceError(ValueError):
    """The two copies of a link disagree, or a peer asked for bits it may not draw."""


def _rest_id(block_id: str) -> str:
    m = _REST.match(block_id)
    assert m is not None
    return f"{m['base']}.r{int(m['n'] or 0) + 1}"


class LinkPool:
    """This node's copy of a link's key.

    Parameters
    ----------
    store : KeyStore
        The link's store at this node.
    node : str
        This node; it allocates from blocks whose id starts with ``<node>.``.
    """

    def __init__(self, store: KeyStore, node: str):
        self.store, self.node = store, node
        self.lock = threading.Lock()  # held by the allocator across its call to the peer
        self._extract_lock = threading.Lock()

    def _own_blocks(self) -> list[str]:
        return [k for k in self.store.ids() if k.startswith(f"{self.node}.")]

    def allocatable_bits(self) -> int:
        """Key bits this node may still draw from the link."""
        return sum(self.store.record(k).length for k in self._own_blocks())

    def _draw(self, block_id: str, n_bits: int) -> np.ndarray:
        bits = self.store.take(block_id)
        if bits.size < n_bits:
            raise SliceError(
                f"link store {self.store.directory}: block {block_id} has {bits.size} bits, {n_bits} asked"
            )
        if bits.size > n_bits:
            self.store.put(_rest_id(block_id), bits[n_bits:])
        return bits[:n_bits]

    def allocate(self, n_bits: int) -> tuple[np.ndarray, list[Slice]]:
        """Draw ``n_bits`` from this node's blocks; call with :attr:`lock` held.

        Raises
        ------
        SliceError
            When fewer bits are left (nothing is drawn then).
        """
        plan: list[Slice] = []
        need = n_bits
        for block in self._own_blocks():
            if need == 0:
                break
            take = min(need, self.store.record(block).length)
            plan.append((block, take))
            need -= take
        if need:
            raise SliceError(f"link store {self.store.directory}: {n_bits} bits asked, {n_bits - need} left")
        return np.concatenate([self._draw(b, n) for b, n in plan]), plan

    def extract(self, slices: list[Slice], allocator: str) -> np.ndarray:
        """Draw the bits the link's other node drew (its ``slices``)."""
        with self._extract_lock:
            for block, n in slices:
                if not block.startswith(f"{allocator}.") or n <= 0:
                    raise SliceError(f"slice ({block!r}, {n}) is not one node {allocator!r} may draw")
            return np.concatenate([self._draw(b, n) for b, n in slices]) if slices else np.zeros(0, np.uint8)


def deposit_link_key(
    node_roots: dict[str, Path], link_nodes: list[str], link: str, bits: np.ndarray, run_id: str, block_bits: int = 8192
) -> int:
    """Store one distilled link key at both ends, split between the two allocators.

    The first half of ``bits`` is drawn by ``link_nodes[0]``, the second half by
    ``link_nodes[1]``; each half is cut into blocks of ``block_bits``.  ``node_roots``
    maps a node to its key root (``<state>/keys/<node>``); only the nodes given are
    written (a real node writes its own copy).  Returns the number of bits stored per copy.
    """
    bits = np.asarray(bits, np.uint8)
    halves = np.array_split(bits, 2)
    for root in node_roots.values():
        store = link_store(root, link)
        for allocator, half in zip(link_nodes, halves, strict=True):
            for i, start in enumerate(range(0, half.size, block_bits)):
                store.put(f"{allocator}.{run_id}.{i:05d}", half[start : start + block_bits])
    return int(bits.size)


class PendingKeys:
    """Keys delivered to a master SAE and waiting for their slave SAEs (by key_ID).

    Key bits are in an owner-only :class:`KeyStore`; who may fetch each key is in
    ``pending.json`` beside it (public facts only: key_ID, SAE ids, size).
    """

    def __init__(self, root: Path):
        self.store = KeyStore(root / "pending")
        self._index_path = root / "pending.json"
        self._lock = threading.Lock()
        self._index: dict[str, dict] = json.loads(self._index_path.read_text()) if self._index_path.exists() else {}

    def _save(self) -> None:
        tmp = self._index_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self._index, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._index_path)

    def add(self, key_ids: list[str], keys: list[np.ndarray], master: str, slaves: list[str]) -> None:
        """Hold keys for ``slaves``; each may fetch each key once."""
        with self._lock:
            for key_id, bits in zip(key_ids, keys, strict=True):
                self.store.put(key_id, bits)
                self._index[key_id] = {"master": master, "slaves": list(slaves), "size": int(bits.size)}
            self._save()

    def who(self, key_id: str) -> dict | None:
        """Public facts of a pending key (master, slaves still to fetch, size), or None."""
        return self._index.get(key_id)

    def count(self) -> int:
        return len(self._index)

    def deliver(self, key_ids: list[str], slave: str) -> list[np.ndarray]:
        """Hand keys to ``slave``; a key is erased once its last slave has it.

        The caller has checked (under no lock) that each id is pending for this slave;
        it is checked again here, all before any key is handed out.
        """
        with self._lock:
            for key_id in key_ids:
                facts = self._index.get(key_id)
                if facts is None or slave not in facts["slaves"]:
                    raise KeyError(key_id)
            out = []
            for key_id in key_ids:
                facts = self._index[key_id]
                facts["slaves"].remove(slave)
                if facts["slaves"]:
                    out.append(self.store.get(key_id))
                else:
                    out.append(self.store.take(key_id))
                    del self._index[key_id]
            self._save()
            return out

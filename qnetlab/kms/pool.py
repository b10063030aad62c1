"""A node's copy of one link's key, drawn bit by bit, and the keys waiting for slave SAEs.

Both nodes of a link hold the same key blocks (the QKD post-processing of the link
stores the same bits at both ends).  Each block belongs to one *allocator*: its id
starts with that node's name (``alice.<run>.<n>``).  Only the allocator draws from its
blocks (:meth:`LinkPool.allocate`, in id order, from the start of a block) and tells the
other node which bits it drew as slices ``(block, offset, n_bits)``; the other node
draws exactly those (:meth:`LinkPool.extract`).  So both ends use each bit once, in
step, without a shared lock.  A partly used block is erased and its rest stored as
``<block>.o<offset>``; the block is erased first, so a crash can lose key bits but
never hand out a bit twice.  Bits the allocator drew for a hop that then failed are
skipped (erased) by the other end at its next draw from that block.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import numpy as np

from qnetlab.analysis.qkd.keystore import KeyStore, link_store

__all__ = ["KeyShortage", "LinkPool", "PendingKeys", "SliceError", "deposit_link_key"]

_POSITION = re.compile(r"^(?P<base>.+?)(\.o(?P<offset>\d+))?$")
Slice = tuple[str, int, int]  # (block base id, offset in the block, bits)


class SliceError(ValueError):
    """The two copies of a link disagree, or a peer asked for bits it may not draw."""


class KeyShortage(SliceError):
    """Fewer bits left to draw than asked (``available_bits`` says how many)."""

    def __init__(self, message: str, available_bits: int):
        super().__init__(message)
        self.available_bits = available_bits


def _position(block_id: str) -> tuple[str, int]:
    """(base id, offset of the block's first bit in the distilled block)."""
    m = _POSITION.match(block_id)
    assert m is not None
    return m["base"], int(m["offset"] or 0)


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
        return sum(self.store.length(k) for k in self._own_blocks())

    def _draw(self, block_id: str, offset: int, n_bits: int) -> np.ndarray:
        """Erase ``block_id``, keep its bits after ``offset + n_bits``, return those from ``offset``."""
        base, start = _position(block_id)
        if offset < start:
            raise SliceError(f"link {self.store.directory.name}: bits {offset}.. of {base} were already used here")
        bits = self.store.take(block_id)
        skip = offset - start
        if bits.size < skip + n_bits:
            self.store.put(block_id, bits)  # nothing drawn
            raise SliceError(f"link {self.store.directory.name}: {base} ends before bit {offset + n_bits}")
        if bits.size > skip + n_bits:
            self.store.put(f"{base}.o{offset + n_bits}", bits[skip + n_bits :])
        return bits[skip : skip + n_bits]

    def _block_of(self, base: str) -> str:
        found = [k for k in self.store.ids() if _position(k)[0] == base]
        if len(found) != 1:
            raise SliceError(f"link {self.store.directory.name}: block {base} {'not here' if not found else 'twice'}")
        return found[0]

    def allocate(self, n_bits: int) -> tuple[np.ndarray, list[Slice]]:
        """Draw ``n_bits`` from this node's blocks; call with :attr:`lock` held.

        Raises
        ------
        SliceError
            When fewer bits are left (nothing is drawn then).
        """
        plan: list[Slice] = []
        need = n_bits
        blocks: list[str] = []
        for block in self._own_blocks():
            if need == 0:
                break
            take = min(need, self.store.length(block))
            plan.append((*_position(block), take))
            blocks.append(block)
            need -= take
        if need:
            left = n_bits - need
            raise KeyShortage(f"link {self.store.directory.name}: {n_bits} bits asked, {left} left", left)
        drawn = [self._draw(block, off, n) for block, (_, off, n) in zip(blocks, plan, strict=True)]
        return np.concatenate(drawn), plan

    def extract(self, slices: list[Slice], allocator: str) -> np.ndarray:
        """Draw the bits the link's other node drew (its ``slices``)."""
        with self._extract_lock:
            for base, offset, n in slices:
                if not base.startswith(f"{allocator}.") or n <= 0 or offset < 0:
                    raise SliceError(f"slice ({base!r}, {offset}, {n}) is not one node {allocator!r} may draw")
            drawn = [self._draw(self._block_of(base), offset, n) for base, offset, n in slices]
            return np.concatenate(drawn) if drawn else np.zeros(0, np.uint8)


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

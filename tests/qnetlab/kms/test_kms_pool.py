"""Link pools drawn in step at both ends; pending keys handed to each slave once; the network file."""

from __future__ import annotations

import numpy as np
import pytest

from qnetlab.analysis.qkd.keystore import link_store
from qnetlab.kms.network import NetworkError, load_network
from qnetlab.kms.pool import LinkPool, PendingKeys, SliceError, deposit_link_key

BITS = np.random.default_rng(1).integers(0, 2, 10_000, dtype=np.uint8)


@pytest.fixture
def ends(tmp_path):
    roots = {"a": tmp_path / "a", "b": tmp_path / "b"}
    deposit_link_key(roots, ["a", "b"], "ab", BITS, "run1", block_bits=1000)
    return LinkPool(link_store(roots["a"], "ab"), "a"), LinkPool(link_store(roots["b"], "ab"), "b")


def test_deposit_splits_between_allocators(ends):
    a, b = ends
    assert a.allocatable_bits() == 5000 and b.allocatable_bits() == 5000
    assert a.store.ids() == b.store.ids() and len(a.store.ids()) == 10


def test_allocate_and_extract_agree_and_use_each_bit_once(ends):
    a, b = ends
    drawn = []
    for n in (300, 1500, 8, 1000):  # across block boundaries
        bits, slices = a.allocate(n)
        assert np.array_equal(b.extract(slices, allocator="a"), bits)
        drawn.append(bits)
    assert np.array_equal(np.concatenate(drawn), BITS[:2808])  # Alice's half, in order, no bit twice
    assert a.allocatable_bits() == b.store.available_bits() - 5000 == 5000 - 2808
    theirs, slices = b.allocate(64)
    assert np.array_equal(theirs, BITS[5000:5064]) and np.array_equal(a.extract(slices, allocator="b"), theirs)


def test_extract_refuses_the_other_direction_and_reuse(ends):
    a, b = ends
    _, slices = a.allocate(100)
    with pytest.raises(SliceError, match="not one node 'b' may draw"):
        b.extract(slices, allocator="b")  # b may not be told to draw a's bits as its own
    b.extract(slices, allocator="a")
    with pytest.raises(SliceError, match="already used"):
        b.extract(slices, allocator="a")


def test_skipped_bits_are_erased_at_the_other_end(ends):
    a, b = ends
    a.allocate(100)  # the hop carrying this was lost
    bits, slices = a.allocate(50)
    assert np.array_equal(b.extract(slices, allocator="a"), bits)
    assert b.store.available_bits() == 10_000 - 150


def test_allocate_more_than_stored_draws_nothing(ends):
    a, _ = ends
    with pytest.raises(SliceError, match="5001 bits asked, 5000 left"):
        a.allocate(5001)
    assert a.allocatable_bits() == 5000


def test_pending_keys_once_per_slave(tmp_path):
    pending = PendingKeys(tmp_path / "node")
    k1, k2 = BITS[:256], BITS[256:512]
    pending.add(["id-1", "id-2"], [k1, k2], "SAE-A", ["SAE-B", "SAE-C"])
    assert np.array_equal(pending.deliver(["id-1"], "SAE-B")[0], k1)
    with pytest.raises(KeyError):
        pending.deliver(["id-1"], "SAE-B")
    assert PendingKeys(tmp_path / "node").who("id-1") == {"master": "SAE-A", "slaves": ["SAE-C"], "size": 256}
    assert np.array_equal(pending.deliver(["id-1"], "SAE-C")[0], k1)
    assert pending.who("id-1") is None and pending.store.ids() == ["id-2"]  # erased after its last slave


def test_sim_network_routes(tmp_path):
    from pathlib import Path

    network = load_network(Path(__file__).resolve().parents[3] / "config" / "kms" / "sim_network.yaml")
    assert network.route("alice", "bob") == ["alice", "relay", "bob"]
    assert network.links_of("relay") == {"alice-relay": "alice", "relay-bob": "bob"}
    assert all(n.host == "127.0.0.1" for n in network.nodes.values())  # loopback by default


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "name: x\nnodes: {a: {kme_id: K, port: 1}}\nlinks: {l: {nodes: [a, z]}}\nsaes: {}",
            "links.l: unknown node 'z'",
        ),
        ("name: x\nnodes: {a: {kme_id: K, port: 1}}\nlinks: {}\nsaes: {S: {node: q}}", "saes.S: unknown node 'q'"),
        ("name: x\nnodes: {a: {kme_id: K, port: 0}}\nlinks: {}\nsaes: {}", "nodes.a.port"),
        ("name: x\nnodes: {a: {kme_id: K, port: 1, host: example.org}}\nlinks: {}\nsaes: {}", "not an IP"),
        ("name: x\nnodes: {a: {kme_id: K, port: 1, colour: red}}\nlinks: {}\nsaes: {}", "nodes.a.colour"),
        ("name: x\nnodes: {a: {kme_id: S, port: 1}}\nlinks: {}\nsaes: {S: {node: a}}", "also KME ids"),
        ("name: x\nlimits: {key_size: 100}\nnodes: {}\nlinks: {}\nsaes: {}", "limits.key_size"),
        ("[1, 2]", "expected a mapping"),
    ],
)
def test_bad_network_files_name_the_key(tmp_path, text, words):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(NetworkError, match=words) as info:
        load_network(path)
    assert str(path) in str(info.value)

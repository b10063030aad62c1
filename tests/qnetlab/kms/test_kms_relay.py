"""Alice — Relay — Bob, each KME its own process, link keys from simulated QKD: relayed keys
are equal at both ends, never repeated, and each link bit is used once."""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from qnetlab.analysis.qkd.keystore import link_store
from qnetlab.cli import app
from qnetlab.kms.launch import node_processes
from qnetlab.kms.network import load_network


@pytest.fixture(scope="module")
def chain(tmp_path_factory, kms_helpers):
    tmp = tmp_path_factory.mktemp("chain")
    tmp.chmod(0o700)
    config = kms_helpers.write_network(tmp)
    network, state = load_network(config), tmp / "state"
    runner = CliRunner()
    made = runner.invoke(app, ["kms", "certs", "--config", str(config), "--state-dir", str(state)])
    assert made.exit_code == 0, made.output
    filled = runner.invoke(app, ["kms", "fill-sim", "--config", str(config), "--state-dir", str(state), "--seed", "5"])
    assert filled.exit_code == 0, filled.output
    qbers = [float(q) for q in re.findall(r"secret bits \(QBER ([0-9.]+)", filled.output)]
    assert len(qbers) == 2 and all(0.007 < q < 0.013 for q in qbers), filled.output  # 1 % misalignment
    with node_processes(network, config, state):
        yield network, state


def _bits(state, node, link, allocator):
    store = link_store(state / "keys" / node, link)
    return sum(store.record(k).length for k in store.ids() if k.startswith(f"{allocator}."))


def _all_counts(network, state):
    return {
        (node, link, alloc): _bits(state, node, link, alloc)
        for link, spec in network.links.items()
        for node in spec.nodes
        for alloc in spec.nodes
    }


def test_fill_sim_gave_the_same_key_to_both_ends(chain):
    network, state = chain
    for link, spec in network.links.items():
        a, b = (link_store(state / "keys" / n, link) for n in spec.nodes)
        assert a.ids() == b.ids() and len(a.ids()) > 2
        assert [a.record(k).sha256 for k in a.ids()] == [b.record(k).sha256 for k in b.ids()]
        assert a.available_bits() > 20_000


def test_relayed_keys_equal_at_both_ends_and_each_link_bit_used_once(chain, kms_helpers):
    network, state = chain
    before = _all_counts(network, state)
    n, size = 10, 512
    with kms_helpers.sae_client(network, state, "SAE-ALICE", "alice") as alice:
        sent = alice.post("/api/v1/keys/SAE-BOB/enc_keys", json={"number": n, "size": size})
    assert sent.status_code == 200, sent.text
    keys = sent.json()["keys"]
    with kms_helpers.sae_client(network, state, "SAE-BOB", "bob") as bob:
        got = bob.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]})
        assert got.status_code == 200, got.text
        assert got.json()["keys"] == keys
        again = bob.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": [{"key_ID": keys[0]["key_ID"]}]})
        assert again.status_code == 400
    assert len({k["key"] for k in keys}) == n and all(len(base64.b64decode(k["key"])) == size // 8 for k in keys)
    after = _all_counts(network, state)
    used = {k: before[k] - after[k] for k in before}
    drawn = n * size
    assert used == {
        ("alice", "alice-relay", "alice"): drawn, ("relay", "alice-relay", "alice"): drawn,  # the keys
        ("relay", "relay-bob", "relay"): drawn, ("bob", "relay-bob", "relay"): drawn,  # the pad
        ("alice", "alice-relay", "relay"): 0, ("relay", "alice-relay", "relay"): 0,
        ("relay", "relay-bob", "bob"): 0, ("bob", "relay-bob", "bob"): 0,
    }  # fmt: skip
    for node in network.nodes:  # nothing left waiting anywhere, nothing of a key in the index
        index = state / "keys" / node / "pending.json"
        assert not index.exists() or json.loads(index.read_text()) == {}


def test_reverse_direction_and_concurrent_clients(chain, kms_helpers):
    """Eight SAE clients at once, both directions: every key fetched once, equal, none repeated."""
    network, state = chain
    before = _all_counts(network, state)

    def ask(args):
        master, node, slave = args
        with kms_helpers.sae_client(network, state, master, node) as c:
            out = []
            for _ in range(3):
                r = c.post(f"/api/v1/keys/{slave}/enc_keys", json={"number": 2, "size": 256})
                assert r.status_code == 200, r.text
                out += r.json()["keys"]
            return master, out

    jobs = [("SAE-ALICE", "alice", "SAE-BOB")] * 4 + [("SAE-BOB", "bob", "SAE-ALICE")] * 4
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, jobs))
    fetched = []
    for master, keys in results:
        slave, node = ("SAE-BOB", "bob") if master == "SAE-ALICE" else ("SAE-ALICE", "alice")
        with kms_helpers.sae_client(network, state, slave, node) as c:
            r = c.post(f"/api/v1/keys/{master}/dec_keys", json={"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]})
        assert r.status_code == 200 and r.json()["keys"] == keys
        fetched += keys
    assert len(fetched) == 48 and len({k["key"] for k in fetched}) == 48 and len({k["key_ID"] for k in fetched}) == 48
    after = _all_counts(network, state)
    per_direction = 24 * 256
    assert before[("alice", "alice-relay", "alice")] - after[("alice", "alice-relay", "alice")] == per_direction
    assert before[("bob", "relay-bob", "bob")] - after[("bob", "relay-bob", "bob")] == per_direction
    assert before[("relay", "relay-bob", "relay")] - after[("relay", "relay-bob", "relay")] == per_direction
    assert before[("relay", "alice-relay", "relay")] - after[("relay", "alice-relay", "relay")] == per_direction
    assert before[("relay", "alice-relay", "alice")] - after[("relay", "alice-relay", "alice")] == per_direction


def test_failed_hop_gives_503_and_the_link_stays_in_step(chain, kms_helpers, tmp_path):
    """A KME that cannot reach the relay answers 503 with the reason; the bits it drew are
    skipped by the relay at the next hop, which then succeeds end to end."""
    network, state = chain
    # a second Alice KME on another port whose peers point nowhere: the relay is unreachable
    import yaml

    raw = yaml.safe_load((state.parent / "network.yaml").read_text())
    port_alice, port_dead = kms_helpers.free_ports(2)
    raw["nodes"]["alice"]["port"], raw["nodes"]["relay"]["port"] = port_alice, port_dead
    config = tmp_path / "network.yaml"
    config.write_text(yaml.safe_dump(raw))
    isolated = load_network(config)
    from qnetlab.kms.server import KmeServer

    with KmeServer(isolated, "alice", state), kms_helpers.sae_client(isolated, state, "SAE-ALICE", "alice") as c:
        r = c.post("/api/v1/keys/SAE-BOB/enc_keys", json={"number": 1})
    assert (
        r.status_code == 503 and "key relay to node 'relay' failed: cannot reach KME KME-RELAY" in r.json()["message"]
    )
    before = _all_counts(network, state)
    with kms_helpers.sae_client(network, state, "SAE-ALICE", "alice") as alice:
        keys = alice.post("/api/v1/keys/SAE-BOB/enc_keys", json={"number": 1}).json()["keys"]
    with kms_helpers.sae_client(network, state, "SAE-BOB", "bob") as bob:
        got = bob.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": [{"key_ID": keys[0]["key_ID"]}]})
    assert got.status_code == 200 and got.json()["keys"] == keys
    after = _all_counts(network, state)
    assert (
        before[("relay", "alice-relay", "alice")] - after[("relay", "alice-relay", "alice")] == 2 * 256
    )  # skipped + used

"""ETSI GS QKD 014 over HTTPS with mutual TLS: status, enc_keys, dec_keys, the standard's errors."""

from __future__ import annotations

import base64
import logging
import socket
import ssl

import httpx
import numpy as np
import pytest

from qnetlab.kms.certs import cert_paths

STATUS_FIELDS = {
    "source_KME_ID", "target_KME_ID", "master_SAE_ID", "slave_SAE_ID", "key_size", "stored_key_count",
    "max_key_count", "max_key_per_request", "max_key_size", "min_key_size", "max_SAE_ID_count",
}  # fmt: skip


@pytest.fixture(scope="module")
def sae_client(kms_helpers):
    return kms_helpers.sae_client


@pytest.fixture(scope="module")
def alice(net, servers, sae_client):
    with sae_client(*net, "SAE-ALICE", "alice") as c:
        yield c


@pytest.fixture(scope="module")
def relay(net, servers, sae_client):
    with sae_client(*net, "SAE-RELAY", "relay") as c:
        yield c


@pytest.fixture(scope="module")
def bob(net, servers, sae_client):
    with sae_client(*net, "SAE-BOB", "bob") as c:
        yield c


def _own_bits(servers, node, link):
    return servers[node].kme.pools[link].allocatable_bits()


def test_status_has_the_standard_fields(alice, servers):
    r = alice.get("/api/v1/keys/SAE-RELAY/status")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == STATUS_FIELDS
    assert body["source_KME_ID"] == "KME-ALICE" and body["target_KME_ID"] == "KME-RELAY"
    assert body["master_SAE_ID"] == "SAE-ALICE" and body["key_size"] == 256
    assert body["stored_key_count"] == _own_bits(servers, "alice", "alice-relay") // 256
    relayed = alice.get("/api/v1/keys/SAE-BOB/status").json()
    assert relayed["target_KME_ID"] == "KME-BOB"


def test_enc_keys_then_dec_keys_once(alice, relay, servers):
    before_a, before_r = _own_bits(servers, "alice", "alice-relay"), servers["relay"].kme.pending.count()
    r = alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json={"number": 3, "size": 512})
    assert r.status_code == 200, r.text
    keys = r.json()["keys"]
    assert len(keys) == 3 and all(len(base64.b64decode(k["key"])) == 64 for k in keys)
    assert _own_bits(servers, "alice", "alice-relay") == before_a - 3 * 512
    assert servers["relay"].kme.pending.count() == before_r + 3
    ids = [{"key_ID": k["key_ID"]} for k in keys]
    got = relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": ids})
    assert got.status_code == 200, got.text
    assert got.json()["keys"] == keys
    again = relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": ids[:1]})
    assert again.status_code == 400 and "not found" in again.json()["message"]
    assert servers["relay"].kme.pending.count() == before_r


def test_get_forms(alice, relay):
    r = alice.get("/api/v1/keys/SAE-RELAY/enc_keys", params={"number": 2, "size": 128})
    assert r.status_code == 200 and len(r.json()["keys"]) == 2
    default = alice.get("/api/v1/keys/SAE-RELAY/enc_keys").json()["keys"]
    assert len(default) == 1 and len(base64.b64decode(default[0]["key"])) == 256 // 8
    key = r.json()["keys"][1]
    got = relay.get("/api/v1/keys/SAE-ALICE/dec_keys", params={"key_ID": key["key_ID"]})
    assert got.status_code == 200 and got.json()["keys"] == [key]


def test_independent_etsi_client_package(net, servers):
    """etsi-qkd-014-client (LIP6), on requests, gets keys from the master KME and the same by ID from the slave."""
    from etsi_qkd_014_client import QKD014Client

    network, state = net

    def client(sae, node):
        cert, key = cert_paths(state, sae)
        spec = network.nodes[node]
        return QKD014Client(f"{spec.host}:{spec.port}", str(cert), str(key), str(state / "certs" / "ca.pem"))

    master, slave = client("SAE-ALICE", "alice"), client("SAE-BOB", "bob")
    code, status = master.get_status("SAE-BOB")
    assert code == 200 and status.target_kme_id == "KME-BOB" and status.max_key_per_request == 128
    code, container = master.get_key("SAE-BOB", number=4, size=256)
    assert code == 200 and len(container.keys) == 4
    code, same = slave.get_key_with_key_IDs("SAE-ALICE", [k.key_id for k in container.keys])
    assert code == 200
    assert [(k.key_id, k.key) for k in same.keys] == [(k.key_id, k.key) for k in container.keys]
    code, error = master.get_key("SAE-BOB", number=1, size=12)
    assert code == 400 and "not a multiple of 8" in error.message and error.details == [{"size": 12}]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"size": 100}, 400, "not a multiple of 8"),
        ({"size": 8 * 2000}, 400, "outside min_key_size"),
        ({"size": 32}, 400, "outside min_key_size"),
        ({"number": 129}, 400, "above max_key_per_request"),
        ({"number": 0}, 400, "positive integer"),
        ({"number": "two"}, 400, "positive integer"),
        ({"number": 128, "size": 8192}, 503, "not enough key"),
        ({"additional_slave_SAE_IDs": ["SAE-NOBODY"]}, 400, "unknown"),
        ({"additional_slave_SAE_IDs": ["a", "b", "c", "d", "e"]}, 400, "max_SAE_ID_count"),
        ({"extension_mandatory": [{"abc_route_type": "direct"}]}, 400, "extension_mandatory parameters"),
        ({"colour": "blue"}, 400, "Bad request format"),
    ],
)
def test_enc_keys_errors(alice, servers, body, status, words):
    before = _own_bits(servers, "alice", "alice-relay")
    r = alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["message"]
    assert _own_bits(servers, "alice", "alice-relay") == before  # a refused request draws no key


def test_error_details(alice):
    r = alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json={"extension_mandatory": [{"abc_route_type": "direct"}]})
    assert r.json()["details"] == [{"extension_mandatory_unsupported": ["abc_route_type"]}]
    r = alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json={"number": 128, "size": 8192})
    assert "stored_key_count" in r.json()["details"][0]


def test_unknown_and_wrong_saes(alice, bob, relay):
    r = alice.post("/api/v1/keys/SAE-NOBODY/enc_keys", json={})
    assert r.status_code == 400 and "'SAE-NOBODY' is unknown" in r.json()["message"]
    r = alice.get("/api/v1/keys/SAE-ALICE/status")
    assert r.status_code == 400 and "served by this KME" in r.json()["message"]


def test_client_certificate_must_match_the_sae(net, servers, sae_client):
    """SAE-BOB's valid certificate at Alice's KME: 401, for every call."""
    with sae_client(*net, "SAE-BOB", "alice") as wrong:
        for r in (
            wrong.get("/api/v1/keys/SAE-RELAY/status"),
            wrong.post("/api/v1/keys/SAE-RELAY/enc_keys", json={}),
            wrong.post("/api/v1/keys/SAE-RELAY/dec_keys", json={"key_IDs": []}),
        ):
            assert r.status_code == 401 and "not an SAE served by KME KME-ALICE" in r.json()["message"]


def test_dec_keys_errors(alice, relay, bob):
    key = alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json={}).json()["keys"][0]
    r = bob.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": [{"key_ID": key["key_ID"]}]})
    assert r.status_code == 400 and "not found" in r.json()["message"]  # Bob's KME never had it
    r = relay.post("/api/v1/keys/SAE-BOB/dec_keys", json={"key_IDs": [{"key_ID": key["key_ID"]}]})
    assert r.status_code == 400  # wrong master
    for bad in ({"key_IDs": [{"key_ID": "not-a-uuid"}]}, {"key_IDs": []}, {"key_IDs": [{"key_ID": 7}]}):
        r = relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json=bad)
        assert r.status_code == 400, bad
    twice = {"key_IDs": [{"key_ID": key["key_ID"]}] * 2}
    assert relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json=twice).status_code == 400
    r = relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": [{"key_ID": key["key_ID"]}]})
    assert r.status_code == 200 and r.json()["keys"] == [key]  # the failed calls did not spend it


def test_multicast_to_additional_slaves(alice, relay, bob):
    r = alice.post(
        "/api/v1/keys/SAE-RELAY/enc_keys", json={"number": 2, "size": 256, "additional_slave_SAE_IDs": ["SAE-BOB"]}
    )
    assert r.status_code == 200, r.text
    keys = r.json()["keys"]
    ids = {"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]}
    assert relay.post("/api/v1/keys/SAE-ALICE/dec_keys", json=ids).json()["keys"] == keys
    assert bob.post("/api/v1/keys/SAE-ALICE/dec_keys", json=ids).json()["keys"] == keys


def test_no_client_certificate_is_refused_at_tls(net, servers):
    network, state = net
    spec = network.nodes["alice"]
    ctx = ssl.create_default_context(cafile=str(state / "certs" / "ca.pem"))
    with pytest.raises(httpx.TransportError), httpx.Client(verify=ctx) as anonymous:
        anonymous.get(f"https://{spec.host}:{spec.port}/api/v1/keys/SAE-RELAY/status")  # no HTTP answer at all
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # there the server's refusal ends the handshake itself
    with socket.create_connection((spec.host, spec.port)) as raw, pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname=spec.host)


def test_certificate_from_another_ca_is_refused_at_tls(net, servers, tmp_path):
    from qnetlab.kms.certs import make_network_certs

    network, state = net
    tmp_path.chmod(0o700)
    make_network_certs(network, tmp_path)  # same names, another CA
    cert, key = cert_paths(tmp_path, "SAE-ALICE")
    ctx = ssl.create_default_context(cafile=str(state / "certs" / "ca.pem"))
    ctx.load_cert_chain(cert, key)
    spec = network.nodes["alice"]
    with pytest.raises(httpx.TransportError), httpx.Client(verify=ctx) as forged:
        forged.get(f"https://{spec.host}:{spec.port}/api/v1/keys/SAE-RELAY/status")


def test_hop_route_takes_only_the_neighbouring_kme(net, servers, sae_client):
    network, state = net
    message = {"link": "relay-bob", "route": ["bob"], "key_IDs": [], "size": 8, "slices": [],
               "ciphertexts": None, "master_SAE_ID": "SAE-ALICE", "slave_SAE_IDs": ["SAE-BOB"]}  # fmt: skip
    with sae_client(network, state, "SAE-ALICE", "bob") as sae:
        assert sae.post("/kme/v1/hop", json=message).status_code == 401
    with sae_client(network, state, "KME-ALICE", "bob") as not_neighbour:
        r = not_neighbour.post("/kme/v1/hop", json=message)
        assert r.status_code == 401 and "other end of link" in r.json()["message"]


def test_no_key_material_in_logs_or_errors(alice, relay, caplog):
    caplog.set_level(logging.DEBUG)
    keys = alice.post("/api/v1/keys/SAE-BOB/enc_keys", json={"number": 4}).json()["keys"]
    errors = [alice.post("/api/v1/keys/SAE-RELAY/enc_keys", json={"size": 100}).text]
    text = caplog.text + "".join(errors)
    for k in keys:
        raw = base64.b64decode(k["key"])
        assert k["key"] not in text and raw.hex() not in text
        assert "".join(map(str, np.unpackbits(np.frombuffer(raw, np.uint8))[:32])) not in text

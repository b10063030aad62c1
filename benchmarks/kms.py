"""KME load on loopback: sustained ETSI 014 enc_keys requests/s and p99 latency, direct and relayed.

Three KME processes (Alice — Relay — Bob, config/kms/sim_network.yaml on free ports) with
random link keys (this measures the KMEs, not QKD; ``qnetlab kms fill-sim`` is the
sim's real source).  C concurrent SAE clients (httpx, mutual TLS, keep-alive) each ask
for one 256-bit key per request until N requests or T seconds; then the slave SAE
fetches every key by ID and the script checks that none was lost or duplicated and
that each hop used exactly one link bit per key bit.  Every draw from a link store is
made durable (fsync) at both ends before the key is handed out, so the rate of small
requests is bounded by the disk's fsync time; many keys per request amortize it.
Prints ``<figure>: <number> <unit>``.
"""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qnetlab.analysis.qkd.keystore import link_store  # noqa: E402
from qnetlab.kms.certs import cert_paths, make_network_certs  # noqa: E402
from qnetlab.kms.launch import node_processes  # noqa: E402
from qnetlab.kms.network import load_network  # noqa: E402
from qnetlab.kms.pool import deposit_link_key  # noqa: E402

CLIENTS, MAX_REQUESTS, MAX_SECONDS, SIZE = 8, 800, 20.0, 256


def line(name, value, unit):
    print(f"{name}: {value:.4g} {unit}", flush=True)


def client(network, state, sae, node):
    cert, key = cert_paths(state, sae)
    ctx = ssl.create_default_context(cafile=str(state / "certs" / "ca.pem"))
    ctx.load_cert_chain(cert, key)
    spec = network.nodes[node]
    return httpx.Client(base_url=f"https://{spec.host}:{spec.port}", verify=ctx, timeout=30)


def own_bits(state, node, link):
    store = link_store(state / "keys" / node, link)
    return sum(store.record(k).length for k in store.ids() if k.startswith(f"{node}."))


def load(network, state, slave, slave_node, tag, number=1, max_requests=MAX_REQUESTS):
    per_client = max_requests // CLIENTS
    deadline = time.perf_counter() + MAX_SECONDS

    def run(_):
        latencies, keys = [], []
        with client(network, state, "SAE-ALICE", "alice") as c:
            for _ in range(per_client):
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                r = c.post(f"/api/v1/keys/{slave}/enc_keys", json={"number": number, "size": SIZE})
                latencies.append(time.perf_counter() - t0)
                r.raise_for_status()
                keys += r.json()["keys"]
        return latencies, keys

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(run, range(CLIENTS)))
    wall = time.perf_counter() - t0
    latencies = np.concatenate([r[0] for r in results])
    keys = [k for r in results for k in r[1]]
    line(
        f"kms_enc_keys_{tag}_rate", len(latencies) / wall, f"requests/s ({CLIENTS} clients, {len(latencies)} requests)"
    )
    line(f"kms_enc_keys_{tag}_p50_latency", 1e3 * np.percentile(latencies, 50), "ms")
    line(f"kms_enc_keys_{tag}_p99_latency", 1e3 * np.percentile(latencies, 99), "ms")
    line(f"kms_{tag}_key_throughput", len(keys) * SIZE / wall, "bit/s")
    fetched = []
    with client(network, state, slave, slave_node) as c:
        for i in range(0, len(keys), 128):
            ids = [{"key_ID": k["key_ID"]} for k in keys[i : i + 128]]
            r = c.post("/api/v1/keys/SAE-ALICE/dec_keys", json={"key_IDs": ids})
            r.raise_for_status()
            fetched += r.json()["keys"]
    lost = sum(a != b for a, b in zip(keys, fetched, strict=True))
    duplicated = len(keys) - len({k["key"] for k in keys})
    line(f"kms_{tag}_keys_lost_or_different", lost, "keys")
    line(f"kms_{tag}_keys_duplicated", duplicated, "keys")
    return len(keys)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o700)
        raw = yaml.safe_load((REPO / "config" / "kms" / "sim_network.yaml").read_text())
        import socket

        for node in raw["nodes"]:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                raw["nodes"][node]["port"] = s.getsockname()[1]
        config = tmp / "network.yaml"
        config.write_text(yaml.safe_dump(raw))
        network, state = load_network(config), tmp / "state"
        make_network_certs(network, state)
        rng = np.random.default_rng(0)
        for link, spec in network.links.items():
            roots = {n: state / "keys" / n for n in spec.nodes}
            deposit_link_key(roots, spec.nodes, link, rng.integers(0, 2, 2 * 2**20, dtype=np.uint8), "bench")
        with node_processes(network, config, state):
            before = {(n, link): own_bits(state, n, link) for n in ("alice", "relay") for link in network.links_of(n)}
            n_direct = load(network, state, "SAE-RELAY", "relay", "direct")
            mid = {(n, link): own_bits(state, n, link) for n in ("alice", "relay") for link in network.links_of(n)}
            n_relayed = load(network, state, "SAE-BOB", "bob", "relayed")
            n_relayed += load(network, state, "SAE-BOB", "bob", "relayed_64_per_request", number=64, max_requests=80)
            after = {(n, link): own_bits(state, n, link) for n in ("alice", "relay") for link in network.links_of(n)}
        used_direct = sum(before[k] - mid[k] for k in before)
        used_relayed = sum(mid[k] - after[k] for k in mid)
        line("kms_direct_link_bits_per_key_bit", used_direct / (n_direct * SIZE), "link bits (reference: 1)")
        line("kms_relayed_link_bits_per_key_bit", used_relayed / (n_relayed * SIZE), "link bits (reference: 2 hops)")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    line("benchmark_wall_time", time.perf_counter() - t0, "s")

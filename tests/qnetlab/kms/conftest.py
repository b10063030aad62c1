"""A three-node test network (Alice — Relay — Bob) on free loopback ports, with its certificates."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from qnetlab.kms.certs import cert_paths, make_network_certs
from qnetlab.kms.network import load_network
from qnetlab.kms.pool import deposit_link_key

SIM_NETWORK = Path(__file__).resolve().parents[3] / "config" / "kms" / "sim_network.yaml"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def write_network(tmp: Path, **limits) -> Path:
    """config/kms/sim_network.yaml with free ports (and limits overridden)."""
    raw = yaml.safe_load(SIM_NETWORK.read_text())
    for node, port in zip(raw["nodes"], free_ports(len(raw["nodes"])), strict=True):
        raw["nodes"][node]["port"] = port
    raw["limits"].update(limits)
    path = tmp / "network.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def fill_random(network, state: Path, bits_per_link: int, seed: int = 0) -> None:
    """Random link keys at both ends (the tests' stand-in for distilled keys)."""
    rng = np.random.default_rng(seed)
    for link, spec in network.links.items():
        bits = rng.integers(0, 2, bits_per_link, dtype=np.uint8)
        roots = {n: state / "keys" / n for n in spec.nodes}
        deposit_link_key(roots, spec.nodes, link, bits, f"test{seed}", block_bits=4096)


def sae_client(network, state: Path, sae: str, node: str) -> httpx.Client:
    """Plain httpx with the SAE's client certificate, pointed at a node's KME."""
    import ssl

    cert, key = cert_paths(state, sae)
    ctx = ssl.create_default_context(cafile=str(state / "certs" / "ca.pem"))
    ctx.load_cert_chain(cert, key)
    spec = network.nodes[node]
    return httpx.Client(base_url=f"https://{spec.host}:{spec.port}", verify=ctx, timeout=10)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """(network, state dir) with certificates made."""
    tmp = tmp_path_factory.mktemp("kms")
    tmp.chmod(0o700)
    network = load_network(write_network(tmp))
    state = tmp / "state"
    make_network_certs(network, state)
    return network, state


@pytest.fixture(scope="module")
def servers(net):
    """The three KMEs, each in a thread of this process, with 2**17 random bits per link."""
    from qnetlab.kms.server import KmeServer

    network, state = net
    fill_random(network, state, 2**17)
    started = []
    try:
        for node in network.nodes:
            started.append(KmeServer(network, node, state).start())
        yield {s.kme.node: s for s in started}
    finally:
        for s in started:
            s.stop()


@pytest.fixture(scope="session")
def kms_helpers():
    """The helpers above, for test modules (a conftest cannot be imported by name here)."""
    return type("KmsHelpers", (), {
        "sae_client": staticmethod(sae_client), "fill_random": staticmethod(fill_random),
        "write_network": staticmethod(write_network), "free_ports": staticmethod(free_ports),
    })  # fmt: skip

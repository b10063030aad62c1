"""``qnetlab kms``: serve a node's KME, make test certificates, fill link keys from the sim.

Imports only typer at module level; each command imports what it runs (FastAPI,
uvicorn, cryptography, the QKD chain), so ``qnetlab --help`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Key management: ETSI GS QKD 014 KMEs and the trusted-node relay.")

NetworkOption = Annotated[Path, typer.Option("--config", "-c", help="network description (YAML)")]
StateOption = Annotated[
    Path | None,
    typer.Option("--state-dir", help="certificates and key stores [default: $QNETLAB_DATA_DIR/kms, else ./data/kms]"),
]
DEFAULT_NETWORK = Path("config/kms/sim_network.yaml")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _load(config: Path):
    from .network import NetworkError, load_network

    try:
        return load_network(config)
    except NetworkError as error:
        _fail(str(error))
        raise


@app.command()
def serve(
    node: Annotated[str, typer.Option("--node", "-n", help="which node's KME to run")],
    config: NetworkOption = DEFAULT_NETWORK,
    state_dir: StateOption = None,
) -> None:
    """Run one node's KME (HTTPS, mutual TLS) until Ctrl-C or SIGTERM."""
    from qnetlab.analysis.qkd.keystore import KeyStoreError

    from .network import resolve_state_dir

    network = _load(config)
    if node not in network.nodes:
        _fail(f"{config}: no node {node!r} (nodes: {', '.join(network.nodes)})")
    state = resolve_state_dir(state_dir)
    from .server import KmeServer

    try:
        server = KmeServer(network, node, state)
    except (FileNotFoundError, KeyStoreError, ValueError) as error:
        _fail(str(error))
        raise
    spec = network.nodes[node]
    typer.echo(f"KME {spec.kme_id} (node {node}) on https://{spec.host}:{spec.port}", err=True)
    server.serve_forever()


@app.command()
def certs(
    config: NetworkOption = DEFAULT_NETWORK,
    state_dir: StateOption = None,
    days: Annotated[int, typer.Option(min=1, max=3650, help="validity")] = 30,
    overwrite: Annotated[bool, typer.Option(help="replace an existing CA and certificates")] = False,
) -> None:
    """Make a local CA and a certificate per KME and SAE (for a test network)."""
    from .certs import make_network_certs
    from .network import resolve_state_dir

    network = _load(config)
    try:
        written = make_network_certs(network, resolve_state_dir(state_dir), days=days, overwrite=overwrite)
    except FileExistsError as error:
        _fail(str(error))
        raise
    typer.echo(f"{len(written)} files in {written[0].parent} (CA, {len(network.nodes)} KMEs, {len(network.saes)} SAEs)")


@app.command("fill-sim")
def fill_sim(
    config: NetworkOption = DEFAULT_NETWORK,
    state_dir: StateOption = None,
    link: Annotated[list[str] | None, typer.Option(help="only these links [default: all]")] = None,
    slots: Annotated[int, typer.Option(min=100_000, max=200_000_000, help="simulated pulses per link")] = 8_000_000,
    seed: Annotated[int | None, typer.Option(help="seed of the simulation")] = None,
) -> None:
    """Fill each link's key store from QKD post-processing of simulated BB84 data (the sim source)."""
    from .network import resolve_state_dir
    from .sim_fill import fill_sim_links

    network = _load(config)
    try:
        fills = fill_sim_links(network, resolve_state_dir(state_dir), link, n_slots=slots, seed=seed)
    except ValueError as error:
        _fail(str(error))
        raise
    for f in fills:
        if f.accepted:
            typer.echo(
                f"{f.link}: {f.secret_bits} secret bits (QBER {f.qber_key:.4f}, run {f.run_id}, sha256 {f.sha256})"
            )
        else:
            typer.echo(f"{f.link}: no key ({f.reason})")


@app.command()
def status(config: NetworkOption = DEFAULT_NETWORK, state_dir: StateOption = None) -> None:
    """Key bits stored per node and link (read from the stores, no server needed)."""
    from qnetlab.analysis.qkd.keystore import link_store

    from .network import resolve_state_dir

    network = _load(config)
    root = resolve_state_dir(state_dir) / "keys"
    for node in network.nodes:
        for link, peer in network.links_of(node).items():
            store = link_store(root / node, link)
            own = sum(store.record(k).length for k in store.ids() if k.startswith(f"{node}."))
            theirs = sum(store.record(k).length for k in store.ids() if k.startswith(f"{peer}."))
            typer.echo(f"{node:>8} {link:<16} {own:>9} bits to draw, {theirs:>9} drawn by {peer}")

"""``qnetlab serve ...`` and ``qnetlab queue ...``: the served setup from the command line.

Only typer is imported here; each command imports the engines it starts.
A node's queue writes where it listens to ``<queue dir>/address.json``, so ``queue add``,
``queue run`` and ``queue status`` find it by the same ``--queue-dir``.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from qnetlab.served.catalog_client import CATALOG_URI_DEFAULT, CATALOG_URI_HELP

serve_app = typer.Typer(no_args_is_help=True, help="Serve engines a lab shares: the catalog.")
queue_app = typer.Typer(no_args_is_help=True, help="A lab node's plan queue (bluesky-queueserver over Redis).")

CatalogUriOption = Annotated[
    str | None, typer.Option("--catalog-uri", help=CATALOG_URI_HELP, show_default=CATALOG_URI_DEFAULT)
]
QueueDirOption = Annotated[
    Path, typer.Option("--queue-dir", help="the node's queue directory (Redis, RE Manager files, address)")
]
DEFAULT_QUEUE_DIR = Path("queue")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    received = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: received.append(number))
    while not received:
        signal.pause()


@serve_app.command("catalog")
def serve_catalog(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="server's directory: array files, config, logs")] = Path(
        "catalog-server"
    ),
    database: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL (postgresql+asyncpg://...); default: a cluster of its own in DATA_DIR/pg"),
    ] = None,
    host: Annotated[str, typer.Option(help="address to bind (loopback unless told)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    readable: Annotated[
        list[Path] | None, typer.Option("--readable", help="a lab node's data directory (raw tags); repeatable")
    ] = None,
) -> None:
    """Run a Tiled catalog server on PostgreSQL until Ctrl-C; the API key is $QNETLAB_API_KEY or new."""
    from qnetlab.served.catalog_server import API_KEY_ENV, new_api_key, start_catalog_server
    from qnetlab.served.processes import ServiceError

    data_dir.mkdir(parents=True, exist_ok=True)
    api_key = os.environ.get(API_KEY_ENV) or new_api_key()
    cluster = None
    try:
        if database is None:
            from qnetlab.served.postgres import start_postgres

            cluster = start_postgres(data_dir / "pg")
            database = cluster.url()
        server = start_catalog_server(
            database, data_dir, api_key=api_key, host=host, port=port, readable=readable or []
        )
    except ServiceError as error:
        if cluster:
            cluster.stop()
        _fail(str(error))
    typer.echo(f"catalog server: http://{host}:{port}  (log: {server.log_path})")
    if API_KEY_ENV not in os.environ:
        typer.echo(f"API key (set {API_KEY_ENV} on clients): {api_key}")
    typer.echo("clients: qnetlab run ... --catalog-uri http://HOST:PORT ; Ctrl-C stops")
    try:
        _wait_for_signal()
    finally:
        server.stop()
        if cluster:
            cluster.stop()


def _address(queue_dir: Path):
    from qnetlab.served.queue import QueueAddress

    path = queue_dir / "address.json"
    if not path.is_file():
        _fail(f"{path}: no queue running for this directory (start one with 'qnetlab queue start')")
    known = set(QueueAddress.__dataclass_fields__)
    return QueueAddress(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})


def served_catalog(option: str | None):
    """The served catalog chosen by ``--catalog-uri`` or ``$QNETLAB_CATALOG_URI`` (None: embedded).

    Exits 2 with one line naming the URI when it cannot be used; returns ``(uri, runs container)``.
    """
    from qnetlab.served.catalog_client import CatalogUriError, chosen_uri, open_served

    uri, origin = chosen_uri(option)
    if uri is None:
        return None, None
    try:
        return uri, open_served(uri, origin)
    except CatalogUriError as error:
        _fail(str(error))


def run_queued_nightly(
    queue_dir: Path, nightly_config: Path, drift_hours: float | None, catalog_uri: str | None, data_dir, timeout_s
) -> bool:
    """``qnetlab nightly --queue``: submit the night to the node's queue, wait, print its summary; passed?"""
    from qnetlab.served import nightly_queue, queue
    from qnetlab.served.catalog_client import CatalogUriError, chosen_uri, open_served
    from qnetlab.served.processes import ServiceError

    address = _address(queue_dir)
    uri, origin = chosen_uri(catalog_uri)
    if uri is None and address.catalog_uri:
        uri, origin = address.catalog_uri, f"catalog of {queue_dir / 'address.json'}"
    if uri is not None:
        try:
            catalog = open_served(uri, origin)
        except CatalogUriError as error:
            _fail(str(error))
    else:
        from qnetlab.catalog import open_catalog

        catalog = open_catalog(data_dir or address.data_dir)
    from bluesky_queueserver_api.comm_base import RequestFailedError

    try:
        item = nightly_queue.submit_nightly(address, nightly_config, drift_hours)
        ahead = queue.status(address)["items_in_queue"] - 1
        typer.echo(f"queued nightly: item {item} ({ahead} item(s) before it); starting the queue")
        queue.start_queue(address)
        night = nightly_queue.wait_for_night(address, item, catalog, timeout_s)
    except (RequestFailedError, ServiceError) as error:
        _fail(str(error).splitlines()[0], code=1)
    for line in night.summary:
        typer.echo(line)
    typer.echo(night.verdict)
    for line in night.recoveries:
        typer.echo(f"  suspended and recovered: {line}")
    typer.echo(f"report: {night.report or '(none)'}")
    return night.passed


@queue_app.command("start")
def queue_start(
    config: Annotated[Path, typer.Option("--config", "-c", help="lab config file")] = Path("config/sim_lab.yaml"),
    queue_dir: QueueDirOption = DEFAULT_QUEUE_DIR,
    node: Annotated[str, typer.Option(help="node name (prefix of its Redis keys)")] = "lab",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data directory of the node")] = None,
    catalog_uri: CatalogUriOption = None,
    redis_port: Annotated[int | None, typer.Option(help="a running Redis on 127.0.0.1 (default: start one)")] = None,
) -> None:
    """Start the node's RE Manager (and Redis), open the lab in its worker, serve until Ctrl-C."""
    from qnetlab.served import queue
    from qnetlab.served.processes import ServiceError

    catalog_uri, _ = served_catalog(catalog_uri)  # checked before anything starts
    redis = None
    try:
        if redis_port is None:
            from qnetlab.served.redis import start_redis

            redis = start_redis(queue_dir / "redis")
            redis_port = redis.port
        manager = queue.start_manager(
            config, queue_dir, redis_port=redis_port, node=node, data_dir=data_dir, catalog_uri=catalog_uri
        )
    except ServiceError as error:
        if redis:
            redis.stop()
        _fail(str(error))
    address_file = queue_dir / "address.json"
    try:
        typer.echo(f"RE Manager: {manager.address.control}  (log: {manager.server.log_path}); opening the lab ...")
        queue.open_environment(manager.address, log_path=manager.server.log_path)
        address_file.write_text(json.dumps(vars(manager.address)))
        typer.echo("ready: qnetlab queue add PLAN --kwargs '{...}' ; qnetlab queue run ; Ctrl-C stops")
        _wait_for_signal()
    except ServiceError as error:
        _fail(str(error))
    finally:
        address_file.unlink(missing_ok=True)
        manager.stop()
        if redis:
            redis.stop()


@queue_app.command("add")
def queue_add(
    plan: Annotated[str, typer.Argument(help="plan name (see 'qnetlab queue status --plans')")],
    kwargs: Annotated[str, typer.Option(help="plan arguments as a JSON object; devices by name")] = "{}",
    queue_dir: QueueDirOption = DEFAULT_QUEUE_DIR,
) -> None:
    """Add a plan to the back of the node's queue."""
    try:
        arguments = json.loads(kwargs)
    except json.JSONDecodeError as error:
        _fail(f"--kwargs is not JSON ({error})")
    if not isinstance(arguments, dict):
        _fail("--kwargs must be a JSON object")
    from bluesky_queueserver_api.comm_base import RequestFailedError

    from qnetlab.served import queue

    try:
        uid = queue.submit(_address(queue_dir), plan, kwargs=arguments)
    except RequestFailedError as error:
        _fail(str(error).splitlines()[0])
    typer.echo(f"queued {plan}: item {uid}")


@queue_app.command("run")
def queue_run(
    queue_dir: QueueDirOption = DEFAULT_QUEUE_DIR,
    wait: Annotated[bool, typer.Option(help="wait until the queue is done; exit 1 if an item failed")] = False,
    timeout: Annotated[float, typer.Option(help="how long to wait (s)")] = 3600.0,
) -> None:
    """Start executing the node's queue."""
    from qnetlab.served import queue

    address = _address(queue_dir)
    done_before = len(queue.status(address)["history"])
    queue.start_queue(address)
    if not wait:
        typer.echo("queue started")
        return
    queue.wait_until_idle(address, timeout)
    results = queue.status(address)["history"][done_before:]
    failed = [item for item in results if item["result"]["exit_status"] != "completed"]
    for item in results:
        result = item["result"]
        typer.echo(f"{item['name']}: {result['exit_status']} {' '.join(result.get('run_uids', []))}")
    if failed:
        raise typer.Exit(code=1)


@queue_app.command("status")
def queue_status(queue_dir: QueueDirOption = DEFAULT_QUEUE_DIR) -> None:
    """The node's manager state, its queue and the last results."""
    from qnetlab.served import queue

    state = queue.status(_address(queue_dir))
    typer.echo(f"manager: {state['manager_state']}  worker: {state['worker_environment_state']}")
    running = state.get("running_item_uid")
    typer.echo(f"running: {running or '-'}   queued: {state['items_in_queue']}")
    for item in state["queue"]:
        typer.echo(f"  queued  {item['name']} {item.get('kwargs', {})}")
    for item in state["history"][-5:]:
        typer.echo(f"  done    {item['name']}: {item['result']['exit_status']}")

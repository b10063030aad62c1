"""The embedded catalog in a child process: what a command-line run records through.

Opening the embedded catalog costs about 3 s of CPU (importing Tiled's catalog and
server, building the app), and every document written holds the recording process's
GIL for tens of ms. :class:`CatalogProcess` starts ``python -m qnetlab._catalog_process``
first thing, so the catalog opens on the other core while the lab starts, and writes each
document there (:class:`qnetlab._run_liveness.CatalogWriter`: the data directory's lock,
the live file, the disk reserve, the fit of an early-ended run's arrays to its files).

The parent sends ``(kind, ...)`` messages down a pipe. It need not wait for the catalog to
open: a run can start at once (its scan id read straight from SQLite,
:func:`qnetlab.catalog.newest_scan_id`), its documents wait in the pipe. No document waits for
its write: :meth:`CatalogProcess.flush` waits until all are written (the command line
closes the lab first, then flushes, so the two overlap). A write that failed (or a catalog
that cannot open) comes back as :class:`CatalogWriteError` on the next document or flush. The
child ignores SIGINT and SIGTERM (the parent aborts the run and sends the stop document)
and ends when the pipe closes, after writing all it was sent: a parent killed outright
leaves every document it emitted in the catalog. The child holds the live file, so the
run counts as orphaned once the child is gone.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ANSWER_TIMEOUT_S = 300.0  # a catalog being created on a loaded machine takes seconds, never minutes


class CatalogWriteError(RuntimeError):
    """The catalog process could not write a document (its message says why)."""


class CatalogProcess:
    """A RunEngine subscriber writing into ``data_dir``'s embedded catalog from a child process."""

    abort_reason: str | None = None  # set by whoever aborts: the stop reason when bluesky leaves it blank

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "qnetlab._catalog_process", str(to_child_r), str(from_child_w), str(self.data_dir)],
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,  # a terminal's Ctrl-C goes to the parent, which closes the run
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send_conn = Connection(to_child_w, readable=False)
        self._recv_conn = Connection(from_child_r, writable=False)
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._scan_id: int | None = None
        self._sent_documents = False

    # --- start-up ---------------------------------------------------------------------
    def wait_ready(self) -> int:
        """Block until the catalog is open; the newest run's scan id (0 if none).

        Not needed before a run: documents sent earlier wait in the pipe until it is open."""
        if self._scan_id is None:
            self._scan_id = int(self._answer("ready"))
        return self._scan_id

    # --- the RunEngine's subscription ------------------------------------------------
    def __call__(self, name: str, doc: dict) -> None:
        if name == "stop" and not doc.get("reason") and doc.get("exit_status") == "abort" and self.abort_reason:
            doc = {**doc, "reason": self.abort_reason}
        self._raise_failures()
        self._send(("doc", name, doc))
        self._sent_documents = True

    def flush(self) -> None:
        """Block until the child has written every document sent; raise :class:`CatalogWriteError`
        for any that failed. Reads (:meth:`table`) need no flush: the pipe keeps their order."""
        self._send(("flush",))
        self._answer("flushed")
        self._raise_failures()

    def table(self, key: int | str = -1, stream: str = "primary"):
        """A recorded run's stream as a DataFrame (see :meth:`qnetlab.session.Session.table`)."""
        self._send(("table", key, stream))
        return pickle.loads(self._answer("table"))

    def close(self) -> None:
        """Let the child write what it was sent, and end (waiting for it only if it was sent documents:
        a command refused before its run does not wait for the catalog to open). A write that failed
        is logged here; call :meth:`flush` first to have it raised."""
        if self._process.poll() is None:
            if self._sent_documents:
                try:
                    self.flush()
                except CatalogWriteError as error:
                    logging.getLogger(__name__).error("%s", error)
            try:
                self._send_conn.close()
            except OSError:
                pass
            if self._sent_documents:
                try:
                    self._process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self._process.kill()
        self._recv_conn.close()

    # --- the pipe -------------------------------------------------------------------
    def _send(self, message: tuple) -> None:
        try:
            with self._lock:
                self._send_conn.send(message)
        except OSError as error:
            raise CatalogWriteError(f"the catalog process is gone ({error}): {self._exit_text()}") from None

    def _answer(self, kind: str) -> Any:
        """The child's next answer of ``kind``; what it reports meanwhile is taken in."""
        while True:
            if not self._recv_conn.poll(ANSWER_TIMEOUT_S):
                raise CatalogWriteError(f"the catalog process gave no answer in {ANSWER_TIMEOUT_S:g} s")
            try:
                got = self._recv_conn.recv()
            except (EOFError, OSError):
                raise CatalogWriteError(f"the catalog process is gone: {self._exit_text()}") from None
            if got[0] == kind:
                return got[1]
            if got[0] == "raise":
                raise got[1]
            self._take(got)
            if got[0] == "error":
                raise CatalogWriteError(got[1])

    def _take(self, got: tuple) -> None:
        """A report not waited for: the catalog is open (scan id), or a write failed."""
        if got[0] == "ready":
            self._scan_id = int(got[1])
        elif got[0] in ("failed", "error"):
            self._failures.append(got[1])

    def _raise_failures(self) -> None:
        try:
            while self._recv_conn.poll():
                self._take(self._recv_conn.recv())
        except (EOFError, OSError):
            if not self._failures:
                raise CatalogWriteError(f"the catalog process is gone: {self._exit_text()}") from None
        if self._failures:
            message, self._failures = self._failures[0], []
            raise CatalogWriteError(message)

    def _exit_text(self) -> str:
        code = self._process.poll()
        return "still running" if code is None else f"exit status {code}"


def _serve(read_fd: int, write_fd: int, data_dir: Path) -> None:
    """The child: open the catalog, then write each document sent until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    incoming, outgoing = Connection(read_fd, writable=False), Connection(write_fd, readable=False)

    def answer(message: tuple) -> None:
        try:
            outgoing.send(message)
        except OSError:
            pass  # the parent died: keep writing what it sent before

    try:
        from qnetlab._run_liveness import CatalogWriter
        from qnetlab.catalog import last_scan_id, open_catalog

        catalog = open_catalog(data_dir)
        writer = CatalogWriter(catalog, data_dir)
    except Exception as error:
        answer(("error", f"cannot open the catalog in {data_dir}: {error}"))
        return
    answer(("ready", last_scan_id(catalog)))
    try:
        while True:
            try:
                message = incoming.recv()
            except EOFError:
                break
            if message[0] == "doc":
                _, name, doc = message
                try:
                    writer(name, doc)
                except Exception as error:
                    text = " ".join(str(error).split()) or type(error).__name__
                    answer(("failed", f"catalog write of the {name} document failed: {text}"))
            elif message[0] == "flush":
                answer(("flushed", None))
            elif message[0] == "table":
                from qnetlab._run_tables import stream_table

                try:
                    answer(("table", pickle.dumps(stream_table(catalog[message[1]], message[2]))))
                except Exception as error:  # e.g. no such stream: raised in the parent as it is
                    answer(("raise", error))
    finally:
        writer.close()
    os._exit(0)  # every write is committed: skip the interpreter's teardown of Tiled's threads


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))

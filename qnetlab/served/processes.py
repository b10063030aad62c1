"""Start a server process, wait until it listens, stop it: the part every served engine shares."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    """A server could not be found, started or reached; the message says which and why."""


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, timeout_s: float, process: subprocess.Popen | None = None, what: str) -> None:
    """Return once ``127.0.0.1:port`` accepts connections; raise :class:`ServiceError` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} exited with code {process.returncode} before it listened on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"{what} did not listen on port {port} within {timeout_s:g} s")


def find_executable(name: str, *candidates: Path) -> Path:
    """``name`` from the candidate paths (first that exists), else from ``PATH``."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"{name}: not found (looked in {[str(c) for c in candidates]} and on PATH)")
    return Path(found)


class ServerProcess:
    """A started server: its process, its port and a log file; ``stop()`` ends it."""

    def __init__(
        self,
        argv: Sequence[str | Path],
        *,
        port: int,
        log_path: Path,
        what: str,
        env=None,
        user=None,
        stop_signal: int = signal.SIGTERM,
    ):
        self.port = port
        self.stop_signal = stop_signal
        self.what = what
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [str(a) for a in argv],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            user=user,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 30.0) -> ServerProcess:
        """Wait until the server listens; on failure stop it and say where its log is."""
        try:
            wait_for_port(self.port, timeout_s=timeout_s, process=self.process, what=self.what)
        except ServiceError as error:
            self.stop()
            raise ServiceError(f"{error}; its log: {self.log_path}") from None
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """The stop signal (SIGTERM unless told), then SIGKILL after ``timeout_s``; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

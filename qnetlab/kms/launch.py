"""Start each node's KME as its own process (``qnetlab kms serve``) and wait until it answers TLS.

Used by the relay tests and ``benchmarks/kms.py``; a lab runs the same command under
systemd, one per node.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["node_processes"]

_REPO = Path(__file__).resolve().parents[2]


def _wait_listening(host: str, port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"KME process on port {port} exited with {proc.returncode}: {err.strip()[-500:]}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"KME process on {host}:{port} not listening after {timeout_s} s")


@contextmanager
def node_processes(network, config: Path, state_dir: Path, nodes: list[str] | None = None, timeout_s: float = 60):
    """Run ``qnetlab kms serve`` for each node; yields {node: Popen}; stops them all on exit."""
    env = dict(os.environ)
    if (_REPO / "qnetlab" / "_checkout.py").exists():  # a checkout: run its own code
        env["PYTHONPATH"] = os.pathsep.join([str(_REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for node in nodes or list(network.nodes):
            cmd = [sys.executable, "-c", "from qnetlab.cli import main; main()", "kms", "serve"]
            cmd += ["--node", node, "--config", str(config), "--state-dir", str(state_dir)]
            procs[node] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for node, proc in procs.items():
            spec = network.nodes[node]
            _wait_listening(spec.host, spec.port, proc, timeout_s)
        yield procs
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()

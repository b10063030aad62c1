"""A loopback TCP server that plays an instrument's text protocol, with fault injection.

Each emulator subclasses :class:`LineProtocolServer` and implements ``handle(line)``,
returning the reply (without terminator) or ``None`` for commands that answer nothing.
Faults are queued with :meth:`inject` and consumed one per received command:

- ``"timeout"``: swallow the command, send nothing;
- ``"drop"``: close the connection without reply;
- ``"garble"``: reply with bytes that are not the instrument's answer;
- ``"truncate"``: send half the reply and no terminator.

Device error codes are the emulator's business (e.g. a SCPI error queue).
"""

from __future__ import annotations

import collections
import logging
import socket
import threading

log = logging.getLogger(__name__)

FAULTS = ("timeout", "drop", "garble", "truncate")


class LineProtocolServer:
    """Serve a line-based protocol on ``127.0.0.1`` (port chosen by the OS unless given)."""

    read_terminator = b"\n"
    write_terminator = b"\n"
    name = "instrument"

    def __init__(self, port: int = 0):
        self._sock = socket.create_server(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self._faults: collections.deque[str] = collections.deque()
        self._closing = threading.Event()
        self._clients: list[socket.socket] = []
        self.exchanges: list[tuple[bytes, bytes | None]] = []  # (received, sent) for tests
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name=f"{self.name}-emulator")
        self._thread.start()

    @property
    def address(self) -> str:
        """VISA resource string of this emulator."""
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    @property
    def url(self) -> str:
        """pyserial URL of this emulator."""
        return f"socket://127.0.0.1:{self.port}"

    def inject(self, fault: str, count: int = 1) -> None:
        """Queue ``count`` faults of one kind; each hits one following command."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        self._faults.extend([fault] * count)

    def handle(self, line: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        self._closing.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._sock.close()
        for client in list(self._clients):
            _quiet_close(client)
        self._thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        buffer = b""
        try:
            while not self._closing.is_set():
                data = client.recv(65536)
                if not data:
                    return
                buffer += data
                while self.read_terminator in buffer:
                    raw, buffer = buffer.split(self.read_terminator, 1)
                    if not self._respond(client, raw.rstrip(b"\r")):
                        return
        except OSError:
            return
        finally:
            _quiet_close(client)
            if client in self._clients:
                self._clients.remove(client)

    def _respond(self, client: socket.socket, raw: bytes) -> bool:
        """Answer one command; return False when the connection was dropped."""
        fault = self._faults.popleft() if self._faults else None
        if fault == "drop":
            self.exchanges.append((raw, None))
            return False
        try:
            reply = self.handle(raw.decode("ascii", errors="replace"))
        except Exception:  # an emulator bug must not kill the server silently
            log.exception("%s emulator failed on %r", self.name, raw)
            reply = None
        if fault == "timeout" or reply is None:
            self.exchanges.append((raw, None))
            return True
        payload = reply.encode("ascii")
        if fault == "garble":
            payload = b"\x15#?" + payload[::-1] + b"\xfe"
        if fault == "truncate":
            out = payload[: max(1, len(payload) // 2)]
        else:
            out = payload + self.write_terminator
        self.exchanges.append((raw, out))
        client.sendall(out)
        return True


def _quiet_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

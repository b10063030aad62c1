"""Loopback TCP servers that play an instrument's protocol, with fault injection.

:class:`ProtocolServer` holds what every emulator shares: the socket, one thread per
client, the record of exchanges and the fault queue. A subclass says where a message
ends (``split_frame``) and what goes back (``reply_to``, the bytes on the wire or
``None``). :class:`LineProtocolServer` does both for text protocols, so its emulators
only implement ``handle(line)``; binary protocols subclass :class:`ProtocolServer`
directly (:mod:`sim_backends.emulators.binary_server`).

Faults are queued with :meth:`ProtocolServer.inject` and consumed one per received
message:

- ``"timeout"``: the message takes effect, but nothing is sent back;
- ``"drop"``: close the connection; the message has no effect;
- ``"garble"``: reply with bytes that are not the instrument's answer;
- ``"truncate"``: send the first half of the reply only (a text reply loses its terminator).

Device error codes are the emulator's business (e.g. a SCPI error queue).
"""

from __future__ import annotations

import collections
import logging
import socket
import threading

log = logging.getLogger(__name__)

FAULTS = ("timeout", "drop", "garble", "truncate")
RECORD_BYTES = 4096  # what ``exchanges`` keeps of a message: bulk data (a 1 MB laser pattern) only begins


class ProtocolServer:
    """Serve a protocol on ``127.0.0.1`` (port chosen by the OS unless given)."""

    name = "instrument"

    def __init__(self, port: int = 0):
        self._sock = socket.create_server(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self._faults: collections.deque[str | None] = collections.deque()
        self._closing = threading.Event()
        self._clients: list[socket.socket] = []
        # (received, sent) for tests, each cut to RECORD_BYTES: uploads of 1 MB per frame would otherwise pile up
        self.exchanges: list[tuple[bytes, bytes | None]] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name=f"{self.name}-emulator")
        self._thread.start()

    @property
    def url(self) -> str:
        """pyserial URL of this emulator."""
        return f"socket://127.0.0.1:{self.port}"

    def inject(self, fault: str, count: int = 1, *, after: int = 0) -> None:
        """Queue ``count`` faults of one kind; each hits one following message.

        ``after`` lets that many messages pass unharmed first (e.g. the position
        request a driver sends before a move).
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        self._faults.extend([None] * after + [fault] * count)

    def split_frame(self, buffer: bytes) -> tuple[bytes, bytes] | None:  # pragma: no cover - abstract
        """``(message, rest)`` when ``buffer`` starts with a whole message, else ``None``."""
        raise NotImplementedError

    def reply_to(self, frame: bytes) -> bytes | None:  # pragma: no cover - abstract
        """The bytes sent back for one message (``None`` or empty: nothing)."""
        raise NotImplementedError

    def garbled(self, reply: bytes) -> bytes:
        """What a ``"garble"`` fault sends instead of ``reply``: every byte XOR 0xA5."""
        return bytes(byte ^ 0xA5 for byte in reply)

    def truncated(self, reply: bytes) -> bytes:
        """What a ``"truncate"`` fault sends instead of ``reply``: its first half."""
        return reply[: max(1, len(reply) // 2)]

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
                while (split := self.split_frame(buffer)) is not None:
                    frame, buffer = split
                    if not self._respond(client, frame):
                        return
        except OSError:
            return
        finally:
            _quiet_close(client)
            if client in self._clients:
                self._clients.remove(client)

    def _respond(self, client: socket.socket, frame: bytes) -> bool:
        """Answer one message; return False when the connection was dropped."""
        fault = self._faults.popleft() if self._faults else None
        if fault == "drop":
            self._record(frame, None)
            return False
        try:
            reply = self.reply_to(frame)
        except Exception:  # an emulator bug must not kill the server silently
            log.exception("%s emulator failed on %r", self.name, frame)
            reply = None
        if fault == "timeout" or not reply:
            self._record(frame, None)
            return True
        if fault == "garble":
            reply = self.garbled(reply)
        elif fault == "truncate":
            reply = self.truncated(reply)
        self._record(frame, reply)
        client.sendall(reply)
        return True

    def _record(self, frame: bytes, reply: bytes | None) -> None:
        self.exchanges.append((frame[:RECORD_BYTES], None if reply is None else reply[:RECORD_BYTES]))


class LineProtocolServer(ProtocolServer):
    """A text protocol: one command per ``read_terminator``, subclasses implement ``handle``."""

    read_terminator = b"\n"
    write_terminator = b"\n"

    @property
    def address(self) -> str:
        """VISA resource string of this emulator."""
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def handle(self, line: str) -> str | None:  # pragma: no cover - abstract
        """The reply to one command line (without terminator), or ``None`` for none."""
        raise NotImplementedError

    def split_frame(self, buffer: bytes) -> tuple[bytes, bytes] | None:
        if self.read_terminator not in buffer:
            return None
        raw, rest = buffer.split(self.read_terminator, 1)
        return raw.rstrip(b"\r"), rest

    def reply_to(self, frame: bytes) -> bytes | None:
        reply = self.handle(frame.decode("ascii", errors="replace"))
        return None if reply is None else reply.encode("ascii") + self.write_terminator

    def garbled(self, reply: bytes) -> bytes:
        payload = reply[: -len(self.write_terminator)]
        return b"\x15#?" + payload[::-1] + b"\xfe" + self.write_terminator

    def truncated(self, reply: bytes) -> bytes:
        payload = reply[: -len(self.write_terminator)]
        return payload[: max(1, len(payload) // 2)]


def _quiet_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

"""The binary sibling of :class:`sim_backends.emulators.socket_server.LineProtocolServer`.

A subclass says where a message ends (``split_frame``) and answers it (``handle``,
returning the reply bytes or ``None``); sockets, clients and faults are
:class:`sim_backends.emulators.socket_server.ProtocolServer`'s (a ``"garble"`` fault XORs every
reply byte with 0xA5).
"""

from __future__ import annotations

from qnetlab.sim_backends.emulators.socket_server import ProtocolServer


class BinaryProtocolServer(ProtocolServer):
    """Serve a binary protocol on ``127.0.0.1`` (port chosen by the OS unless given)."""

    def handle(self, frame: bytes) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def reply_to(self, frame: bytes) -> bytes | None:
        return self.handle(frame)

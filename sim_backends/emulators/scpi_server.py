"""A SCPI instrument's shared parts: the error queue and checked numeric arguments.

``SYST:ERR?`` pops the oldest entry (``0,"No error"`` when empty), ``*CLS`` clears
the queue; a bad number queues -104 "Data type error", one out of range -222 "Data
out of range" (IEEE 488.2 / SCPI-99 codes), and the instrument keeps its setting.
"""

from __future__ import annotations

import collections

from qnetlab.sim_backends.emulators.socket_server import LineProtocolServer


class ScpiServer(LineProtocolServer):
    """A line server with a SCPI error queue; subclasses implement ``handle``."""

    def __init__(self, port: int = 0):
        self._errors: collections.deque[str] = collections.deque()
        super().__init__(port)

    def push_error(self, code: int, message: str) -> None:
        """Put a device error into the error queue (also fault injection from tests)."""
        self._errors.append(f'{code},"{message}"')

    def pop_error(self) -> str:
        """The reply to ``SYST:ERR?``."""
        return self._errors.popleft() if self._errors else '0,"No error"'

    def clear_errors(self) -> None:
        """``*CLS``."""
        self._errors.clear()

    def number(self, argument: str, low: float, high: float) -> float | None:
        """``argument`` as a float within [low, high], else None with the SCPI error queued."""
        try:
            value = float(argument)
        except ValueError:
            self.push_error(-104, "Data type error")
            return None
        if not low <= value <= high:
            self.push_error(-222, "Data out of range")
            return None
        return value

"""Base class for text (SCPI/ASCII) instruments over pyvisa, via QCoDeS.

It turns transport failures into :mod:`drivers.errors`, reconnects after a dropped
link or a timeout (so a stale partial reply never prefixes the next answer), retries
queries (``...?``, idempotent) once, never retries a setting, and after each setting
reads the SCPI error queue so a rejected value raises :class:`DeviceError`.
"""

from __future__ import annotations

import socket

import pyvisa
from pyvisa import constants
from pyvisa.constants import StatusCode
from qcodes.instrument import VisaInstrument

from qnetlab.drivers.errors import DeviceError, InstrumentError, InstrumentTimeout, LinkDropped, MalformedReply

TRANSPORT_ERRORS = (pyvisa.errors.VisaIOError, ConnectionError, OSError)


class ScpiVisaInstrument(VisaInstrument):
    """A QCoDeS VisaInstrument with qnetlab's error handling.

    Parameters
    ----------
    name : instrument name used in every error message
    address : VISA resource, e.g. ``TCPIP0::10.0.0.5::5025::SOCKET`` or ``ASRL/dev/ttyUSB0::INSTR``
    timeout_s : reply timeout (s)
    check_errors : read ``SYST:ERR?`` after every setting
    """

    error_query = "SYST:ERR?"

    def __init__(self, name: str, address: str, *, timeout_s: float = 2.0, check_errors: bool = True, **kwargs):
        self._check_errors = check_errors
        self._visalib = kwargs.pop("visalib", "@py")
        self._resource = address
        try:
            super().__init__(
                name, address, timeout=timeout_s, terminator="\n", device_clear=False, visalib=self._visalib, **kwargs
            )
        except TRANSPORT_ERRORS as error:
            raise InstrumentError(name, "connect", f"cannot open {address}: {error}") from None
        self._no_delay()

    def close(self) -> None:
        from qnetlab.drivers._registry_lock import REGISTRY_LOCK

        with REGISTRY_LOCK:  # QCoDeS's registry is not thread-safe; a lab closes its drivers in parallel
            super().close()

    # --- transport -------------------------------------------------------------------
    def _reconnect(self) -> None:
        """Close and reopen the link with the same timeout and terminators."""
        timeout_ms = self.visa_handle.timeout
        try:
            self.visa_handle.close()
        except TRANSPORT_ERRORS:
            pass
        try:
            self.set_address(self._resource, self._visalib)
        except TRANSPORT_ERRORS as error:
            raise LinkDropped(self.name, "reconnect", f"cannot reopen {self._resource}: {error}") from None
        self.visa_handle.timeout = timeout_ms
        self.set_terminator("\n")
        self._no_delay()

    def _no_delay(self) -> None:
        """Send each message at once on a LAN socket (TCP_NODELAY, NI-VISA's default; pyvisa-py's is off).

        Without it a setting followed by its ``SYST:ERR?`` waits for the instrument's delayed
        ACK (Nagle's algorithm): ~40 ms per setting, 80-100 ms per pattern upload on loopback.
        """
        if "SOCKET" not in self._resource.upper():
            return
        try:
            self.visa_handle.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay, constants.VI_TRUE)
        except Exception:  # a backend without the attribute: messages are merely slower
            pass
        # pyvisa-py (0.8.1) records the attribute without applying it to its socket: set the option there
        sessions = getattr(self.visa_handle.visalib, "sessions", {})
        sock = getattr(sessions.get(self.visa_handle.session), "interface", None)
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def _timeout_ms(self) -> float:
        return self.visa_handle.timeout

    def _exchange(self, cmd: str) -> str:
        """One query on the wire, failures translated."""
        try:
            return self.visa_handle.query(cmd)
        except pyvisa.errors.VisaIOError as error:
            if error.error_code == StatusCode.error_timeout:
                raise InstrumentTimeout(self.name, cmd, f"no reply within {self._timeout_ms / 1000:g} s") from None
            raise LinkDropped(self.name, cmd, f"link failed: {error.description}") from None
        except (ConnectionError, OSError) as error:
            raise LinkDropped(self.name, cmd, f"link failed: {error}") from None
        except UnicodeDecodeError:
            raise MalformedReply(self.name, cmd, "reply is not ASCII text") from None

    def ask_raw(self, cmd: str) -> str:
        """Query with one retry after reconnecting (queries are idempotent)."""
        try:
            return self._exchange(cmd).strip()
        except (InstrumentTimeout, LinkDropped, MalformedReply):
            self._reconnect()
        return self._exchange(cmd).strip()

    def write_raw(self, cmd: str) -> None:
        """Send a setting, then check the error queue; never resent."""
        try:
            self.visa_handle.write(cmd)
            reply = self._exchange(self.error_query) if self._check_errors else None
        except (InstrumentError, *TRANSPORT_ERRORS) as error:
            self._reconnect()
            raise LinkDropped(self.name, cmd, f"setting may not have been applied ({error})") from None
        if reply is not None:
            self._raise_device_error(cmd, reply)

    def _raise_device_error(self, cmd: str, reply: str) -> None:
        code_text, _, message = reply.strip().partition(",")
        try:
            code = int(code_text)
        except ValueError:
            raise MalformedReply(self.name, self.error_query, f"error queue replied {reply!r}") from None
        if code != 0:
            raise DeviceError(self.name, cmd, f"instrument error {code}: {message.strip().strip(chr(34))}", code)

    # --- typed queries ---------------------------------------------------------------
    def query_float(self, cmd: str) -> float:
        reply = self.ask(cmd)
        try:
            return float(reply)
        except ValueError:
            raise MalformedReply(self.name, cmd, f"expected a number, got {reply!r}") from None

    def query_bool(self, cmd: str) -> bool:
        reply = self.ask(cmd)
        if reply not in ("0", "1"):
            raise MalformedReply(self.name, cmd, f"expected 0 or 1, got {reply!r}")
        return reply == "1"

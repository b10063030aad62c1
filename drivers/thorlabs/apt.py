"""Thorlabs APT binary protocol: message framing and a base driver over pyserial.

Source: Thorlabs "APT Communications Protocol" (Host-Controller Communications
Protocol, issue 20 and later). The PDF itself could not be read while writing this
module; the layouts below were cross-checked against three independent public
implementations of that document (yaq-project/thorlabs-apt-protocol, PnPQ, QMI's
Thorlabs APT instruments), and only what they agree on is used.

Framing: :mod:`.apt_messages`.

Reading (as the hardware-tested readers do: pylablib's ``KinesisDevice``, PnPQ's
``AptConnection``, yaq's ``thorlabs_apt_protocol.Unpacker``): a message whose id this
module does not know is read whole (its data packet too) and skipped with a log line,
never reported as a failure; real units address the host as ``0x01`` and some as
``0x00`` (thorlabs-apt-protocol accepts both), so both are accepted. Anything else in
the destination byte means the stream is out of step: a malformed reply.

Error policy (the same as :mod:`drivers.visa_base`): a timeout, a dropped link or an
unreadable reply closes and reopens the port, so a stale partial message never
prefixes the next reply; requests (``REQ_*``, idempotent) are retried once; moves and
settings are never resent. ``MGMSG_HW_RESPONSE`` / ``MGMSG_HW_RICHRESPONSE`` from the
device raise :class:`~drivers.errors.DeviceError`.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import serial
from qcodes.instrument import Instrument

from qnetlab.drivers.errors import DeviceError, InstrumentError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.thorlabs.apt_messages import (
    DATA_FLAG,
    HEADER,
    HOST,
    HOST_ADDRESSES,
    ID,
    MAX_DATA_BYTES,
    MESSAGE_NAMES,
    AptMessage,
    request,
)

log = logging.getLogger(__name__)

TRANSPORT_ERRORS = (serial.SerialException, OSError)


class AptInstrument(Instrument):
    """A QCoDeS instrument speaking APT over pyserial (``/dev/ttyUSB0`` or ``socket://host:port``).

    Parameters
    ----------
    name : instrument name used in every error message
    address : pyserial URL or device path
    timeout_s : reply timeout for requests (s); moves add their travel time to it
    serial_number : if given, the serial number the device must report in ``HW_GET_INFO``

    Subclasses set ``counts_per_deg`` (encoder counts per degree).
    """

    counts_per_deg: float = 1.0
    baudrate = 115200

    def __init__(self, name: str, address: str, *, timeout_s: float = 2.0, serial_number: str | None = None, **kwargs):
        super().__init__(name, **kwargs)
        self.address = address
        self.timeout_s = timeout_s
        self._budget_s = timeout_s  # how long the current exchange may take (s), for messages
        self._io = threading.RLock()  # one exchange at a time (several signals may move at once)
        self._port = None
        try:
            self._open()
            self.info = self.hardware_info()
            if serial_number and str(self.info["serial_number"]) != str(serial_number):
                raise InstrumentError(
                    name,
                    "MGMSG_HW_REQ_INFO",
                    f"device at {address} has serial number {self.info['serial_number']}, expected {serial_number}",
                )
        except Exception:
            self.close()
            raise

    # --- transport -------------------------------------------------------------------
    def _open(self) -> None:
        """Open the port as Thorlabs' FTDI set-up recipe says: 115200 baud, 8N1, RTS/CTS flow
        control, buffers purged between two 50 ms dwells, RTS set (a socket ignores the lines)."""
        real_port = not self.address.startswith("socket://")
        try:
            port = serial.serial_for_url(
                self.address,
                baudrate=self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                rtscts=True,
                timeout=self.timeout_s,
                write_timeout=self.timeout_s,
            )
            time.sleep(0.05 if real_port else 0)
            port.reset_input_buffer()
            port.reset_output_buffer()
            time.sleep(0.05 if real_port else 0)
            port.rts = True
        except (*TRANSPORT_ERRORS, ValueError) as error:
            raise InstrumentError(self.name, "connect", f"cannot open {self.address}: {error}") from None
        self._port = port

    def _reconnect(self, command: str) -> None:
        """Close and reopen the port: bytes of a broken reply go with the old link."""
        self._close_port()
        try:
            self._open()
        except InstrumentError as error:
            raise LinkDropped(self.name, command, f"cannot reopen {self.address}: {error.detail}") from None

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except TRANSPORT_ERRORS:
                pass
            self._port = None

    def close(self) -> None:
        from qnetlab.drivers._registry_lock import REGISTRY_LOCK

        self._close_port()  # (pyserial's 0.3 s wait: outside the lock, so a lab's ports close in parallel)
        with REGISTRY_LOCK:
            super().close()

    @property
    def _link(self) -> Any:  # a pyserial port: Serial, or what serial_for_url returns for socket://
        """The open port; a closed one is a dropped link."""
        if self._port is None:
            raise LinkDropped(self.name, "link", f"{self.address} is not open")
        return self._port

    def _discard_unread(self) -> None:
        """Drop messages nobody waited for (status chatter, late poll replies) before a new exchange."""
        try:
            self._link.reset_input_buffer()
        except (*TRANSPORT_ERRORS, LinkDropped):
            pass  # a broken link shows itself on the write that follows

    def _write(self, message: AptMessage) -> None:
        try:
            self._link.write(message.encode())
            self._link.flush()
        except (*TRANSPORT_ERRORS, AttributeError) as error:
            raise LinkDropped(self.name, message.name, f"link failed: {error}") from None

    def _read_exact(self, size: int, command: str, deadline: float, *, short_ok: bool = False) -> bytes:
        """``size`` bytes by ``deadline``; with ``short_ok`` whatever came by then (maybe nothing)."""
        data = b""
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._link.timeout = left
            try:
                chunk = self._link.read(size - len(data))
            except (*TRANSPORT_ERRORS, AttributeError) as error:
                raise LinkDropped(self.name, command, f"link failed: {error}") from None
            data += chunk
        if len(data) < size and short_ok:
            return data
        if len(data) < size:
            got = f"; got {len(data)} of {size} bytes" if data else ""
            raise InstrumentTimeout(self.name, command, f"no complete reply within {self._budget_s:.3g} s{got}")
        return data

    def _read_message(self, command: str, deadline: float, *, first_by: float | None = None) -> AptMessage | None:
        """Read one whole message (``None`` if none has begun by ``first_by``).

        A wrong address or an oversized packet is a malformed reply; an unknown id is
        returned (and skipped by :meth:`_await`).
        """
        if first_by is None:
            header = self._read_exact(HEADER.size, command, deadline)
        else:
            header = self._read_exact(1, command, min(first_by, deadline), short_ok=True)
            if not header:
                if time.monotonic() >= deadline:
                    raise InstrumentTimeout(self.name, command, f"no complete reply within {self._budget_s:.3g} s")
                return None
            header += self._read_exact(HEADER.size - 1, command, deadline)
        msg_id, length, dest, source = HEADER.unpack(header)
        if dest & ~DATA_FLAG not in HOST_ADDRESSES:
            raise MalformedReply(
                self.name, command, f"reply addressed to 0x{dest:02X}, not the host (header {header.hex(' ')})"
            )
        if not dest & DATA_FLAG:
            return AptMessage(msg_id, header[2], header[3], dest=HOST, source=source)
        if length > MAX_DATA_BYTES:
            raise MalformedReply(
                self.name, command, f"data packet of {length} bytes announced (header {header.hex(' ')})"
            )
        return AptMessage(msg_id, data=self._read_exact(length, command, deadline), dest=HOST, source=source)

    def _await(self, command: str, match: Callable[[AptMessage], bool], deadline: float) -> AptMessage:
        """Read messages until one matches; device error reports raise, anything else is skipped."""
        while True:
            message = self._read_message(command, deadline)
            assert message is not None
            if self._accept(command, message, match):
                return message

    def _accept(self, command: str, message: AptMessage, match: Callable[[AptMessage], bool]) -> bool:
        """True if ``message`` is the one awaited; raises on a device error; logs what is skipped."""
        if message.msg_id in (ID["MGMSG_HW_RESPONSE"], ID["MGMSG_HW_RICHRESPONSE"]):
            raise self._device_error(command, message)
        if match(message):
            return True
        if message.msg_id not in MESSAGE_NAMES:
            log.info("%s: skipped unknown message %s while waiting for the reply to %s", self.name, message, command)
        else:
            log.debug("%s: skipped %s while waiting for the reply to %s", self.name, message.name, command)
        return False

    def _device_error(self, command: str, message: AptMessage) -> DeviceError:
        if message.msg_id == ID["MGMSG_HW_RICHRESPONSE"] and len(message.data) >= 4:
            about, code = struct.unpack_from("<HH", message.data)
            notes = message.data[4:68].split(b"\0")[0].decode("latin-1").strip()
            about_name = MESSAGE_NAMES.get(about, f"0x{about:04X}")
            return DeviceError(self.name, command, f"device error {code} (about {about_name}): {notes}", code)
        code = message.param1 | message.param2 << 8  # HW_RESPONSE: code layout not confirmed
        return DeviceError(self.name, command, f"device reported fault {code} (MGMSG_HW_RESPONSE)", code)

    @staticmethod
    def _reply(msg_id: int, channel: int | None) -> Callable[[AptMessage], bool]:
        return lambda m: m.msg_id == msg_id and (channel is None or m.channel == channel)

    # --- exchanges ---------------------------------------------------------------------
    def query(self, message: AptMessage, reply: str, channel: int | None = None) -> AptMessage:
        """Send a request and return its reply; retried once after reconnecting."""
        match = self._reply(ID[reply], channel)
        with self._io:
            self._budget_s = self.timeout_s
            try:
                return self._transact(message, match)
            except (InstrumentTimeout, LinkDropped, MalformedReply):
                self._reconnect(message.name)
            try:
                return self._transact(message, match)
            except (InstrumentTimeout, LinkDropped, MalformedReply):
                self._reconnect(message.name)
                raise

    def _transact(self, message: AptMessage, match: Callable[[AptMessage], bool]) -> AptMessage:
        self._discard_unread()
        self._write(message)
        return self._await(message.name, match, time.monotonic() + self.timeout_s)

    def send(self, message: AptMessage) -> None:
        """Send a message that has no reply (a setting); never resent."""
        with self._io:
            try:
                self._write(message)
            except LinkDropped as error:
                self._reconnect(message.name)
                raise LinkDropped(self.name, message.name, f"may not have been applied ({error.detail})") from None

    def move(
        self,
        message: AptMessage,
        done: str,
        channel: int,
        timeout_s: float,
        *,
        finished: Callable[[AptMessage], bool] | None = None,
        poll: tuple[AptMessage, str] | None = None,
        poll_s: float = 0.25,
    ) -> AptMessage:
        """Send a move and wait for the message that ends it; a move is never resent.

        Parameters
        ----------
        message : the move (``MOVE_ABSOLUTE``, ``MOVE_HOME``)
        done : name of the completion message (``MGMSG_MOT_MOVE_COMPLETED``, ``..._HOMED``)
        channel : channel ident the completion must carry
        timeout_s : how long to wait (s), travel time included
        finished : what ends the move (default: ``done`` carrying ``channel``); e.g. also a
            status update at the target position
        poll : ``(request, reply name)`` sent whenever ``poll_s`` (s) pass without a
            message, one at a time; its replies are offered to ``finished`` too
        """
        match = finished or self._reply(ID[done], channel)
        with self._io:
            self._budget_s = timeout_s
            try:
                self._discard_unread()
                self._write(message)
                return self._await_end(message.name, match, time.monotonic() + timeout_s, poll, poll_s)
            except InstrumentTimeout:
                self._reconnect(message.name)
                raise InstrumentTimeout(
                    self.name, message.name, f"no {done} within {timeout_s:.3g} s; the move is not resent"
                ) from None
            except LinkDropped as error:
                self._reconnect(message.name)
                raise LinkDropped(
                    self.name, message.name, f"link failed during the move ({error.detail}); the move is not resent"
                ) from None
            except MalformedReply:
                self._reconnect(message.name)
                raise

    def _await_end(self, command, match, deadline: float, poll, poll_s: float) -> AptMessage:
        """Read until ``match``; poll while the line is quiet; then collect the last poll's reply."""
        poll_reply = self._reply(ID[poll[1]], poll[0].channel) if poll is not None else None
        outstanding = False
        while True:
            first_by = time.monotonic() + poll_s if poll is not None else None
            message = self._read_message(command, deadline, first_by=first_by)
            if message is None:
                if not outstanding and poll is not None:
                    self._write(poll[0])
                    outstanding = True
                continue
            if poll_reply is not None and poll_reply(message):
                outstanding = False
            if self._accept(command, message, match):
                break
        if outstanding and poll_reply is not None:  # so it does not answer the next request
            try:
                self._await(command, poll_reply, time.monotonic() + self.timeout_s)
            except InstrumentTimeout:
                pass
        return message

    # --- common requests ---------------------------------------------------------------
    def hardware_info(self) -> dict:
        """``MGMSG_HW_REQ_INFO``: serial number, model, firmware and channel count."""
        reply = self.query(request("MGMSG_HW_REQ_INFO"), "MGMSG_HW_GET_INFO")
        if len(reply.data) != 84:
            raise MalformedReply(self.name, "MGMSG_HW_REQ_INFO", f"expected 84 data bytes, got {len(reply.data)}")
        serial_number, model, hw_type, minor, interim, major, _ = struct.unpack_from("<l8sH4B", reply.data)
        hw_version, _, channels = struct.unpack_from("<HHH", reply.data, 78)  # version, mod state, channels
        return {
            "serial_number": serial_number,
            "model": model.split(b"\0")[0].decode("latin-1"),
            "type": hw_type,
            "firmware": f"{major}.{interim}.{minor}",
            "hardware_version": hw_version,
            "channels": channels,
        }

    def get_idn(self) -> dict[str, str | None]:
        info = getattr(self, "info", None) or self.hardware_info()
        return {
            "vendor": "Thorlabs",
            "model": info["model"],
            "serial": str(info["serial_number"]),
            "firmware": info["firmware"],
        }

    def identify(self, channel: int = 1) -> None:
        """``MGMSG_MOD_IDENTIFY``: flash the front-panel LED."""
        self.send(request("MGMSG_MOD_IDENTIFY", channel))

    def disconnect_hardware(self) -> None:
        """``MGMSG_HW_DISCONNECT``: tell the device the host is leaving the bus."""
        self.send(request("MGMSG_HW_DISCONNECT"))

    # --- units -------------------------------------------------------------------------
    def to_counts(self, angle_deg: float) -> int:
        return round(angle_deg * self.counts_per_deg)

    def to_deg(self, counts: int) -> float:
        return counts / self.counts_per_deg

    def _position_from(self, reply: AptMessage, command: str) -> int:
        """Position (counts) from a reply whose data starts with WORD channel, LONG position."""
        if len(reply.data) < 6:
            raise MalformedReply(
                self.name, command, f"{reply.name} carries {len(reply.data)} data bytes, expected >= 6"
            )
        return struct.unpack_from("<Hl", reply.data)[1]

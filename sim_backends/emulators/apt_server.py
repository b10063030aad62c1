"""The APT protocol server every emulated Thorlabs motor shares (:class:`AptEmulator`); the
MPC320 and K10CR1 mechanics are in :mod:`.apt_emulator`.

An independent implementation of the APT binary protocol (Thorlabs "APT Communications
Protocol"): a 6-byte header ``<HHBB`` (message id; two parameter bytes or the data
length; destination, ``| 0x80`` when data follows; source), host ``0x01``, device
``0x50``. Messages served:

=================================  =======================================  ===========
received                           effect                                   reply
=================================  =======================================  ===========
``HW_REQ_INFO`` 0x0005             —                                        ``HW_GET_INFO`` 0x0006
``HW_DISCONNECT`` 0x0002           counted                                  —
``MOD_IDENTIFY`` 0x0223            counted                                  —
``MOD_SET_CHANENABLESTATE`` 0x0210 enable: bitmask (MPC), ident (K10CR1)    —
``MOD_REQ_CHANENABLESTATE`` 0x0211 —                                        ``MOD_GET_CHANENABLESTATE`` 0x0212
``HW_START/STOP_UPDATEMSGS``       status chatter on/off (K10CR1)           —
``MOT_SET_VELPARAMS`` 0x0413       store (rotation mount)                   —
``MOT_SET/REQ_HOMEPARAMS``         store / read (rotation mount)            ``MOT_GET_HOMEPARAMS`` 0x0442
``MOT_MOVE_ABSOLUTE`` 0x0453       move (travel limits checked)             ``MOT_MOVE_COMPLETED`` 0x0464
``MOT_MOVE_HOME`` 0x0443           move to the home position                ``MOT_MOVE_HOMED`` 0x0444
``MOT_REQ_POSCOUNTER`` 0x0411      —                                        ``MOT_GET_POSCOUNTER`` 0x0412
``MOT_REQ_USTATUSUPDATE`` 0x0490   —                                        ``..._GET_USTATUSUPDATE`` 0x0491
``MOT_REQ_VELPARAMS`` 0x0414       —                                        ``MOT_GET_VELPARAMS`` 0x0415
``POL_SET_PARAMS`` 0x0530          store (paddle controller)                —
``POL_REQ_PARAMS`` 0x0531          —                                        ``POL_GET_PARAMS`` 0x0532
=================================  =======================================  ===========

A request the device cannot carry out (a position outside the travel, an unknown
channel) and errors queued with :meth:`AptEmulator.push_error` are answered with
``HW_RICHRESPONSE`` 0x0081 (WORD message id, WORD code, 64 chars of notes); the error
codes are this emulator's own. Unknown messages are ignored, as a device would.
"""

from __future__ import annotations

import collections
import struct
import threading
import time
from typing import ClassVar

from qnetlab.sim_backends.emulators.binary_server import BinaryProtocolServer
from qnetlab.sim_backends.world.actuators import Waveplate

HOST, DEVICE, DATA = 0x01, 0x50, 0x80

HW_DISCONNECT, HW_REQ_INFO, HW_GET_INFO, HW_RICHRESPONSE = 0x0002, 0x0005, 0x0006, 0x0081
HW_START_UPDATEMSGS, HW_STOP_UPDATEMSGS = 0x0011, 0x0012
MOD_SET_CHANENABLESTATE, MOD_REQ_CHANENABLESTATE, MOD_GET_CHANENABLESTATE = 0x0210, 0x0211, 0x0212
MOD_IDENTIFY = 0x0223
MOT_SET_VELPARAMS = 0x0413
MOT_SET_HOMEPARAMS, MOT_REQ_HOMEPARAMS, MOT_GET_HOMEPARAMS = 0x0440, 0x0441, 0x0442
MOT_GET_STATUSUPDATE = 0x0481
MOT_REQ_POSCOUNTER, MOT_GET_POSCOUNTER = 0x0411, 0x0412
MOT_REQ_VELPARAMS, MOT_GET_VELPARAMS = 0x0414, 0x0415
MOT_MOVE_HOME, MOT_MOVE_HOMED = 0x0443, 0x0444
MOT_MOVE_ABSOLUTE, MOT_MOVE_COMPLETED = 0x0453, 0x0464
MOT_REQ_USTATUSUPDATE, MOT_GET_USTATUSUPDATE = 0x0490, 0x0491
POL_SET_PARAMS, POL_REQ_PARAMS, POL_GET_PARAMS = 0x0530, 0x0531, 0x0532

STATUS_HOMED, STATUS_ENABLED = 0x00000400, 0x80000000

# Emulator-defined codes carried by HW_RICHRESPONSE.
ERROR_OUT_OF_TRAVEL = 101
ERROR_BAD_CHANNEL = 102


def header_only(msg_id: int, param1: int = 0, param2: int = 0) -> bytes:
    return struct.pack("<HBBBB", msg_id, param1, param2, HOST, DEVICE)


def with_data(msg_id: int, data: bytes) -> bytes:
    return struct.pack("<HHBB", msg_id, len(data), HOST | DATA, DEVICE) + data


class AptEmulator(BinaryProtocolServer):
    """The APT messages every motor shares; subclasses hold the mechanics.

    Parameters
    ----------
    lock : the world's lock, held while actuator state is read or written
    serial : serial number reported in ``HW_GET_INFO`` (digits)
    seconds_per_deg : simulated travel time per degree of a move (0: moves complete at once)
    port : TCP port (0: chosen by the OS)
    """

    model = b""
    channels: ClassVar[dict[int, int]] = {}  # channel ident -> index
    counts_per_deg = 1.0

    def __init__(self, lock: threading.RLock, serial: str, seconds_per_deg: float = 0.0, port: int = 0):
        self._lock = lock
        self._serial = int(serial)
        self._seconds_per_deg = seconds_per_deg
        self._errors: collections.deque[tuple[int, str, int | None]] = collections.deque()
        self._homed: set[int] = set()
        self.identified = 0
        self.disconnects = 0
        self.update_messages = False
        super().__init__(port)

    def reply_to(self, frame: bytes) -> bytes | None:
        reply = self.handle(frame)
        if self.update_messages and self.channels:  # unsolicited chatter the host did not ask for
            channel = next(iter(self.channels))
            chatter = with_data(MOT_GET_STATUSUPDATE, self.status(channel))
            return chatter + (reply or b"")
        return reply

    def push_error(self, code: int, notes: str, on: int | None = None) -> None:
        """Answer the next message (of id ``on``, if given) with ``HW_RICHRESPONSE`` carrying ``code``.

        The message so answered has no effect.
        """
        self._errors.append((code, notes, on))

    # --- framing ---------------------------------------------------------------------
    def split_frame(self, buffer: bytes) -> tuple[bytes, bytes] | None:
        if len(buffer) < 6:
            return None
        _, length, dest, _ = struct.unpack_from("<HHBB", buffer)
        size = 6 + length if dest & DATA else 6
        return (buffer[:size], buffer[size:]) if len(buffer) >= size else None

    def handle(self, frame: bytes) -> bytes | None:
        msg_id, param1, _, dest, _ = struct.unpack_from("<HBBBB", frame)
        data = frame[6:] if dest & DATA else b""
        if self._errors and self._errors[0][2] in (None, msg_id):
            code, notes, _ = self._errors.popleft()
            return self.rich_response(msg_id, code, notes)
        channel = struct.unpack_from("<H", data)[0] if len(data) >= 2 else param1
        if msg_id == HW_REQ_INFO:
            return self.hardware_info()
        if msg_id == HW_DISCONNECT:
            self.disconnects += 1
            return None
        if msg_id == MOD_IDENTIFY:
            self.identified += 1
            return None
        if msg_id == MOD_SET_CHANENABLESTATE:
            self.set_enable_state(param1, frame[3])
            return None
        if msg_id == MOD_REQ_CHANENABLESTATE:
            state = 0x01 if self.enabled(param1) else 0x02
            return header_only(MOD_GET_CHANENABLESTATE, param1, state)
        if msg_id in (HW_START_UPDATEMSGS, HW_STOP_UPDATEMSGS):
            self.update_messages = msg_id == HW_START_UPDATEMSGS
            return None
        if msg_id == MOT_SET_VELPARAMS:
            return self.set_velocity_params(data)
        if msg_id == MOT_SET_HOMEPARAMS:
            return self.set_home_params(data)
        if msg_id == MOT_REQ_HOMEPARAMS:
            return with_data(MOT_GET_HOMEPARAMS, self.home_params(channel))
        if msg_id == POL_SET_PARAMS:
            return self.set_pol_params(data)
        if msg_id == POL_REQ_PARAMS:
            return self.pol_params()
        if msg_id not in (
            MOT_MOVE_ABSOLUTE,
            MOT_MOVE_HOME,
            MOT_REQ_POSCOUNTER,
            MOT_REQ_USTATUSUPDATE,
            MOT_REQ_VELPARAMS,
        ):
            return None
        if channel not in self.channels:
            return self.rich_response(msg_id, ERROR_BAD_CHANNEL, f"no channel {channel}")
        if msg_id == MOT_MOVE_ABSOLUTE:
            return self.move_absolute(channel, struct.unpack_from("<l", data, 2)[0])
        if msg_id == MOT_MOVE_HOME:
            if not self.can_home():
                return None  # the unit creeps at zero home velocity: the move never ends
            self._travel(channel, self.home_counts(), homing=True)
            self._homed.add(channel)
            return header_only(MOT_MOVE_HOMED, channel)
        if msg_id == MOT_REQ_POSCOUNTER:
            return with_data(MOT_GET_POSCOUNTER, struct.pack("<Hl", channel, self.counts(channel)))
        if msg_id == MOT_REQ_USTATUSUPDATE:
            return with_data(MOT_GET_USTATUSUPDATE, self.status(channel))
        return with_data(MOT_GET_VELPARAMS, self.velocity_params(channel))

    # --- messages --------------------------------------------------------------------
    def rich_response(self, about: int, code: int, notes: str) -> bytes:
        return with_data(HW_RICHRESPONSE, struct.pack("<HH64s", about, code, notes.encode("latin-1")[:64]))

    def hardware_info(self) -> bytes:
        firmware = bytes([0, 0, 1, 0])  # minor, interim, major, unused -> "1.0.0"
        data = struct.pack("<l8sH4s60sHHH", self._serial, self.model, 16, firmware, b"", 1, 0, len(self.channels))
        return with_data(HW_GET_INFO, data)

    def move_absolute(self, channel: int, target: int) -> bytes | None:
        low, high = self.travel_counts()
        if not low <= target <= high:
            return self.rich_response(
                MOT_MOVE_ABSOLUTE, ERROR_OUT_OF_TRAVEL, f"position {target} outside travel {low}..{high}"
            )
        self._travel(channel, target)
        return self.move_completed(channel)

    def _travel(self, channel: int, target: int, homing: bool = False) -> None:
        distance_deg = abs(target - self.counts(channel)) / self.counts_per_deg
        if self._seconds_per_deg:
            time.sleep(distance_deg * self._seconds_per_deg)
        with self._lock:
            self.actuator(channel).mount_deg = target / self.counts_per_deg

    def counts(self, channel: int) -> int:
        with self._lock:
            return round(self.actuator(channel).mount_deg * self.counts_per_deg)

    def status(self, channel: int) -> bytes:
        bits = (STATUS_ENABLED if self.enabled(channel) else 0) | (STATUS_HOMED if channel in self._homed else 0)
        return struct.pack("<HlHhL", channel, self.counts(channel), 0, 0, bits)

    # --- per device ------------------------------------------------------------------
    def actuator(self, channel: int) -> Waveplate:  # pragma: no cover - abstract
        raise NotImplementedError

    def travel_counts(self) -> tuple[int, int]:
        return (-(2**31), 2**31 - 1)

    def home_counts(self) -> int:
        return 0

    def move_completed(self, channel: int) -> bytes | None:
        return with_data(MOT_MOVE_COMPLETED, self.status(channel))

    def velocity_params(self, channel: int) -> bytes:
        return struct.pack("<Hlll", channel, 0, 0, 0)

    def set_velocity_params(self, data: bytes) -> None:
        return None

    def home_params(self, channel: int) -> bytes:
        return struct.pack("<HHHll", channel, 0, 0, 0, 0)

    def set_home_params(self, data: bytes) -> None:
        return None

    def can_home(self) -> bool:
        return True

    def enabled(self, channel: int) -> bool:
        return True

    def set_enable_state(self, channels: int, state: int) -> None:
        return None

    def set_pol_params(self, data: bytes) -> None:
        return None

    def pol_params(self) -> bytes | None:
        return None

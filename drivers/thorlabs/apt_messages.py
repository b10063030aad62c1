"""Thorlabs APT messages: ids, the 6-byte header, encoding (no transport).

Source: Thorlabs "APT Communications Protocol" (issue 20 and later), cross-checked against
yaq-project/thorlabs-apt-protocol, PnPQ and QMI (see :mod:`.apt`).

Framing (as documented): every message starts with a 6-byte header,

=====  ==================================================================
bytes  meaning
=====  ==================================================================
0-1    message id, uint16 little-endian
2-3    either two parameter bytes (header-only message) or the length of
       the data packet that follows (uint16 little-endian)
4      destination; ``| 0x80`` when a data packet follows
5      source
=====  ==================================================================

The host is ``0x01``, a USB device ``0x50``. Integers in data packets are
little-endian (WORD uint16, SHORT int16, LONG int32, DWORD uint32).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HOST = 0x01
HOST_ADDRESSES = (0x00, 0x01)  # destinations real units use for the host (thorlabs-apt-protocol)
USB_DEVICE = 0x50
DATA_FLAG = 0x80
HEADER = struct.Struct("<HHBB")
MAX_DATA_BYTES = 255  # longest packet the drivers expect (HW_GET_INFO is 84)

MESSAGE_IDS = {
    "MGMSG_HW_DISCONNECT": 0x0002,
    "MGMSG_HW_REQ_INFO": 0x0005,
    "MGMSG_HW_GET_INFO": 0x0006,
    "MGMSG_HW_START_UPDATEMSGS": 0x0011,
    "MGMSG_HW_STOP_UPDATEMSGS": 0x0012,
    "MGMSG_HW_RESPONSE": 0x0080,
    "MGMSG_HW_RICHRESPONSE": 0x0081,
    "MGMSG_MOD_SET_CHANENABLESTATE": 0x0210,
    "MGMSG_MOD_REQ_CHANENABLESTATE": 0x0211,
    "MGMSG_MOD_GET_CHANENABLESTATE": 0x0212,
    "MGMSG_MOD_IDENTIFY": 0x0223,
    "MGMSG_MOT_REQ_POSCOUNTER": 0x0411,
    "MGMSG_MOT_GET_POSCOUNTER": 0x0412,
    "MGMSG_MOT_SET_VELPARAMS": 0x0413,
    "MGMSG_MOT_REQ_VELPARAMS": 0x0414,
    "MGMSG_MOT_GET_VELPARAMS": 0x0415,
    "MGMSG_MOT_SET_HOMEPARAMS": 0x0440,
    "MGMSG_MOT_REQ_HOMEPARAMS": 0x0441,
    "MGMSG_MOT_GET_HOMEPARAMS": 0x0442,
    "MGMSG_MOT_MOVE_HOME": 0x0443,
    "MGMSG_MOT_MOVE_HOMED": 0x0444,
    "MGMSG_MOT_MOVE_ABSOLUTE": 0x0453,
    "MGMSG_MOT_MOVE_COMPLETED": 0x0464,
    "MGMSG_MOT_MOVE_STOPPED": 0x0466,
    "MGMSG_MOT_REQ_STATUSUPDATE": 0x0480,
    "MGMSG_MOT_GET_STATUSUPDATE": 0x0481,
    "MGMSG_MOT_REQ_USTATUSUPDATE": 0x0490,
    "MGMSG_MOT_GET_USTATUSUPDATE": 0x0491,
    "MGMSG_MOT_ACK_USTATUSUPDATE": 0x0492,
    "MGMSG_POL_SET_PARAMS": 0x0530,
    "MGMSG_POL_REQ_PARAMS": 0x0531,
    "MGMSG_POL_GET_PARAMS": 0x0532,
}
MESSAGE_NAMES = {number: name for name, number in MESSAGE_IDS.items()}
ID = MESSAGE_IDS  # short alias for the drivers


@dataclass(frozen=True)
class AptMessage:
    """One APT message: header-only (``param1``, ``param2``) or with a data packet."""

    msg_id: int
    param1: int = 0
    param2: int = 0
    data: bytes = b""
    dest: int = USB_DEVICE
    source: int = HOST

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.msg_id, f"0x{self.msg_id:04X}")

    @property
    def channel(self) -> int:
        """Channel ident: first WORD of the data packet, else the first parameter byte."""
        return struct.unpack_from("<H", self.data)[0] if len(self.data) >= 2 else self.param1

    def encode(self) -> bytes:
        if self.data:
            return HEADER.pack(self.msg_id, len(self.data), self.dest | DATA_FLAG, self.source) + self.data
        return struct.pack("<HBBBB", self.msg_id, self.param1, self.param2, self.dest, self.source)


def request(name: str, param1: int = 0, param2: int = 0) -> AptMessage:
    """A header-only message from the host to the USB device."""
    return AptMessage(MESSAGE_IDS[name], param1, param2)


def with_data(name: str, fmt: str, *values) -> AptMessage:
    """A message with a data packet packed little-endian with ``struct`` format ``fmt``."""
    return AptMessage(MESSAGE_IDS[name], data=struct.pack("<" + fmt, *values))

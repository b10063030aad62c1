"""Driver for the Thorlabs K10CR1 motorized rotation mount (integrated stepper controller).

Protocol: Thorlabs APT (see :mod:`drivers.thorlabs.apt`). Messages used, and how they
follow the APT Communications Protocol document:

=====================================  ==============================================
message                                use here
=====================================  ==============================================
``MGMSG_HW_REQ_INFO``/``GET_INFO``     identity at connect (84-byte packet)
``MGMSG_MOT_REQ_VELPARAMS``/``GET``    max velocity for move timeouts: data packet
                                       WORD channel, LONG min vel, LONG accel,
                                       LONG max vel (device units)
``MGMSG_MOT_REQ_POSCOUNTER``/``GET``   position: WORD channel, LONG counts
``MGMSG_MOT_MOVE_ABSOLUTE``            data packet WORD channel, LONG position
``MGMSG_MOT_MOVE_COMPLETED``           end of a move; its 14-byte status packet
                                       starts WORD channel, LONG position
``MGMSG_MOT_MOVE_HOME``/``HOMED``      header-only, channel in parameter byte 1
``MGMSG_MOD_IDENTIFY``                 flash the LED
``MGMSG_HW_RICHRESPONSE``              device error -> :class:`DeviceError`
=====================================  ==============================================

Scale (the document's K10CR1 table): 136533 encoder counts per degree; velocity
7329109 device units per deg/s. Channel ident 1.

Not confirmed from the document itself (only from public implementations of it): the
two scale factors above and the layout of the status packet after ``MOVE_COMPLETED``
beyond its first six bytes (channel, position), which is all this driver reads.
The angle range (-360, 360) deg is this driver's choice (one turn either side of
home), not a hardware limit: the mount turns continuously.
"""

from __future__ import annotations

import struct

from qcodes.validators import Numbers

from qnetlab.drivers.errors import MalformedReply
from qnetlab.drivers.thorlabs.apt import AptInstrument, request, with_data

CHANNEL = 1


class ThorlabsK10CR1(AptInstrument):
    """A rotation mount: ``angle_deg`` (moves block until completed), ``velocity_deg_s``, ``home()``.

    Parameters
    ----------
    name : instrument name used in every error message
    address : pyserial URL, e.g. ``/dev/ttyUSB0`` or ``socket://127.0.0.1:PORT``
    timeout_s : reply timeout (s); moves add twice their travel time
    serial_number : if given, the serial number the device must report
    """

    counts_per_deg = 136533.0
    velocity_units_per_deg_s = 7329109.0
    angle_range_deg = (-360.0, 360.0)

    def __init__(self, name: str, address: str, **kwargs):
        super().__init__(name, address, **kwargs)
        self._speed_deg_s = self.read_velocity_deg_s()
        self.angle_deg = self.add_parameter(
            "angle_deg",
            unit="deg",
            label="rotation angle",
            get_cmd=self.position_deg,
            set_cmd=self.move_to,
            vals=Numbers(*self.angle_range_deg),
        )
        self.velocity_deg_s = self.add_parameter(
            "velocity_deg_s", unit="deg/s", get_cmd=self.read_velocity_deg_s, set_cmd=False
        )

    def position_deg(self) -> float:
        """Angle (deg) from ``MGMSG_MOT_REQ_POSCOUNTER``."""
        reply = self.query(request("MGMSG_MOT_REQ_POSCOUNTER", CHANNEL), "MGMSG_MOT_GET_POSCOUNTER", channel=CHANNEL)
        return self.to_deg(self._position_from(reply, "MGMSG_MOT_REQ_POSCOUNTER"))

    def move_to(self, angle_deg: float) -> float:
        """Rotate to ``angle_deg``; block until ``MOVE_COMPLETED``; return the final angle (deg)."""
        start = self.position_deg()
        message = with_data("MGMSG_MOT_MOVE_ABSOLUTE", "Hl", CHANNEL, self.to_counts(angle_deg))
        done = self.move(message, "MGMSG_MOT_MOVE_COMPLETED", CHANNEL, self._move_timeout(abs(angle_deg - start)))
        if len(done.data) >= 6:
            return self.to_deg(self._position_from(done, "MGMSG_MOT_MOVE_ABSOLUTE"))
        return self.position_deg()

    def home(self) -> float:
        """Home the mount (``MGMSG_MOT_MOVE_HOME``); return the angle afterwards (deg)."""
        self.move(request("MGMSG_MOT_MOVE_HOME", CHANNEL), "MGMSG_MOT_MOVE_HOMED", CHANNEL, self._move_timeout(360.0))
        return self.position_deg()

    def read_velocity_deg_s(self) -> float:
        """Maximum velocity of moves (deg/s), from ``MGMSG_MOT_REQ_VELPARAMS``."""
        reply = self.query(request("MGMSG_MOT_REQ_VELPARAMS", CHANNEL), "MGMSG_MOT_GET_VELPARAMS", channel=CHANNEL)
        if len(reply.data) != 14:
            raise MalformedReply(self.name, "MGMSG_MOT_REQ_VELPARAMS", f"expected 14 data bytes, got {len(reply.data)}")
        _, _, _, max_velocity = struct.unpack("<Hlll", reply.data)
        if max_velocity <= 0:
            raise MalformedReply(self.name, "MGMSG_MOT_REQ_VELPARAMS", f"max velocity {max_velocity} is not positive")
        self._speed_deg_s = max_velocity / self.velocity_units_per_deg_s
        return self._speed_deg_s

    def _move_timeout(self, distance_deg: float) -> float:
        return self.timeout_s + 2 * distance_deg / self._speed_deg_s

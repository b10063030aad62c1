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
``MGMSG_MOT_SET_VELPARAMS``            same packet: the velocity used here
``MGMSG_MOT_REQ/SET/GET_HOMEPARAMS``   WORD channel, WORD direction, WORD limit
                                       switch, LONG home velocity, LONG offset
``MGMSG_HW_STOP_UPDATEMSGS``           no unsolicited status updates
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

Behaviour of the real unit, from hardware-tested drivers: PnPQ
(``refactored_waveplate_thorlabs_k10cr1.py``) writes the home parameters before homing
(the stored home velocity is uselessly slow, or zero after a power cycle) and starts the
unit's status updates (``HW_START_UPDATEMSGS``), which then arrive unasked, as
``GET_STATUSUPDATE``, between any request and its reply. So this driver writes the
velocity and home parameters before every homing, treats a stored velocity of 0 as "not
set" (it writes its own, ``default_velocity_deg_s``, instead of refusing to connect),
stops update messages at connect (``HW_STOP_UPDATEMSGS``) and skips any that still come.
The home direction and limit switch read back as 0 (lost) are replaced by reverse (2)
and the reverse hardware switch (1), the Kinesis defaults (not confirmed on hardware).

Not confirmed from the document itself (only from public implementations of it): the
two scale factors above and the layout of the status packet after ``MOVE_COMPLETED``
beyond its first six bytes (channel, position), which is all this driver reads.
The angle range (-360, 360) deg is this driver's choice (one turn either side of
home), not a hardware limit: the mount turns continuously.
"""

from __future__ import annotations

import struct

from qcodes.validators import Numbers

from qnetlab.drivers.errors import InstrumentError, MalformedReply
from qnetlab.drivers.thorlabs.apt import AptInstrument
from qnetlab.drivers.thorlabs.apt_messages import request, with_data

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
    acceleration_units_per_deg_s2 = 1502.0
    angle_range_deg = (-360.0, 360.0)
    default_velocity_deg_s = 10.0  # written when the unit reports 0 (parameters lost)
    default_acceleration_deg_s2 = 10.0
    home_velocity_deg_s = 5.0  # PnPQ homes at 500 x the stored default of ~0.01 deg/s

    def __init__(self, name: str, address: str, **kwargs):
        super().__init__(name, address, **kwargs)
        self.send(request("MGMSG_HW_STOP_UPDATEMSGS"))
        self._speed_deg_s = self.read_velocity_deg_s()
        if self._speed_deg_s <= 0:
            self.set_velocity_deg_s(self.default_velocity_deg_s)
        self.angle_deg = self.add_parameter(
            "angle_deg",
            unit="deg",
            label="rotation angle",
            get_cmd=self.position_deg,
            set_cmd=self.move_to,
            vals=Numbers(*self.angle_range_deg),
        )
        self.velocity_deg_s = self.add_parameter(
            "velocity_deg_s",
            unit="deg/s",
            get_cmd=self.read_velocity_deg_s,
            set_cmd=self.set_velocity_deg_s,
            vals=Numbers(0.1, 25.0),
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
        """Home the mount (``MGMSG_MOT_MOVE_HOME``) after writing velocity and home parameters.

        Returns the angle afterwards (deg).
        """
        self.set_velocity_deg_s(self._speed_deg_s if self._speed_deg_s > 0 else self.default_velocity_deg_s)
        self.set_home_params(self.home_velocity_deg_s)
        timeout = self.timeout_s + 2 * 360.0 / self.home_velocity_deg_s
        self.move(request("MGMSG_MOT_MOVE_HOME", CHANNEL), "MGMSG_MOT_MOVE_HOMED", CHANNEL, timeout)
        return self.position_deg()

    def read_velocity_deg_s(self) -> float:
        """Maximum velocity of moves (deg/s), from ``MGMSG_MOT_REQ_VELPARAMS`` (0: not set)."""
        _, _, max_velocity = self._velocity_params()
        self._speed_deg_s = max_velocity / self.velocity_units_per_deg_s
        return self._speed_deg_s

    def _velocity_params(self) -> tuple[int, int, int]:
        reply = self.query(request("MGMSG_MOT_REQ_VELPARAMS", CHANNEL), "MGMSG_MOT_GET_VELPARAMS", channel=CHANNEL)
        if len(reply.data) != 14:
            raise MalformedReply(self.name, "MGMSG_MOT_REQ_VELPARAMS", f"expected 14 data bytes, got {len(reply.data)}")
        _, minimum, acceleration, maximum = struct.unpack("<Hlll", reply.data)
        if maximum < 0:
            raise MalformedReply(self.name, "MGMSG_MOT_REQ_VELPARAMS", f"max velocity {maximum} is negative")
        return minimum, acceleration, maximum

    def set_velocity_deg_s(self, velocity_deg_s: float) -> None:
        """Write the move velocity (deg/s) with ``MGMSG_MOT_SET_VELPARAMS`` and read it back."""
        _, acceleration, _ = self._velocity_params()
        if acceleration <= 0:
            acceleration = round(self.default_acceleration_deg_s2 * self.acceleration_units_per_deg_s2)
        wanted = round(velocity_deg_s * self.velocity_units_per_deg_s)
        self.send(with_data("MGMSG_MOT_SET_VELPARAMS", "Hlll", CHANNEL, 0, acceleration, wanted))
        applied = self.read_velocity_deg_s()
        if round(applied * self.velocity_units_per_deg_s) != wanted:
            raise InstrumentError(
                self.name, "MGMSG_MOT_SET_VELPARAMS", f"velocity reads back {applied:g} deg/s, not {velocity_deg_s:g}"
            )

    def home_params(self) -> dict:
        """``MGMSG_MOT_REQ_HOMEPARAMS``: direction, limit switch, velocity (deg/s), offset (deg)."""
        reply = self.query(request("MGMSG_MOT_REQ_HOMEPARAMS", CHANNEL), "MGMSG_MOT_GET_HOMEPARAMS", channel=CHANNEL)
        if len(reply.data) != 14:
            raise MalformedReply(
                self.name, "MGMSG_MOT_REQ_HOMEPARAMS", f"expected 14 data bytes, got {len(reply.data)}"
            )
        _, direction, switch, velocity, offset = struct.unpack("<HHHll", reply.data)
        return {
            "direction": direction,
            "limit_switch": switch,
            "velocity_deg_s": velocity / self.velocity_units_per_deg_s,
            "offset_deg": self.to_deg(offset),
        }

    def set_home_params(self, velocity_deg_s: float) -> None:
        """Write the home velocity (deg/s), keeping direction, switch and offset unless lost (0)."""
        params = self.home_params()
        direction = params["direction"] or 2  # reverse
        switch = params["limit_switch"] or 1  # reverse hardware limit switch
        velocity = round(velocity_deg_s * self.velocity_units_per_deg_s)
        offset = self.to_counts(params["offset_deg"])
        self.send(with_data("MGMSG_MOT_SET_HOMEPARAMS", "HHHll", CHANNEL, direction, switch, velocity, offset))
        applied = self.home_params()["velocity_deg_s"]
        if round(applied * self.velocity_units_per_deg_s) != velocity:
            raise InstrumentError(
                self.name,
                "MGMSG_MOT_SET_HOMEPARAMS",
                f"home velocity reads back {applied:g} deg/s, not {velocity_deg_s:g}",
            )

    def _move_timeout(self, distance_deg: float) -> float:
        return self.timeout_s + 2 * distance_deg / self._speed_deg_s

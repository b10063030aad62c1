"""Driver for the Thorlabs MPC320 (and MPC220) motorized three-paddle fiber polarization controller.

Protocol: Thorlabs APT (see :mod:`drivers.thorlabs.apt`). Messages used, and how they
follow the APT Communications Protocol document:

=====================================  ==============================================
message                                use here
=====================================  ==============================================
``MGMSG_HW_REQ_INFO``/``GET_INFO``     identity at connect (84-byte packet)
``MGMSG_POL_REQ_PARAMS``/``GET``       velocity (% of 400 deg/s), home position and
``MGMSG_POL_SET_PARAMS``               jog steps; 12-byte packet: WORD unused,
                                       WORD velocity, WORD home, WORD jog1..jog3
``MGMSG_MOT_REQ_USTATUSUPDATE``/       paddle position: data packet WORD channel,
``MGMSG_MOT_GET_USTATUSUPDATE``        LONG position (counts), WORD velocity,
                                       SHORT motor current, DWORD status bits
``MGMSG_MOT_MOVE_ABSOLUTE``            data packet WORD channel, LONG position
``MGMSG_MOT_MOVE_COMPLETED``           end of a move (header-only or with status)
``MGMSG_MOT_MOVE_HOME``/``HOMED``      header-only, channel in parameter byte 1
``MGMSG_MOD_IDENTIFY``                 flash the LED
``MGMSG_HW_DISCONNECT``                leave the bus
``MGMSG_HW_RICHRESPONSE``              device error -> :class:`DeviceError`
=====================================  ==============================================

Paddles are addressed by channel bits: paddle 1, 2, 3 -> ``0x01``, ``0x02``, ``0x04``.
Position scale: 1370 encoder counts for the 170 deg paddle travel (0-170 deg).

Not confirmed from the document itself (only from public implementations of it): the
1370-counts-per-170-deg scale and the 400 deg/s velocity reference; whether the MPC320
ends an absolute move with a header-only ``MOVE_COMPLETED`` (PnPQ reports so for jogs
and waits for a status update after absolute moves), so this driver accepts either form
and reads the final position with ``REQ_USTATUSUPDATE``; channel enabling
(``MOD_SET_CHANENABLESTATE``, reported to be a bitmask on MPCs) is not sent, the device's
own power-up state is used.
"""

from __future__ import annotations

import struct
from functools import partial
from typing import ClassVar

from qcodes.validators import Ints, Numbers

from qnetlab.drivers.errors import InstrumentError, LimitError, MalformedReply
from qnetlab.drivers.thorlabs.apt import AptInstrument, request, with_data

POL_PARAMS = "HHHHHH"  # unused, velocity %, home counts, jog step 1..3 counts


class ThorlabsMPC320(AptInstrument):
    """Three motorized paddles: ``paddle1_deg`` .. ``paddle3_deg`` (0-170 deg), ``velocity_pct``.

    Setting a paddle angle blocks until the move has completed (timeout: ``timeout_s``
    plus twice the travel time at the configured velocity).

    Parameters
    ----------
    name : instrument name used in every error message
    address : pyserial URL, e.g. ``/dev/ttyUSB0`` or ``socket://127.0.0.1:PORT``
    timeout_s : reply timeout (s)
    serial_number : if given, the serial number the device must report
    """

    counts_per_deg = 1370 / 170
    travel_deg = (0.0, 170.0)
    full_speed_deg_s = 400.0  # velocity 100 %
    channel_bits: ClassVar[dict[int, int]] = {1: 0x01, 2: 0x02, 3: 0x04}

    def __init__(self, name: str, address: str, **kwargs):
        super().__init__(name, address, **kwargs)
        self._params = self.pol_params()
        for paddle in self.channel_bits:
            self.add_parameter(
                f"paddle{paddle}_deg",
                unit="deg",
                label=f"paddle {paddle} angle",
                get_cmd=partial(self.paddle_deg, paddle),
                set_cmd=partial(self.move_paddle, paddle),
                vals=Numbers(*self.travel_deg),
            )
        self.velocity_pct = self.add_parameter(
            "velocity_pct",
            unit="%",
            get_cmd=lambda: self.pol_params()["velocity_pct"],
            set_cmd=self._set_velocity,
            vals=Ints(10, 100),
        )

    def _bit(self, paddle: int) -> int:
        if paddle not in self.channel_bits:
            raise InstrumentError(self.name, "paddle", f"no paddle {paddle!r}; the MPC has paddles 1, 2, 3")
        return self.channel_bits[paddle]

    # --- positions ---------------------------------------------------------------------
    def paddle_deg(self, paddle: int) -> float:
        """Angle of one paddle (deg), from ``MGMSG_MOT_REQ_USTATUSUPDATE``."""
        bit = self._bit(paddle)
        reply = self.query(request("MGMSG_MOT_REQ_USTATUSUPDATE", bit), "MGMSG_MOT_GET_USTATUSUPDATE", channel=bit)
        return self.to_deg(self._position_from(reply, "MGMSG_MOT_REQ_USTATUSUPDATE"))

    def move_paddle(self, paddle: int, angle_deg: float) -> float:
        """Move one paddle to ``angle_deg`` (0-170 deg); block until done, return the final angle (deg)."""
        bit = self._bit(paddle)
        low, high = self.travel_deg
        if not low <= angle_deg <= high:
            raise LimitError(
                self.name, f"paddle{paddle}_deg", f"{angle_deg} deg is outside the paddle travel [{low}, {high}] deg"
            )
        start = self.paddle_deg(paddle)
        message = with_data("MGMSG_MOT_MOVE_ABSOLUTE", "Hl", bit, self.to_counts(angle_deg))
        self.move(message, "MGMSG_MOT_MOVE_COMPLETED", bit, self._move_timeout(abs(angle_deg - start)))
        return self.paddle_deg(paddle)

    def home(self, paddle: int) -> float:
        """Home one paddle (``MGMSG_MOT_MOVE_HOME``); return its angle afterwards (deg)."""
        bit = self._bit(paddle)
        home_deg = self.to_deg(self._params["home_counts"])
        distance = abs(self.paddle_deg(paddle) - home_deg)
        self.move(request("MGMSG_MOT_MOVE_HOME", bit), "MGMSG_MOT_MOVE_HOMED", bit, self._move_timeout(distance))
        return self.paddle_deg(paddle)

    def _move_timeout(self, distance_deg: float) -> float:
        speed = self.full_speed_deg_s * self._params["velocity_pct"] / 100
        return self.timeout_s + 2 * distance_deg / speed

    # --- polarizer parameters -----------------------------------------------------------
    def pol_params(self) -> dict:
        """``MGMSG_POL_REQ_PARAMS``: velocity (%), home position and jog steps (counts)."""
        reply = self.query(request("MGMSG_POL_REQ_PARAMS"), "MGMSG_POL_GET_PARAMS")
        if len(reply.data) != 12:
            raise MalformedReply(self.name, "MGMSG_POL_REQ_PARAMS", f"expected 12 data bytes, got {len(reply.data)}")
        _, velocity, home, *jogs = struct.unpack("<" + POL_PARAMS, reply.data)
        self._params = {"velocity_pct": velocity, "home_counts": home, "jog_counts": tuple(jogs)}
        return dict(self._params)

    def _set_velocity(self, velocity_pct: int) -> None:
        """Change the velocity (10-100 %), keeping the other polarizer parameters; read back."""
        params = self.pol_params()
        self.send(
            with_data(
                "MGMSG_POL_SET_PARAMS", POL_PARAMS, 0, int(velocity_pct), params["home_counts"], *params["jog_counts"]
            )
        )
        applied = self.pol_params()["velocity_pct"]
        if applied != int(velocity_pct):
            raise InstrumentError(
                self.name, "MGMSG_POL_SET_PARAMS", f"velocity reads back {applied} %, not {velocity_pct} %"
            )

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
``MGMSG_MOD_SET_CHANENABLESTATE``      header-only: parameter 1 the bitmask of the
                                       paddles to enable (the others are disabled),
                                       parameter 2 ``0x01``; ``0x00`` disables all
``MGMSG_MOT_MOVE_ABSOLUTE``            data packet WORD channel, LONG position
``MGMSG_MOT_MOVE_COMPLETED``           end of a move (header-only or with status)
``MGMSG_MOT_MOVE_HOME``/``HOMED``      header-only, channel in parameter byte 1
``MGMSG_MOD_IDENTIFY``                 flash the LED
``MGMSG_HW_DISCONNECT``                leave the bus
``MGMSG_HW_RICHRESPONSE``              device error -> :class:`DeviceError`
=====================================  ==============================================

Paddles are addressed by channel bits: paddle 1, 2, 3 -> ``0x01``, ``0x02``, ``0x04``.
Position scale: 1370 encoder counts for the 170 deg paddle travel (0-170 deg).

Behaviour of the real unit, from hardware-tested drivers:

- A paddle moves only while its channel is enabled. PnPQ
  (``polarization_controller_thorlabs_mpc.py``: ``move_absolute``, ``home``, ``jog``)
  enables the paddle before every move and disables it after; QMI
  (``qmi/instruments/thorlabs/mpc320.py``: ``enable_channels``, ``disable_all_channels``)
  documents the bitmask: enabling a set disables every paddle not in it, and "enabling"
  ``0x00`` disables all. The MPC320 is open loop: a disabled paddle still reports the
  commanded position, so this driver enables, then reads the status bits back
  (``0x80000000`` enabled) before it moves, and raises if the paddle did not enable.
- End of an absolute move: PnPQ waits for a ``GET_USTATUSUPDATE`` of the channel at the
  target position; QMI reads ``MOVE_COMPLETED``. This driver accepts either, and polls
  ``REQ_USTATUSUPDATE`` while the line is quiet, so a unit that sends neither unasked
  still ends the move when its position reaches the target.

Not confirmed from the document itself (only from public implementations of it): the
1370-counts-per-170-deg scale and the 400 deg/s velocity reference.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from functools import partial
from typing import ClassVar

from qcodes.validators import Ints, Numbers

from qnetlab.drivers.errors import InstrumentError, LimitError, MalformedReply
from qnetlab.drivers.thorlabs.apt import AptInstrument
from qnetlab.drivers.thorlabs.apt_messages import ID, request, with_data

log = logging.getLogger(__name__)

POL_PARAMS = "HHHHHH"  # unused, velocity %, home counts, jog step 1..3 counts
STATUS_ENABLED = 0x80000000  # status bit of GET_USTATUSUPDATE: channel enabled
ENABLE = 0x01  # parameter 2 of MOD_SET_CHANENABLESTATE


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
        """Move one paddle to ``angle_deg`` (0-170 deg); block until done, return the final angle (deg).

        The paddle is enabled for the move and disabled after it (also when the move fails).
        """
        bit = self._bit(paddle)
        low, high = self.travel_deg
        if not low <= angle_deg <= high:
            raise LimitError(
                self.name, f"paddle{paddle}_deg", f"{angle_deg} deg is outside the paddle travel [{low}, {high}] deg"
            )
        start = self.paddle_deg(paddle)
        target = self.to_counts(angle_deg)
        message = with_data("MGMSG_MOT_MOVE_ABSOLUTE", "Hl", bit, target)
        with self._enabled(paddle, bit):
            self.move(
                message,
                "MGMSG_MOT_MOVE_COMPLETED",
                bit,
                self._move_timeout(abs(angle_deg - start)),
                finished=self._arrived(bit, target),
                poll=(request("MGMSG_MOT_REQ_USTATUSUPDATE", bit), "MGMSG_MOT_GET_USTATUSUPDATE"),
            )
        return self.paddle_deg(paddle)

    def home(self, paddle: int) -> float:
        """Home one paddle (``MGMSG_MOT_MOVE_HOME``, enabled for it); return its angle afterwards (deg)."""
        bit = self._bit(paddle)
        home_deg = self.to_deg(self._params["home_counts"])
        distance = abs(self.paddle_deg(paddle) - home_deg)
        with self._enabled(paddle, bit):
            self.move(request("MGMSG_MOT_MOVE_HOME", bit), "MGMSG_MOT_MOVE_HOMED", bit, self._move_timeout(distance))
        return self.paddle_deg(paddle)

    @staticmethod
    def _arrived(bit: int, target: int):
        """A move ends at ``MOVE_COMPLETED`` of the paddle or at a status update showing the target."""

        def finished(message) -> bool:
            if message.channel != bit:
                return False
            if message.msg_id == ID["MGMSG_MOT_MOVE_COMPLETED"]:
                return True
            return (
                message.msg_id == ID["MGMSG_MOT_GET_USTATUSUPDATE"]
                and len(message.data) >= 6
                and struct.unpack_from("<Hl", message.data)[1] == target
            )

        return finished

    def status_bits(self, paddle: int) -> int:
        """The DWORD status bits of one paddle (``MGMSG_MOT_REQ_USTATUSUPDATE``)."""
        bit = self._bit(paddle)
        reply = self.query(request("MGMSG_MOT_REQ_USTATUSUPDATE", bit), "MGMSG_MOT_GET_USTATUSUPDATE", channel=bit)
        if len(reply.data) < 14:
            raise MalformedReply(
                self.name, "MGMSG_MOT_REQ_USTATUSUPDATE", f"expected 14 data bytes, got {len(reply.data)}"
            )
        return struct.unpack_from("<L", reply.data, 10)[0]

    @contextlib.contextmanager
    def _enabled(self, paddle: int, bit: int):
        """Enable one paddle (the others off), check it took, yield; disable all paddles after.

        Holds the link throughout: enabling one paddle disables the others, so moves of
        several paddles (from several threads) take turns.
        """
        with self._io:
            yield from self._enabled_held(paddle, bit)

    def _enabled_held(self, paddle: int, bit: int):
        self.send(request("MGMSG_MOD_SET_CHANENABLESTATE", bit, ENABLE))
        try:
            if not self.status_bits(paddle) & STATUS_ENABLED:
                raise InstrumentError(
                    self.name, "MGMSG_MOD_SET_CHANENABLESTATE", f"paddle {paddle} reports disabled after enabling"
                )
            yield
        finally:
            try:
                self.send(request("MGMSG_MOD_SET_CHANENABLESTATE", 0x00, ENABLE))
            except InstrumentError as error:  # the move's own outcome is the one to report
                log.warning("%s: could not disable the paddles after a move: %s", self.name, error)

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

"""Emulators of Thorlabs APT devices: the MPC320 paddle controller and the K10CR1 rotation mount,
served by the APT protocol server of :mod:`.apt_server`.

Behaviours of the real units modelled here (sources in the drivers' docstrings):

- MPC320: a paddle moves only while its channel is enabled
  (``MOD_SET_CHANENABLESTATE``: parameter 1 the bitmask of enabled paddles, parameter 2
  ``0x01``; ``0x02`` disables the paddles named). The unit is open loop: a move of a
  disabled paddle leaves the world alone, yet its position counter (what the status
  reports) takes the commanded value. Homing an enabled paddle finds the true reference.
  The end of an absolute move is, by ``end_of_move``: an unsolicited
  ``GET_USTATUSUPDATE`` at the target (``"status"``, the default, as PnPQ relies on),
  a header-only ``MOVE_COMPLETED`` (``"completed"``), or nothing (``"none"``: the host
  must poll). Homing ends with ``MOVE_HOMED``.
- K10CR1: velocity and home parameters as stored at power-up (``stored_velocity_deg_s``,
  ``home_velocity_deg_s``; the home velocity is lost at power-off, 0 by default); a move
  at zero velocity, or homing at zero home velocity, never ends. With update messages on
  (``update_messages=True`` or ``HW_START_UPDATEMSGS``) every reply is preceded by an
  unsolicited ``GET_STATUSUPDATE``. Moves end with ``MOVE_COMPLETED`` and a 14-byte status
  packet.
"""

from __future__ import annotations

import struct
import threading
import time
from typing import ClassVar

from qnetlab.sim_backends.emulators.apt_server import (
    MOT_GET_USTATUSUPDATE,
    MOT_MOVE_COMPLETED,
    POL_GET_PARAMS,
    AptEmulator,
    header_only,
    with_data,
)
from qnetlab.sim_backends.world.actuators import PaddleController, Waveplate


class AptPaddleControllerEmulator(AptEmulator):
    """A Thorlabs MPC320 acting on a :class:`PaddleController`.

    Paddles 1, 2, 3 are channels ``0x01``, ``0x02``, ``0x04``; 1370 counts span the
    170 deg travel. Polarizer parameters (``POL_*``): velocity in % of 400 deg/s,
    home position and jog steps in counts.
    """

    name = "mpc320"
    model = b"MPC320"
    channels: ClassVar[dict[int, int]] = {0x01: 0, 0x02: 1, 0x04: 2}
    counts_per_deg = 1370 / 170

    def __init__(
        self,
        controller: PaddleController,
        lock: threading.RLock,
        serial: str = "38000001",
        *,
        end_of_move: str = "status",
        **kwargs,
    ):
        if end_of_move not in ("status", "completed", "none"):
            raise ValueError(f"end_of_move {end_of_move!r}: choose 'status', 'completed' or 'none'")
        self._controller = controller
        self._pol = {"velocity": 50, "home": 0, "jogs": (10, 10, 10)}
        self.end_of_move = end_of_move
        self.enabled_mask = 0x00  # as the unit powers up: no paddle enabled
        self._slip = dict.fromkeys(self.channels, 0)  # counter minus true position (counts), from disabled moves
        super().__init__(lock, serial, **kwargs)

    def actuator(self, channel: int) -> Waveplate:
        return self._controller.paddles[self.channels[channel]]

    def enabled(self, channel: int) -> bool:
        return bool(self.enabled_mask & channel)

    def set_enable_state(self, channels: int, state: int) -> None:
        if state == 0x01:
            self.enabled_mask = channels & 0x07  # the paddles named are enabled, the others disabled
        elif state == 0x02:
            self.enabled_mask &= ~channels

    def counts(self, channel: int) -> int:
        """The unit's position counter: the true position plus what disabled moves commanded."""
        return super().counts(channel) + self._slip[channel]

    def _travel(self, channel: int, target: int, homing: bool = False) -> None:
        if not self.enabled(channel):  # open loop: the counter follows the command, the paddle does not
            self._slip[channel] += target - self.counts(channel)
            return
        if homing:
            self._slip[channel] = 0  # the home reference is found again
        distance_deg = abs(target - self.counts(channel)) / self.counts_per_deg
        if self._seconds_per_deg:
            time.sleep(distance_deg * self._seconds_per_deg)
        low, high = self._controller.travel_deg
        with self._lock:
            angle_deg = min(max((target - self._slip[channel]) / self.counts_per_deg, low), high)
            self.actuator(channel).angle_deg = angle_deg  # against a stop the counter runs on alone
            self._slip[channel] = target - round(angle_deg * self.counts_per_deg)

    def travel_counts(self) -> tuple[int, int]:
        low, high = self._controller.travel_deg
        return round(low * self.counts_per_deg), round(high * self.counts_per_deg)

    def home_counts(self) -> int:
        return self._pol["home"]

    def move_completed(self, channel: int) -> bytes | None:
        if self.end_of_move == "status":
            return with_data(MOT_GET_USTATUSUPDATE, self.status(channel))
        if self.end_of_move == "completed":
            return header_only(MOT_MOVE_COMPLETED, channel)
        return None

    def set_pol_params(self, data: bytes) -> None:
        _, velocity, home, *jogs = struct.unpack("<6H", data)
        if 10 <= velocity <= 100:  # a device ignores a velocity outside its range
            self._pol = {"velocity": velocity, "home": home, "jogs": tuple(jogs)}

    def pol_params(self) -> bytes:
        pol = self._pol
        return with_data(POL_GET_PARAMS, struct.pack("<6H", 0, pol["velocity"], pol["home"], *pol["jogs"]))


class AptRotationMountEmulator(AptEmulator):
    """A Thorlabs K10CR1 acting on a :class:`Waveplate` (136533 counts/deg, channel 1).

    Velocity parameters are in device units (7329109 per deg/s, 1502 per deg/s²);
    the mount turns continuously, so only the LONG range limits positions.
    """

    name = "k10cr1"
    model = b"K10CR1"
    channels: ClassVar[dict[int, int]] = {0x01: 0}
    counts_per_deg = 136533.0
    max_velocity_deg_s = 10.0
    acceleration_deg_s2 = 10.0

    def __init__(
        self,
        plate: Waveplate,
        lock: threading.RLock,
        serial: str = "55000001",
        *,
        stored_velocity_deg_s: float = 10.0,
        home_velocity_deg_s: float = 0.0,
        update_messages: bool = False,
        **kwargs,
    ):
        self._plate = plate
        self._velocity = (0, round(self.acceleration_deg_s2 * 1502), round(stored_velocity_deg_s * 7329109))
        self._home = (2, 1, round(home_velocity_deg_s * 7329109), 0)  # direction, limit switch, velocity, offset
        super().__init__(lock, serial, **kwargs)
        self.update_messages = update_messages

    def actuator(self, channel: int) -> Waveplate:
        return self._plate

    def velocity_params(self, channel: int) -> bytes:
        return struct.pack("<Hlll", channel, *self._velocity)

    def set_velocity_params(self, data: bytes) -> None:
        _, minimum, acceleration, maximum = struct.unpack("<Hlll", data)
        self._velocity = (minimum, acceleration, maximum)

    def home_params(self, channel: int) -> bytes:
        return struct.pack("<HHHll", channel, *self._home)

    def set_home_params(self, data: bytes) -> None:
        _, direction, switch, velocity, offset = struct.unpack("<HHHll", data)
        self._home = (direction, switch, velocity, offset)

    def can_home(self) -> bool:
        return self._home[2] > 0

    def move_absolute(self, channel: int, target: int) -> bytes | None:
        if self._velocity[2] <= 0:
            return None  # at zero velocity the motor never arrives
        return super().move_absolute(channel, target)

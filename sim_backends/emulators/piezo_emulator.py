"""Emulator of a Thorlabs MDT693B/MDT694B piezo controller, driving a :class:`PhaseShifter`.

It speaks the controller's ASCII protocol (compatibility mode off) on a loopback socket:
commands end with CR, every answer ends with the prompt ``>``; a query's value comes
in brackets on its own CR-terminated line. The unit echoes what it receives until
``echo=0``.

=====================  ==========================================  =====================
command                meaning                                     answer (echo off)
=====================  ==========================================  =====================
``echo=<0|1>``         echo received commands                      ``>``
``echo?``              echo state                                  ``Echo Off\\r>``
``id?``                identification, several lines              ``Model MDT693B ...\\r>``
``vlimit?``            output limit switch: 75, 100 or 150 (V)     ``[ 150]\\r>``
``<a>voltage=<v>``     output voltage of axis a = x, y, z (V)      ``>``
``<a>voltage?``        output voltage of axis a, 0.1 V steps       ``[  24.8]\\r>``
anything else          —                                           ``CMD_NOT_DEFINED>``
=====================  ==========================================  =====================

Firmware older than 1.09 (``firmware="1.06"``, say) ends an answer with ``*`` when the
command was done and ``!`` when it was not understood, instead of ``>`` (as reported
from the bench in qnetlab issue 12; the manual's text for those firmware versions was
not read here); it prints no error word. A bad argument there also answers ``!`` (an
assumption).

A voltage below 0 or above the limit switch answers ``CMD_ARG_INVALID>`` and changes
nothing (an assumption: the manual's behaviour there was not verified on hardware).
The limit switch is ``shifter.voltage_range_v[1]``. The ``id?`` lines carry the fields
that open-source drivers parse (model, firmware, voltage range, serial, name); their
exact wording on hardware may differ.
"""

from __future__ import annotations

from qnetlab.sim_backends.emulators.socket_server import LineProtocolServer
from qnetlab.sim_backends.world.actuators import PhaseShifter


class MdtPiezoEmulator(LineProtocolServer):
    """The MDT69xB ASCII command set, one axis acting on ``shifter`` (holding ``lock``).

    Parameters
    ----------
    shifter : the phase shifter wired to ``axis``
    lock : the world's lock, held while the shifter changes
    axis : which output drives the shifter; the other axes hold a voltage of their own
    model : ``"MDT693B"`` (axes x, y, z) or ``"MDT694B"`` (axis x)
    serial : serial number reported by ``id?``
    """

    name = "mdt69xb"
    read_terminator = b"\r"
    write_terminator = b">"

    def __init__(
        self,
        shifter: PhaseShifter,
        lock,
        *,
        axis: str = "x",
        model: str = "MDT693B",
        serial: str = "SIM0001",
        firmware: str = "1.09",
        port: int = 0,
    ):
        self.axes = ("x", "y", "z") if model == "MDT693B" else ("x",)
        if axis not in self.axes:
            raise ValueError(f"{model} has no axis {axis!r}; it has {self.axes}")
        self._shifter = shifter
        self._lock = lock
        self._axis = axis
        self._model = model
        self._serial = serial
        self.firmware = firmware
        self.old_prompts = tuple(int(part) for part in firmware.split(".")) < (1, 9)
        self._other_axes_v = {a: 0.0 for a in self.axes if a != axis}
        self.echo = True  # as the unit powers up
        super().__init__(port)

    @property
    def limit_v(self) -> float:
        """Position of the output limit switch (V)."""
        return float(self._shifter.voltage_range_v[1])

    def reply_to(self, frame: bytes) -> bytes | None:
        if not self.old_prompts:
            return super().reply_to(frame)
        reply = self.handle(frame.decode("ascii", errors="replace"))
        if reply is None:
            return None
        for word in ("CMD_NOT_DEFINED", "CMD_ARG_INVALID"):
            if reply.endswith(word):
                return reply[: -len(word)].encode("ascii") + b"!"
        return reply.encode("ascii") + b"*"

    def handle(self, line: str) -> str | None:
        command = line.strip()
        echo = self.echo  # the unit echoes characters as they arrive, before it acts
        answer = self._answer(command.lower())
        return (command + "\r" + answer) if echo else answer

    def _answer(self, command: str) -> str:
        name, is_setting, argument = command.partition("=")
        if name == "echo" and is_setting:
            if argument.strip() not in ("0", "1"):
                return "CMD_ARG_INVALID"
            self.echo = argument.strip() == "1"
            return ""
        if name == "echo?":
            return "Echo On\r" if self.echo else "Echo Off\r"
        if name == "id?":
            return (
                f"Model {self._model} Piezo Control Module\rFirmware Version: {self.firmware}\r"
                f"Voltage Range: {self.limit_v:.0f}V\rSerial#: {self._serial}\rName: qnetlab twin\r"
            )
        if name == "vlimit?":
            return f"[{self.limit_v:4.0f}]\r"
        axis = name[:1]
        if axis in self.axes and name[1:] == "voltage?":
            return f"[{self._voltage(axis):6.1f}]\r"
        if axis in self.axes and name[1:] == "voltage" and is_setting:
            return self._set_voltage(axis, argument)
        return "CMD_NOT_DEFINED"

    def _voltage(self, axis: str) -> float:
        if axis == self._axis:
            return self._shifter.voltage_v
        return self._other_axes_v[axis]

    def _set_voltage(self, axis: str, argument: str) -> str:
        try:
            value = float(argument)
        except ValueError:
            return "CMD_ARG_INVALID"
        if not 0.0 <= value <= self.limit_v:
            return "CMD_ARG_INVALID"
        if axis == self._axis:
            with self._lock:
                self._shifter.voltage_v = value
        else:
            self._other_axes_v[axis] = value
        return ""

"""Driver for the Thorlabs MDT693B (3 axes) and MDT694B (1 axis) open-loop piezo controllers.

Provenance of the command set: the ASCII protocol of the MDT693B/MDT694B user manual
(firmware with "MDT693A compatibility mode" off), as also used by open-source drivers
(pyLabLib, InstrumentKit, mdt69x, herosdevices): 115200 baud 8N1 over the USB virtual
COM port, commands terminated by CR, every answer closed by the prompt ``>``.

=====================  ============================================  ===================
command                meaning                                       answer (echo off)
=====================  ============================================  ===================
``echo=0``             stop echoing received characters              ``>``
``id?``                model, firmware, voltage range, serial, name  lines, then ``>``
``vlimit?``            output limit switch on the rear panel (V)     ``[ 150]\\r>``
``xvoltage=<v>``       output voltage of axis x (V); y, z alike      ``>``
``xvoltage?``          output voltage of axis x (V)                  ``[  24.8]\\r>``
=====================  ============================================  ===================

A command the unit does not know answers ``CMD_NOT_DEFINED>``; a bad argument answers
``CMD_ARG_INVALID>`` (the error words of Thorlabs' ASCII instruments). Whether the
MDT693B rejects or clamps a voltage above its limit switch was not verified on
hardware; this driver never sends one (its validator follows ``vlimit?``), and any
error word in an answer raises :class:`DeviceError`.

Prompt styles: firmware older than 1.09 ends an answer with ``*`` (done) or ``!``
(unknown command) instead of ``>`` (as reported from the bench in qnetlab issue 12; not
read in a manual here). The driver reads each answer up to whichever of ``>``, ``*``,
``!`` comes first, learns the style from the answer to ``echo=0`` at connect
(``prompt_style``: ``">"`` or ``"*!"``), and treats ``!`` as ``CMD_NOT_DEFINED``.

There is no error queue: each setting's own answer is its acknowledgement, so a
setting is one exchange (sent once, never retried) and queries are retried once after
a reconnect, like every qnetlab text driver.
"""

from __future__ import annotations

import time
from functools import partial

import pyvisa
from qcodes.validators import Numbers

from qnetlab.drivers.errors import DeviceError, InstrumentError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.visa_base import ScpiVisaInstrument

PROMPT = ">"
OLD_PROMPTS = "*!"  # firmware < 1.09: done, unknown command
ENDINGS = PROMPT + OLD_PROMPTS
ERROR_WORDS = {"CMD_NOT_DEFINED": 1, "CMD_ARG_INVALID": 2}  # qnetlab's numbering; the unit sends text


class ThorlabsMDT69xB(ScpiVisaInstrument):
    """Shared logic of the MDT69xB family; models differ only in their axes.

    Parameters
    ----------
    name : instrument name used in every error message
    address : VISA resource, e.g. ``ASRL/dev/ttyUSB0::INSTR`` or ``TCPIP0::127.0.0.1::5000::SOCKET``
    axis : the axis whose voltage is ``voltage_v`` (the one driving the phase shifter)
    timeout_s : reply timeout (s)

    Parameters of the driver: ``<axis>_voltage_v`` for each axis, ``voltage_v`` (the
    chosen axis), ``voltage_limit_v`` (limit switch, read-only). Voltages in volts.
    """

    axes: tuple[str, ...] = ("x", "y", "z")

    def __init__(self, name: str, address: str, *, axis: str = "x", timeout_s: float = 2.0, **kwargs):
        if axis not in self.axes:
            raise ValueError(f"{name}: axis {axis!r} is not one of {self.axes}")
        self.prompt_style = ""  # learned from the first answer
        super().__init__(name, address, timeout_s=timeout_s, **kwargs)
        self.write("echo=0")
        self.voltage_limit_v = self.add_parameter(
            "voltage_limit_v", unit="V", get_cmd=partial(self.query_bracketed, "vlimit?"), set_cmd=False
        )
        limit = self.voltage_limit_v()
        for each in self.axes:
            self.add_parameter(
                f"{each}_voltage_v",
                unit="V",
                get_cmd=partial(self.query_bracketed, f"{each}voltage?"),
                set_cmd=f"{each}voltage={{:.3f}}",
                vals=Numbers(0.0, limit),
            )
        self.voltage_v = self.add_parameter(
            "voltage_v",
            unit="V",
            get_cmd=partial(self.query_bracketed, f"{axis}voltage?"),
            set_cmd=f"{axis}voltage={{:.3f}}",
            vals=Numbers(0.0, limit),
            docstring=f"output voltage of axis {axis} (V), 0 up to the limit switch",
        )

    # --- transport: CR out, prompt in ----------------------------------------------
    def set_terminator(self, terminator: str | None) -> None:
        """Set up the link at each (re)open: CR out, prompt ``>`` in, 115200 baud on a serial port.

        ``terminator`` is ignored: the MDT69xB framing is fixed.
        """
        self.visa_handle.write_termination = "\r"
        self.visa_handle.read_termination = None  # answers end with one of several prompts: read_answer
        if isinstance(self.visa_handle, pyvisa.resources.SerialInstrument):
            self.visa_handle.baud_rate = 115200

    def _exchange(self, cmd: str) -> str:
        """Write ``cmd``, read its answer up to the prompt (``>``, or ``*``/``!`` on old firmware)."""
        import pyvisa.constants

        try:
            self.visa_handle.write(cmd)
            answer = bytearray()
            deadline = time.monotonic() + self._timeout_ms / 1000
            while True:
                if time.monotonic() > deadline:
                    raise InstrumentTimeout(self.name, cmd, f"no reply within {self._timeout_ms / 1000:g} s")
                byte = self.visa_handle.read_bytes(1)
                if byte.decode("ascii", errors="replace") in ENDINGS:
                    break
                answer += byte
        except pyvisa.errors.VisaIOError as error:
            if error.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise InstrumentTimeout(self.name, cmd, f"no reply within {self._timeout_ms / 1000:g} s") from None
            raise LinkDropped(self.name, cmd, f"link failed: {error.description}") from None
        except (ConnectionError, OSError) as error:
            raise LinkDropped(self.name, cmd, f"link failed: {error}") from None
        ending = byte.decode("ascii")
        if not self.prompt_style:
            self.prompt_style = PROMPT if ending == PROMPT else OLD_PROMPTS
        try:
            text = answer.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedReply(self.name, cmd, "reply is not ASCII text") from None
        return text + ("CMD_NOT_DEFINED" if ending == "!" else "")

    def ask_raw(self, cmd: str) -> str:
        """Query (retried once after a reconnect); an error word raises :class:`DeviceError`."""
        reply = super().ask_raw(cmd)
        self._check_reply(cmd, reply)
        return reply

    def write_raw(self, cmd: str) -> None:
        """Send a setting and read its acknowledgement (the prompt); never resent."""
        try:
            reply = self._exchange(cmd)
        except InstrumentError as error:
            self._reconnect()
            raise LinkDropped(self.name, cmd, f"setting may not have been applied ({error})") from None
        self._check_reply(cmd, reply)

    def _check_reply(self, cmd: str, reply: str) -> None:
        for word, code in ERROR_WORDS.items():
            if word in reply:
                raise DeviceError(self.name, cmd, f"instrument answered {word}", code)

    # --- typed queries ---------------------------------------------------------------
    def query_bracketed(self, cmd: str) -> float:
        """A number answered as ``[  24.8]`` (the last line of the answer, echo or not)."""
        reply = self.ask(cmd)
        lines = [line.strip() for line in reply.splitlines() if line.strip()]
        text = lines[-1] if lines else ""
        if not (text.startswith("[") and text.endswith("]")):
            raise MalformedReply(self.name, cmd, f"expected a bracketed number, got {reply!r}")
        try:
            return float(text[1:-1])
        except ValueError:
            raise MalformedReply(self.name, cmd, f"expected a bracketed number, got {reply!r}") from None

    def identify(self) -> str:
        """The ``id?`` answer, its lines joined by ``"; "``."""
        lines = [line.strip() for line in self.ask("id?").splitlines()]
        return "; ".join(line for line in lines if line)


class ThorlabsMDT693B(ThorlabsMDT69xB):
    """Thorlabs MDT693B: three axes x, y, z."""

    axes = ("x", "y", "z")


class ThorlabsMDT694B(ThorlabsMDT69xB):
    """Thorlabs MDT694B: one axis, x."""

    axes = ("x",)

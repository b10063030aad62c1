"""Errors raised by drivers: each names the instrument and the command that failed."""

from __future__ import annotations


class InstrumentError(RuntimeError):
    """An instrument did not do what was asked.

    Parameters
    ----------
    instrument : name of the instrument (as in the lab config)
    command : the command or SDK call that failed
    detail : what went wrong
    """

    def __init__(self, instrument: str, command: str, detail: str):
        super().__init__(instrument, command, detail)
        self.instrument = instrument
        self.command = command
        self.detail = detail

    def __str__(self) -> str:
        text = f"{self.instrument}: {self.command!r}: {self.detail}"
        extra = [str(a) for a in self.args[3:]]  # context appended by qcodes ("getting ...")
        return text + (f" ({'; '.join(extra)})" if extra else "")


class InstrumentTimeout(InstrumentError):
    """No (complete) reply within the timeout."""


class MalformedReply(InstrumentError):
    """The reply could not be parsed as the command's answer."""


class DeviceError(InstrumentError):
    """The instrument reported an error code of its own."""

    def __init__(self, instrument: str, command: str, detail: str, code: int):
        super().__init__(instrument, command, detail)
        self.code = code


class LinkDropped(InstrumentError):
    """The connection was lost; the driver reconnected, but the command may not have run."""


class LimitError(InstrumentError, ValueError):
    """A setting is outside the safe range configured for the instrument."""

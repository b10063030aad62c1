"""Errors an operator causes, shown in IPython as one line and where to look.

A setting over its limit, an unreachable instrument, a bad plan argument or config: the
operator needs the message (which names the instrument, the setting and the limit), not
bluesky's RunEngine traceback. :func:`install_ipython_handler` makes IPython print such an
error as one line; every other exception keeps IPython's usual traceback, and ``%tb``
still prints the full traceback of the last error of either kind.
"""

from __future__ import annotations

import logging
from typing import Any

HINT = "(full traceback: %tb)"


def operator_cause(error: BaseException) -> BaseException | None:
    """The operator-caused error ``error`` is or wraps (a failed Status's cause), else None."""
    from bluesky.utils import FailedStatus

    from qnetlab._failures import status_cause
    from qnetlab._run_tables import StreamNotFound
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.instruments import ConfigError
    from qnetlab.plans import PlanArgumentError

    kinds = (InstrumentError, ConfigError, PlanArgumentError, StreamNotFound, ConnectionError, TimeoutError)
    current: BaseException | None = error
    for _ in range(5):  # a FailedStatus may wrap another
        if current is None or isinstance(current, kinds):
            return current
        current = status_cause(current) if isinstance(current, FailedStatus) else current.__cause__
    return None


def one_line(error: BaseException) -> str:
    """``Kind: message`` on one line (multi-line messages joined with ``; ``)."""
    message = "; ".join(part.strip() for part in str(error).splitlines() if part.strip())
    return f"{type(error).__name__}: {message}"


def _show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    shell._get_exc_info((etype, value, tb))  # store it as the last exception, so %tb prints it
    cause = operator_cause(value)
    if cause is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    print(f"{one_line(cause)}  {HINT}")


class _DropOperatorTracebacks(logging.Filter):
    """Drops ophyd's logged traceback of a failed ``set`` whose cause is an operator error.

    The error still fails the Status, so ``.wait()`` (or the plan) raises it where the
    operator sees it once, as one line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or operator_cause(error) is None


def quiet_ophyd_set_failures() -> None:
    """Install :class:`_DropOperatorTracebacks` on ophyd's object logger (once)."""
    logger = logging.getLogger("ophyd.objects")
    if not any(isinstance(f, _DropOperatorTracebacks) for f in logger.filters):
        logger.addFilter(_DropOperatorTracebacks())


def install_ipython_handler() -> bool:
    """Show operator errors as one line in the running IPython shell; False when not in IPython."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((Exception,), _show)
    return True

"""The instrument's own message as a failed run's reason.

When a device's Status fails, bluesky raises ``FailedStatus(status)`` into the plan, and
the RunEngine writes ``str()`` of that (the Status's repr) as the stop document's
``reason``. :func:`raise_status_cause` is a RunEngine preprocessor that re-raises the
exception the Status failed with (e.g. the driver's ``InstrumentError``), so the stop
document, the console and the CLI say what the instrument said.
"""

from __future__ import annotations


def raise_status_cause(plan):
    """Wrap ``plan`` so a ``FailedStatus`` surfaces as the error that failed the Status."""
    from bluesky.utils import FailedStatus

    try:
        return (yield from plan)
    except FailedStatus as failed:
        cause = status_cause(failed)
        if cause is None:
            raise
        raise cause from failed


def status_cause(failed: BaseException) -> BaseException | None:
    """The exception a failed Status holds (None if it holds none)."""
    status = failed.args[0] if failed.args else None
    exception = getattr(status, "exception", None)
    cause = exception() if callable(exception) else None
    if cause is None and isinstance(failed.__cause__, Exception):
        cause = failed.__cause__
    return cause if isinstance(cause, Exception) else None

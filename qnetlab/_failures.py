"""The instrument's own message as a failed run's reason.

When a device's Status fails, bluesky throws ``FailedStatus(status)`` into the plan, and
the plan's run wrapper closes the run with ``reason=str(error)``: the Status's repr, not
what went wrong. :func:`raise_status_cause` is a RunEngine preprocessor that watches the
exceptions thrown into the plan and, when the plan then closes its run with such a
reason, puts the message of the exception the Status failed with (e.g. the driver's
``InstrumentError``) in its place. The plan still sees ``FailedStatus`` as before.
"""

from __future__ import annotations


def raise_status_cause(plan):
    """Wrap ``plan``: a ``close_run`` whose reason is a failed Status's repr gets the Status's error."""
    from bluesky.utils import FailedStatus, Msg

    failures: dict[str, str] = {}  # str(FailedStatus) -> the cause's message
    response = None
    thrown: BaseException | None = None
    while True:
        try:
            msg = plan.throw(thrown) if thrown is not None else plan.send(response)
        except StopIteration as finished:
            return finished.value
        thrown = None
        if msg.command == "close_run" and msg.kwargs.get("reason") in failures:
            msg = Msg(
                msg.command, msg.obj, *msg.args, run=msg.run, **{**msg.kwargs, "reason": failures[msg.kwargs["reason"]]}
            )
        try:
            response = yield msg
        except FailedStatus as failed:
            cause = status_cause(failed)
            if cause is not None:
                failures[str(failed)] = str(cause)
            thrown = failed
        except GeneratorExit:
            plan.close()
            raise
        except BaseException as other:  # handed on to the plan unchanged
            thrown = other


def status_cause(failed: BaseException) -> BaseException | None:
    """The exception a failed Status holds (None if it holds none)."""
    status = failed.args[0] if failed.args else None
    exception = getattr(status, "exception", None)
    cause = exception() if callable(exception) else None
    if cause is None and isinstance(failed.__cause__, Exception):
        cause = failed.__cause__
    return cause if isinstance(cause, Exception) else None

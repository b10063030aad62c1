"""Ctrl-C and SIGTERM during a command-line run: abort the run cleanly.

In IPython the RunEngine's own SIGINT handler pauses and lets the user resume or abort.
A shell command has nobody to resume it, so :func:`aborting_on_signals` replaces that
handler for the duration of a run: SIGINT or SIGTERM asks the RunEngine (from a helper
thread, as bluesky's own handler does) to abort, which runs the plan's cleanup (a raw-tag
stream is stopped and every tag written is linked to the run) and writes a stop document
with exit_status ``abort``. The caller then exits with 128 + the signal number (130, 143).
A signal before the RunEngine runs exits at once through ``SystemExit``, closing the lab.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalAbort:
    """What :func:`aborting_on_signals` yields: the signal received, if any."""

    def __init__(self):
        self.signum: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum or 0)


@contextmanager
def aborting_on_signals(RE, writer=None):
    """Within the block, SIGINT/SIGTERM abort ``RE``'s run instead of pausing or killing it.

    ``writer`` (a :class:`qnetlab._run_liveness.CatalogWriter`) is told the reason, which
    bluesky leaves blank in the stop document of an aborted run.
    """
    received = SignalAbort()
    RE.context_managers = [c for c in RE.context_managers if c.__name__ != "SigintHandler"]

    def handle(signum, _frame):
        if received.signum is not None:
            return  # already aborting: let the cleanup finish
        received.signum = signum
        name = signal.Signals(signum).name
        if RE.state == "idle":
            raise SystemExit(received.exit_code)
        reason = f"{name} received: aborted from the command line"
        if writer is not None:
            writer.abort_reason = reason
        threading.Thread(target=_abort, args=(RE, reason), daemon=True).start()

    previous = {s: signal.signal(s, handle) for s in SIGNALS}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _abort(RE, reason: str) -> None:
    from bluesky._vendor.super_state_machine.errors import TransitionError  # what bluesky.utils re-exports

    try:
        RE.abort(reason=reason)
    except TransitionError:
        pass  # the run ended meanwhile

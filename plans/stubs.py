"""Plan stubs shared by qnetlab's plans."""

from __future__ import annotations

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Flyable, Readable
from bluesky.utils import MsgGenerator, short_uid


def record_transmitter(transmitter: Readable | None) -> MsgGenerator[None]:
    """One event in stream ``transmitter``: what Alice is sending (settings and pattern); nothing if None."""
    if transmitter is not None:
        yield from bps.trigger_and_read([transmitter], name="transmitter")


def collect_while_completing(flyer: Flyable, stream: str, flush_period_s: float) -> MsgGenerator[None]:
    """Complete ``flyer``, collecting it into ``stream`` every ``flush_period_s`` (s) until done.

    Like :func:`bluesky.plan_stubs.collect_while_completing`, with a checkpoint before each
    collect, so a deferred pause (Ctrl-C) takes effect during a long recording. A flyer
    with ``hold_until_linked``/``linked`` (the tagger) writes its file only after each
    collect has reached the catalog (the RunEngine emits a collect's documents to its
    subscribers before the plan goes on), so the file never runs ahead of the catalog.
    """
    group = short_uid("complete")
    hold, linked = getattr(flyer, "hold_until_linked", None), getattr(flyer, "linked", None)
    if hold is not None and linked is not None:
        hold()
    yield from bps.complete(flyer, wait=False, group=group)
    done = False
    while not done:
        yield from bps.checkpoint()
        done = yield from bps.wait(group=group, timeout=flush_period_s, error_on_timeout=False)
        yield from bps.collect(flyer, name=stream)
        if linked is not None:
            linked()


def stream_tags_linked(tagger, acquisition, stream: str, flush_period_s: float = 0.5) -> MsgGenerator[None]:
    """Prepare ``tagger`` for ``acquisition``, stream it into ``stream`` until it completes, collecting
    every ``flush_period_s`` (s); on abort or error stop it and link every tag written to the run."""
    yield from bps.prepare(tagger, acquisition, wait=True)
    started = []

    def acquire() -> MsgGenerator[None]:
        yield from bps.kickoff(tagger, wait=True)
        started.append(True)
        yield from collect_while_completing(tagger, stream, flush_period_s=flush_period_s)

    def link_what_was_written() -> MsgGenerator[None]:
        if started:
            yield from bps.stop(tagger)
            yield from bps.collect(tagger, name=stream)

    yield from bpp.finalize_wrapper(acquire(), link_what_was_written())

"""Record raw time tags for a while: the streaming (fly) mode of the time tagger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal
from pydantic import Field

from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.protocols import StreamingTagger
from qnetlab.plans.stubs import collect_while_completing, record_transmitter

STREAM = "timetags"


@plan_arguments
def record_tags(
    tagger: StreamingTagger,
    duration_s: Annotated[float, Field(gt=0, description="acquisition time (s); pauses do not count")],
    channels: Sequence[int] | None = None,
    *,
    live_analyses: Sequence[Any] = (),
    collect_every_s: Annotated[float, Field(gt=0, description="how often the catalog hears of new tags (s)")] = 0.5,
    transmitter: Readable | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Stream the tagger's raw tags into an HDF5 file linked from the run.

    Parameters
    ----------
    tagger : the time tagger, with a ``stream_directory`` (set by :func:`qnetlab.session.start`)
    duration_s : acquisition time (s), > 0; pauses do not count
    channels : inputs to record; all configured inputs if None
    live_analyses : objects with ``process(timestamps_ps, channels)`` fed while recording
        (e.g. :class:`qnetlab.analysis.timetags.CoincidenceCounter`)
    collect_every_s : how often the catalog is told how far the file has grown (s), > 0
    transmitter : Alice's laser device; if given, recorded in stream ``transmitter``
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages. Stream ``timetags`` holds the tags (external, in the HDF5 file);
    stream ``summary`` has one event with the tag count of each channel
    (``<tagger>_ch<N>_tags``), whether the tagger overflowed, its missed events and
    number of overflow intervals; stream ``overflows`` one event per interval
    (``<tagger>_overflow_begin_ps``, ``..._end_ps``; -1 where it lies outside the run).

    Returns
    -------
    The run uid.
    """
    chosen = chosen_channels("record_tags", tagger, channels)
    _md = {
        "plan_name": "record_tags",
        "plan_args": {"tagger": tagger.name, "duration_s": duration_s, "channels": chosen},
        **(md or {}),
    }
    started = []

    def acquire() -> MsgGenerator[None]:
        yield from bps.kickoff(tagger, wait=True)
        started.append(True)
        yield from collect_while_completing(tagger, STREAM, collect_every_s)

    def link_what_was_written() -> MsgGenerator[None]:
        # also on abort or error: stop the stream and point the run at every tag in the file
        if started:
            yield from bps.stop(tagger)
            yield from bps.collect(tagger, name=STREAM)

    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        yield from bps.prepare(tagger, TagAcquisition(duration_s, chosen, tuple(live_analyses)), wait=True)
        yield from record_transmitter(transmitter)
        yield from bps.declare_stream(tagger, name=STREAM, collect=True)
        yield from bpp.finalize_wrapper(acquire(), link_what_was_written())
        yield from bps.trigger_and_read(tagger.stream_summary(), name="summary")
        begin = Signal(name=f"{tagger.name}_overflow_begin_ps", value=-1)
        end = Signal(name=f"{tagger.name}_overflow_end_ps", value=-1)
        for first, last in tagger.stream_overflow_intervals_ps():  # one event each (-1: outside the run)
            begin.put(first)
            end.put(last)
            yield from bps.trigger_and_read(cast("list[Readable]", [begin, end]), name="overflows")

    uid = yield from inner()  # run_decorator makes the run's generator return its uid
    return cast("str", uid)

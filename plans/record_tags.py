"""Record raw time tags for a while: the streaming (fly) mode of the time tagger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from ophyd import Signal

from qnetlab.plans.count_rates import record_transmitter

STREAM = "timetags"


def record_tags(
    tagger,
    duration_s: float,
    channels: Sequence[int] | None = None,
    *,
    live_analyses: Sequence = (),
    collect_every_s: float = 0.5,
    transmitter=None,
    md: dict[str, Any] | None = None,
):
    """Stream the tagger's raw tags into an HDF5 file linked from the run.

    Parameters
    ----------
    tagger : a :class:`instruments.timetagger.TimeTagger` with a ``stream_directory``
    duration_s : acquisition time (s), > 0; pauses do not count
    channels : inputs to record; all configured inputs if None
    live_analyses : objects with ``process(timestamps_ps, channels)`` fed while recording
        (e.g. ``analysis.timetags.CoincidenceCounter``)
    collect_every_s : how often the catalog is told how far the file has grown (s)
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
    if not duration_s > 0:
        raise ValueError(f"record_tags: duration_s must be positive, got {duration_s!r}")
    if not collect_every_s > 0:
        raise ValueError(f"record_tags: collect_every_s must be positive, got {collect_every_s!r}")
    configured = sorted(tagger.inputs)
    chosen = sorted(int(c) for c in channels) if channels is not None else configured
    unknown = sorted(set(chosen) - set(configured))
    if unknown or not chosen:
        raise ValueError(f"record_tags: channels {unknown or chosen} are not inputs of {tagger.name} {configured}")
    tagger.live_analyses = tuple(live_analyses)
    _md = {
        "plan_name": "record_tags",
        "plan_args": {"tagger": tagger.name, "duration_s": duration_s, "channels": chosen},
        **(md or {}),
    }
    summary = [Signal(name=f"{tagger.name}_ch{c}_tags", value=0) for c in chosen]
    overflowed = Signal(name=f"{tagger.name}_overflowed", value=False)
    missed = Signal(name=f"{tagger.name}_missed_events", value=0)
    n_overflows = Signal(name=f"{tagger.name}_overflow_intervals", value=0)
    begin = Signal(name=f"{tagger.name}_overflow_begin_ps", value=-1)
    end = Signal(name=f"{tagger.name}_overflow_end_ps", value=-1)

    started = []

    def acquire():
        yield from bps.kickoff(tagger, wait=True)
        started.append(True)
        yield from bps.complete(tagger, wait=False, group="recording")
        while not tagger.streamer.done:
            yield from bps.checkpoint()
            yield from bps.wait(group="recording", timeout=collect_every_s, error_on_timeout=False)
            yield from bps.collect(tagger, name=STREAM)
        yield from bps.wait(group="recording")

    def link_what_was_written():
        # also on abort or error: stop the stream and point the run at every tag in the file
        if started:
            tagger.streamer.stop()
            yield from bps.collect(tagger, name=STREAM)

    @bpp.run_decorator(md=_md)
    def inner():
        yield from bps.mv(tagger.acquisition_time_s, float(duration_s), tagger.channels, tuple(chosen))
        yield from record_transmitter(transmitter)
        yield from bps.declare_stream(tagger, name=STREAM, collect=True)
        yield from bpp.finalize_wrapper(acquire(), link_what_was_written())
        for signal, channel in zip(summary, chosen, strict=False):
            signal.put(tagger.streamer.counts[channel])
        streamer = tagger.streamer
        overflowed.put(streamer.overflowed)
        missed.put(sum(streamer.missed_events.values()))
        n_overflows.put(len(streamer.overflow_intervals_ps))
        yield from bps.trigger_and_read([*summary, overflowed, missed, n_overflows], name="summary")
        for first, last in streamer.overflow_intervals_ps:  # one event per interval (-1: outside the run)
            begin.put(-1 if first is None else first)
            end.put(-1 if last is None else last)
            yield from bps.trigger_and_read([begin, end], name="overflows")

    uid = yield from inner()
    return uid

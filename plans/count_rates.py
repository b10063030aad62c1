"""Count-rate plan: per-channel detector rates from the time tagger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp


def count_rates(
    tagger,
    duration_s: float = 1.0,
    channels: Sequence[int] | None = None,
    *,
    num: int = 1,
    transmitter=None,
    md: dict[str, Any] | None = None,
):
    """Record the count rate of each tagger channel.

    Parameters
    ----------
    tagger : a :class:`instruments.timetagger.TimeTagger`
    duration_s : integration time of each reading (s), > 0
    channels : tagger inputs to read; all configured inputs if None
    num : number of readings, >= 1
    transmitter : Alice's laser device; if given, its settings and pattern are recorded
        in a ``transmitter`` stream at the start of the run
    md : extra start-document metadata

    Yields
    ------
    Bluesky messages; one event per reading with ``<tagger>_ch<N>_rate_hz`` (counts/s).

    Returns
    -------
    The run uid.
    """
    if not duration_s > 0:
        raise ValueError(f"count_rates: duration_s must be positive, got {duration_s!r}")
    if int(num) < 1:
        raise ValueError(f"count_rates: num must be at least 1, got {num!r}")
    configured = sorted(tagger.inputs)
    chosen = sorted(int(c) for c in channels) if channels is not None else configured
    unknown = sorted(set(chosen) - set(configured))
    if unknown or not chosen:
        raise ValueError(f"count_rates: channels {unknown or chosen} are not inputs of {tagger.name} {configured}")
    _md = {
        "plan_name": "count_rates",
        "plan_args": {"tagger": tagger.name, "duration_s": duration_s, "channels": chosen, "num": num},
        "detectors": [tagger.name],
        **(md or {}),
    }
    yield from bps.mv(tagger.acquisition_time_s, float(duration_s), tagger.channels, tuple(chosen))

    @bpp.stage_decorator([tagger])
    @bpp.run_decorator(md=_md)
    def inner():
        yield from record_transmitter(transmitter)
        for _ in range(int(num)):
            yield from bps.checkpoint()
            yield from bps.trigger_and_read([tagger])

    return (yield from inner())


def record_transmitter(transmitter):
    """One event in stream ``transmitter``: what Alice is sending (settings and pattern)."""
    if transmitter is not None:
        yield from bps.trigger_and_read([transmitter], name="transmitter")

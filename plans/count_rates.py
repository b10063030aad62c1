"""Count-rate plan: per-channel detector rates from the time tagger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from pydantic import Field

from qnetlab.instruments.timetagger import TagAcquisition
from qnetlab.plans._arguments import chosen_channels, plan_arguments
from qnetlab.plans.protocols import CountingTagger
from qnetlab.plans.stubs import record_transmitter


@plan_arguments
def count_rates(
    tagger: CountingTagger,
    duration_s: Annotated[float, Field(gt=0, description="integration time of each reading (s)")] = 1.0,
    channels: Sequence[int] | None = None,
    *,
    num: Annotated[int, Field(ge=1, description="number of readings")] = 1,
    transmitter: Readable | None = None,
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """Record the count rate of each tagger channel.

    Parameters
    ----------
    tagger : the time tagger (e.g. :class:`qnetlab.instruments.timetagger.TimeTagger`)
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
    chosen = chosen_channels("count_rates", tagger, channels)
    _md = {
        "plan_name": "count_rates",
        "plan_args": {"tagger": tagger.name, "duration_s": duration_s, "channels": chosen, "num": num},
        "detectors": [tagger.name],
        **(md or {}),
    }
    yield from bps.prepare(tagger, TagAcquisition(duration_s, chosen), wait=True)

    @bpp.stage_decorator([tagger])
    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        yield from record_transmitter(transmitter)
        for _ in range(num):
            yield from bps.checkpoint()
            yield from bps.trigger_and_read([tagger])

    uid = yield from inner()  # run_decorator makes the run's generator return its uid
    return cast("str", uid)

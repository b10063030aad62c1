"""Alice's sync output: the markers a tagger input records to know where the pattern starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, SyncDivider
from qnetlab.sim_backends.world.clock import slot_clock


@dataclass
class SyncOutput:
    """Alice's sync output: one marker per pattern repetition (or every ``divider`` pulses)."""

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    transmitter: str
    divider: SyncDivider = 1024

    def arrivals(self, world, start_ps: int, stop_ps: int, origin_ps: int = 0) -> np.ndarray:
        """Marker times in [start, stop) (world time), int64 ps since ``origin_ps``, exact."""
        source = world.transmitters[self.transmitter]
        every = source.active_pattern().size if source.pattern_on else self.divider
        clock = slot_clock(source.rep_rate_hz).scaled(every)
        first = clock.first_slot_at(start_ps)
        count = clock.first_slot_at(stop_ps) - first
        start_of_first = clock.time_ps(first) - origin_ps
        return start_of_first + clock.relative_times_ps(first, np.arange(count, dtype=np.int64))

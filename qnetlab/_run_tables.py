"""A recorded run's event stream as a pandas DataFrame a person can read.

The event time comes first, as the index (``time``, UTC datetimes; the epoch seconds are
not repeated as a column, which would only take a screen's width); the readings follow in
natural order (``tagger_ch2_rate_hz`` before ``tagger_ch10_rate_hz``), so the same plan
gives the same columns in the same order every time.
"""

from __future__ import annotations

import re
from typing import Any


class StreamNotFound(KeyError):
    """A run has no stream of that name; the message lists the streams it has."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def natural_key(name: str) -> list:
    """Sort key putting ``ch2`` before ``ch10``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def run_label(run: Any) -> str:
    """``run 1f3a9c2e (scan 12, count_rates)`` for messages."""
    start = run.metadata.get("start", {})
    return f"run {str(start.get('uid', '?'))[:8]} (scan {start.get('scan_id', '?')}, {start.get('plan_name', '?')})"


def stream_table(run: Any, stream: str = "primary"):
    """``run``'s ``stream`` as a DataFrame: indexed by event ``time`` (UTC datetimes), readings in natural order."""
    import pandas as pd

    streams = sorted(run)
    if stream not in streams:
        raise StreamNotFound(f"{run_label(run)} has no stream {stream!r}; its streams: {', '.join(streams) or 'none'}")
    frame = run[stream].read().to_dataframe()
    if "time" in frame.columns:
        frame = frame.set_index("time")
    frame = frame[sorted(frame.columns, key=natural_key)]
    if frame.index.name == "time":
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, unit="s", utc=True), name="time")
    return frame

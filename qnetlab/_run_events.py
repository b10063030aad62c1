"""The streams of the run a command has just run, kept from its documents as they pass.

The command line prints a run's results when the RunEngine returns; the catalog has
written every document by then (the stop document is acknowledged), so reading them back
would only cost a catalog round trip. :class:`RunEvents` is a RunEngine subscriber that
keeps the events of the newest run by stream and gives them as the DataFrame
:func:`qnetlab._run_tables.stream_table` would read (index ``time`` in UTC, readings in
natural order).
"""

from __future__ import annotations

from typing import Any

from qnetlab._run_tables import StreamNotFound, natural_key


class RunEvents:
    """Events of the newest run, by stream name (``primary``, ``summary``, ``results``...)."""

    def __init__(self) -> None:
        self.uid: str | None = None
        self._stream_of: dict[str, str] = {}  # descriptor uid -> stream name
        self._events: dict[str, list[tuple[float, dict[str, Any]]]] = {}

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start":
            self.uid, self._stream_of, self._events = doc["uid"], {}, {}
        elif name == "descriptor":
            self._stream_of[doc["uid"]] = doc.get("name", "primary")
            self._events.setdefault(self._stream_of[doc["uid"]], [])
        elif name == "event":
            self._add(doc)
        elif name == "event_page":
            from event_model import unpack_event_page

            for event in unpack_event_page(doc):  # pyright: ignore[reportArgumentType]
                self._add(event)

    def _add(self, event: dict) -> None:
        stream = self._stream_of.get(event["descriptor"])
        if stream is not None:
            self._events[stream].append((event["time"], dict(event["data"])))

    def columns(self, stream: str = "primary") -> dict[str, list]:
        """The newest run's ``stream`` as reading name -> values in event order."""
        rows = self._rows(stream)
        return {key: [data[key] for _, data in rows] for key in (rows[0][1] if rows else {})}

    def _rows(self, stream: str) -> list[tuple[float, dict[str, Any]]]:
        if stream not in self._events:
            names = ", ".join(sorted(self._events)) or "none"
            raise StreamNotFound(f"run {str(self.uid)[:8]} has no stream {stream!r}; its streams: {names}")
        return self._events[stream]

    def table(self, stream: str = "primary"):
        """The newest run's ``stream`` as a DataFrame; :class:`StreamNotFound` names the streams it has."""
        import pandas as pd

        rows = self._rows(stream)
        index = pd.DatetimeIndex(pd.to_datetime([t for t, _ in rows], unit="s", utc=True), name="time")
        frame = pd.DataFrame([data for _, data in rows], index=index)
        return frame[sorted(frame.columns, key=natural_key)]

"""Ophyd device of a time tagger (over :class:`qnetlab.drivers.swabian.SwabianTimeTagger`).

``prepare(TagAcquisition(duration_s, channels, live_analyses))`` (bluesky ``Preparable``)
sets what the next acquisition records; the chosen channels must be configured inputs.

Step mode: ``trigger()`` runs a count-rate acquisition of ``acquisition_time_s`` on
``channels`` in a worker thread; its status reports progress (for the RunEngine's
progress bar) and ``read()`` then gives one rate per channel, ``<name>_ch<N>_rate_hz``.

Streaming mode (Flyable, WritesStreamAssets): ``kickoff()`` starts recording raw tags of
``channels`` for ``acquisition_time_s`` into an HDF5 file under ``stream_directory``;
``collect_asset_docs()`` emits StreamResource/StreamDatum documents that point at the
file (data keys ``<name>_tag_delta_ps``, ``<name>_tag_channel``), ``complete()`` is done
when the time is up. ``pause``/``resume`` stop and restart the hardware stream into the
same file; ``stop`` ends it; every tag written so far is kept. ``stream_summary()``
gives the tag count per channel of the last stream and whether the tagger overflowed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ophyd import Component as Cpt
from ophyd import DeviceStatus, Signal

from qnetlab.instruments._device import DriverDevice

if TYPE_CHECKING:
    from qnetlab.instruments._tag_streaming import TagStreamer


@dataclass(frozen=True)
class TagAcquisition:
    """What :meth:`TimeTagger.prepare` sets up for the next trigger or kickoff.

    Parameters
    ----------
    duration_s : acquisition time (s), > 0
    channels : tagger inputs to acquire; all configured inputs if None
    live_analyses : objects with ``process(timestamps_ps, channels)``, fed while streaming
    """

    duration_s: float
    channels: Sequence[int] | None = None
    live_analyses: Sequence[Any] = ()


class AcquisitionStatus(DeviceStatus):
    """A DeviceStatus that reports how much of a timed acquisition has run (s)."""

    def __init__(self, device, duration_s: float, **kwargs):
        super().__init__(device, **kwargs)
        self.duration_s = duration_s
        self._started = time.monotonic()

    def report(self, elapsed_s: float) -> None:
        """Tell the watchers (e.g. the RunEngine's progress bar) how far the acquisition is (s)."""
        remaining = max(self.duration_s - elapsed_s, 0.0)
        for watcher in list(self._watchers):
            watcher(
                name=self.device.name,
                current=elapsed_s,
                initial=0.0,
                target=self.duration_s,
                unit="s",
                fraction=remaining / self.duration_s if self.duration_s else 0.0,
                time_elapsed=time.monotonic() - self._started,
            )


class TimeTagger(DriverDevice):
    """A time tagger measuring count rates.

    Parameters
    ----------
    driver : a connected tagger driver
    inputs : channel -> settings object with ``trigger_level_v``, ``delay_ps``, ``dead_time_ps``
    """

    acquisition_time_s = Cpt(Signal, value=1.0, kind="config")
    channels = Cpt(Signal, value=(), kind="config")
    overflows = Cpt(Signal, value=0, kind="normal")

    poll_s = 0.05

    def __init__(self, driver, *, name: str, inputs: dict | None = None, **kwargs):
        self.inputs = dict(inputs or {})
        super().__init__(driver, name=name, **kwargs)
        self.applied_inputs = {}
        for channel, wire in self.inputs.items():
            self.applied_inputs[channel] = {
                "trigger_level_v": driver.set_trigger_level(channel, wire.trigger_level_v),
                "delay_ps": driver.set_input_delay(channel, wire.delay_ps),
                "dead_time_ps": driver.set_dead_time(channel, wire.dead_time_ps),
            }
        self.channels.put(tuple(sorted(self.inputs)))
        self._rates: dict[int, float] = {}
        self._rates_time = time.time()
        self._measurement = None

    # --- Preparable ----------------------------------------------------------------------
    @property
    def input_channels(self) -> tuple[int, ...]:
        """The configured tagger inputs, in order."""
        return tuple(sorted(self.inputs))

    def prepare(self, value: TagAcquisition) -> DeviceStatus:
        """Bluesky ``Preparable``: set duration, channels and live analyses of the next acquisition.

        Raises ValueError (naming the tagger, the channels and its inputs) before anything
        is set if a channel is not a configured input or the duration is not positive.
        """
        chosen = tuple(sorted(int(c) for c in value.channels)) if value.channels is not None else self.input_channels
        unknown = sorted(set(chosen) - set(self.input_channels))
        if unknown or not chosen:
            inputs = list(self.input_channels)
            raise ValueError(f"{self.name}: channels {unknown or list(chosen)} are not inputs of {self.name} {inputs}")
        if not value.duration_s > 0:
            raise ValueError(f"{self.name}: acquisition_time_s must be positive, got {value.duration_s!r}")
        self.acquisition_time_s.put(float(value.duration_s))
        self.channels.put(chosen)
        self.live_analyses = tuple(value.live_analyses)
        status = DeviceStatus(self)
        status.set_finished()
        return status

    # --- acquisition ------------------------------------------------------------------
    def _duration_s(self) -> float:
        return float(self.acquisition_time_s.get())  # pyright: ignore[reportArgumentType]  # always set

    def _channels(self) -> list[int]:
        chosen: Any = self.channels.get()
        return [int(c) for c in chosen]

    def _rate_key(self, channel: int) -> str:
        return f"{self.name}_ch{channel}_rate_hz"

    def trigger(self) -> AcquisitionStatus:
        duration_s = self._duration_s()
        channels = self._channels()
        if duration_s <= 0:
            raise ValueError(f"{self.name}: acquisition_time_s must be positive, got {duration_s}")
        unknown = sorted(set(channels) - set(self.inputs)) if self.inputs else []
        if unknown or not channels:
            raise ValueError(f"{self.name}: channels {channels} are not all configured inputs {sorted(self.inputs)}")
        status = AcquisitionStatus(self, duration_s)
        threading.Thread(target=self._acquire, args=(status, channels, duration_s), daemon=True).start()
        return status

    def _acquire(self, status: AcquisitionStatus, channels: list[int], duration_s: float) -> None:
        try:
            measurement = self.driver.start_count_rates(channels, int(round(duration_s * 1e12)))
            self._measurement = measurement
            while measurement.isRunning():
                status.report(self.driver.progress(measurement))
                time.sleep(self.poll_s)
            self.driver.wait(measurement, timeout_s=10 + 2 * duration_s)
            status.report(self.driver.progress(measurement))
            self.driver.check_coverage(measurement, int(round(duration_s * 1e12)), "Countrate")
            rates = measurement.getData()
            self._rates = {c: float(r) for c, r in zip(channels, rates, strict=False)}
            self._rates_time = time.time()
            self.overflows.put(self.driver.overflows())
        except Exception as error:
            status.set_exception(error)
        else:
            status.set_finished()
        finally:
            self._measurement = None

    def stop(self, *, success: bool = False) -> None:
        """Stop any running acquisition; a stream's file keeps every tag written so far."""
        measurement = self._measurement
        if measurement is not None:
            measurement.stop()
        if self.streamer is not None:
            self.streamer.stop()
        super().stop(success=success)

    # --- Readable ---------------------------------------------------------------------
    def read(self):
        reading: Any = super().read()
        for channel in self._channels():
            reading[self._rate_key(channel)] = {
                "value": self._rates.get(channel, float("nan")),
                "timestamp": self._rates_time,
            }
        return reading

    def describe(self):
        description: Any = super().describe()
        for channel in self._channels():
            description[self._rate_key(channel)] = {
                "source": f"{self.name}:Countrate:ch{channel}",
                "dtype": "number",
                "shape": [],
                "units": "Hz",
            }
        return description

    @property
    def hints(self):
        return {"fields": [self._rate_key(c) for c in self._channels()]}

    def read_configuration(self):
        config: Any = super().read_configuration()
        now = time.time()
        for channel, applied in self.applied_inputs.items():
            for setting, value in applied.items():
                config[f"{self.name}_ch{channel}_{setting}"] = {"value": value, "timestamp": now}
        return config

    def describe_configuration(self):
        description: Any = super().describe_configuration()
        for channel, applied in self.applied_inputs.items():
            for setting, _value in applied.items():
                description[f"{self.name}_ch{channel}_{setting}"] = {
                    "source": f"{self.name}:input{channel}:{setting}",
                    "dtype": "number",
                    "shape": [],
                }
        return description

    # --- input settings after start-up ------------------------------------------------------
    def input_delay_ps(self, channel: int) -> int:
        """The delay (ps) input ``channel`` applies now."""
        if channel not in self.applied_inputs:
            raise KeyError(f"{self.name}: no input {channel}; inputs are {sorted(self.applied_inputs)}")
        return int(self.applied_inputs[channel]["delay_ps"])

    def set_input_delay(self, channel: int, delay_ps: int) -> DeviceStatus:
        """Set input ``channel``'s delay (ps) on the instrument; the value it applied is kept and recorded."""
        if channel not in self.applied_inputs:
            raise KeyError(f"{self.name}: no input {channel}; inputs are {sorted(self.applied_inputs)}")
        self.applied_inputs[channel]["delay_ps"] = self.driver.set_input_delay(channel, int(delay_ps))
        status = DeviceStatus(self)
        status.set_finished()
        return status

    # --- streaming: Flyable + WritesStreamAssets -------------------------------------------
    stream_directory: Path | None = None  # set by the session to <data dir>/timetags
    disk_reserve: Path | None = None  # set by the session: ballast freed if the disk fills while streaming
    live_analyses: tuple = ()  # objects with process(t, c), fed while streaming (set by prepare)

    @property
    def streamer(self) -> TagStreamer | None:
        """The current (or last) streaming acquisition, or None."""
        return getattr(self, "_streamer", None)

    def kickoff(self) -> DeviceStatus:
        from qnetlab.instruments._tag_streaming import TagStreamer

        if self.stream_directory is None:
            raise RuntimeError(f"{self.name}: no stream_directory for raw tags (start the lab through qnetlab.session)")
        duration_s = self._duration_s()
        channels = self._channels()
        if duration_s <= 0 or not channels or not set(channels) <= set(self.inputs):
            raise ValueError(
                f"{self.name}: cannot stream channels {channels} for {duration_s} s (inputs {sorted(self.inputs)})"
            )
        day = time.strftime("%Y/%m/%d")
        path = Path(self.stream_directory) / day / f"{self.name}-{uuid.uuid4().hex[:12]}.h5"
        self._streamer = TagStreamer(self.driver, channels, int(round(duration_s * 1e12)), path, self.live_analyses)
        self._streamer.disk_reserve = self.disk_reserve
        self._asset_bundles = None
        self._indices_emitted = 0
        self._stream_open = True  # asset documents flow from kickoff until all is announced
        self._streamer.start()
        status = DeviceStatus(self)
        status.set_finished()
        return status

    def complete(self) -> AcquisitionStatus:
        streamer = self.streamer
        if streamer is None:
            raise RuntimeError(f"{self.name}: complete() before kickoff()")
        status = AcquisitionStatus(self, streamer.duration_ps * 1e-12)

        def watch():
            while not streamer.wait(self.poll_s):
                status.report(streamer.acquired_ps * 1e-12)
            status.report(streamer.acquired_ps * 1e-12)
            if streamer.error is not None:
                status.set_exception(streamer.error)
                return
            try:
                self.overflows.put(self.driver.overflows())
            except Exception as error:  # e.g. the lab was closed meanwhile
                status.set_exception(error)
            else:
                status.set_finished()

        threading.Thread(target=watch, daemon=True).start()
        return status

    def _stream_keys(self) -> dict[str, str]:
        return {f"{self.name}_tag_delta_ps": "timestamps_delta", f"{self.name}_tag_channel": "channels"}

    def describe_collect(self):
        numpy_types = {"timestamps_delta": "<i8", "channels": "|i1"}
        return {
            key: {
                "source": f"{self.name}:TimeTagStream:{dataset}",
                "dtype": "integer",
                "dtype_numpy": numpy_types[dataset],
                "shape": [],
                "external": "STREAM:",
            }
            for key, dataset in self._stream_keys().items()
        }

    def get_index(self) -> int:
        return self.streamer.claim() if self.streamer is not None else 0

    def collect_asset_docs(self, index: int | None = None):
        from event_model import compose_stream_resource

        streamer = self.streamer
        if streamer is None or not getattr(self, "_stream_open", False):
            return  # the RunEngine also asks after every plain read()
        if self._asset_bundles is None:
            self._asset_bundles = [
                compose_stream_resource(
                    mimetype="application/x-hdf5",
                    uri=streamer.path.resolve().as_uri().replace("file:///", "file://localhost/"),
                    data_key=key,
                    parameters={"dataset": f"timetags/{dataset}", "chunk_shape": [65536], "swmr": True},
                )
                for key, dataset in self._stream_keys().items()
            ]
            for bundle in self._asset_bundles:
                yield "stream_resource", bundle.stream_resource_doc
        received = streamer.claim()
        stop = received if index is None else min(index, received)
        if stop > self._indices_emitted:
            for bundle in self._asset_bundles:
                yield (
                    "stream_datum",
                    bundle.compose_stream_datum(indices={"start": self._indices_emitted, "stop": stop}),
                )
            self._indices_emitted = stop
        if streamer.done and self._indices_emitted == streamer.n_received:
            self._stream_open = False

    def hold_until_linked(self) -> None:
        """Write the stream's tags to the file only once collected into the catalog (see
        :mod:`qnetlab.instruments._tag_streaming`): call before collecting periodically."""
        if self.streamer is not None:
            self.streamer.hold_until_linked()

    def linked(self) -> None:
        """The catalog now holds every StreamDatum collected so far (call after each collect)."""
        if self.streamer is not None:
            self.streamer.linked(self._indices_emitted)

    def stream_summary(self) -> list[Signal]:
        """Readables of the last stream: ``<name>_ch<N>_tags`` per channel and ``<name>_overflowed``."""
        streamer = self.streamer
        if streamer is None:
            raise RuntimeError(f"{self.name}: no stream has run yet")
        counts = [Signal(name=f"{self.name}_ch{c}_tags", value=streamer.counts[c]) for c in streamer.channels]
        return [
            *counts,
            Signal(name=f"{self.name}_overflowed", value=streamer.overflowed),
            Signal(name=f"{self.name}_missed_events", value=sum(streamer.missed_events.values())),
            Signal(name=f"{self.name}_overflow_intervals", value=len(streamer.overflow_intervals_ps)),
        ]

    def stream_overflow_intervals_ps(self) -> list[tuple[int, int]]:
        """``(begin_ps, end_ps)`` of each overflow interval of the last stream (-1 where the interval
        began before or ended after the stream)."""
        streamer = self.streamer
        if streamer is None:
            raise RuntimeError(f"{self.name}: no stream has run yet")
        return [(-1 if a is None else a, -1 if b is None else b) for a, b in streamer.overflow_intervals_ps]

    def pause(self) -> None:
        if self.streamer is not None and not self.streamer.done:
            self.streamer.pause()

    def resume(self) -> None:
        if self.streamer is not None and not self.streamer.done:
            self.streamer.start()

    def close(self) -> None:
        if self.streamer is not None:
            self.streamer.stop()
        super().close()

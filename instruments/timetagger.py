"""Ophyd device of a time tagger (over :class:`drivers.swabian.SwabianTimeTagger`).

``trigger()`` runs a count-rate acquisition of ``acquisition_time_s`` on ``channels``
in a worker thread; its status reports progress (for the RunEngine's progress bar) and
``read()`` then gives one rate per channel, ``<name>_ch<N>_rate_hz`` (counts/s).
"""

from __future__ import annotations

import threading
import time

from ophyd import Component as Cpt
from ophyd import Device, DeviceStatus, Signal


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


class TimeTagger(Device):
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
        self.driver = driver
        self.inputs = dict(inputs or {})
        super().__init__(name=name, **kwargs)
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

    # --- acquisition ------------------------------------------------------------------
    def _rate_key(self, channel: int) -> str:
        return f"{self.name}_ch{channel}_rate_hz"

    def trigger(self) -> AcquisitionStatus:
        duration_s = float(self.acquisition_time_s.get())
        channels = [int(c) for c in self.channels.get()]
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
            rates = measurement.getData()
            self._rates = {c: float(r) for c, r in zip(channels, rates)}
            self._rates_time = time.time()
            self.overflows.put(self.driver.overflows())
        except Exception as error:
            status.set_exception(error)
        else:
            status.set_finished()
        finally:
            self._measurement = None

    def stop(self, *, success: bool = False) -> None:
        measurement = self._measurement
        if measurement is not None:
            measurement.stop()
        super().stop(success=success)

    # --- Readable ---------------------------------------------------------------------
    def read(self):
        reading = super().read()
        for channel in self.channels.get():
            reading[self._rate_key(channel)] = {"value": self._rates.get(channel, float("nan")), "timestamp": self._rates_time}
        return reading

    def describe(self):
        description = super().describe()
        for channel in self.channels.get():
            description[self._rate_key(channel)] = {
                "source": f"{self.name}:Countrate:ch{channel}",
                "dtype": "number",
                "shape": [],
                "units": "Hz",
            }
        return description

    @property
    def hints(self):
        return {"fields": [self._rate_key(c) for c in self.channels.get()]}

    def read_configuration(self):
        config = super().read_configuration()
        now = time.time()
        for channel, applied in self.applied_inputs.items():
            for setting, value in applied.items():
                config[f"{self.name}_ch{channel}_{setting}"] = {"value": value, "timestamp": now}
        return config

    def describe_configuration(self):
        description = super().describe_configuration()
        for channel, applied in self.applied_inputs.items():
            for setting, value in applied.items():
                description[f"{self.name}_ch{channel}_{setting}"] = {
                    "source": f"{self.name}:input{channel}:{setting}",
                    "dtype": "number",
                    "shape": [],
                }
        return description

    def close(self) -> None:
        self.driver.close()

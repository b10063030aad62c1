"""One emulated Time Tagger: what ``createTimeTagger`` returns (input settings, overflows)
and the vendor constants the emulated SDK shares; its measurements are in
:mod:`.timetagger_measurements`, the SDK module object in :mod:`.timetagger_sdk`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qnetlab.sim_backends.world.optical_world import OpticalWorld

if TYPE_CHECKING:
    from qnetlab.sim_backends.emulators.timetagger_measurements import _Measurement

CHANNEL_UNUSED = -134217728
# Simulated time per acquisition step: the world's fixed cost per step (Python set-up,
# ~0.3 ms) is a fifth of a 10 ms step at ~7 MHz of tags and a twentieth of a 50 ms one.
# A stop request and the measurements' data see this granularity (2.5 ms of real time at
# the sim lab's time_scale of 20).
SLICE_PS = 50_000_000_000  # 50 ms
MIN_DEAD_TIME_PS = 2_000  # Time Tagger Ultra clock period
DEAD_TIME_STEP_PS = 1  # the Ultra accepts any dead time above its minimum
TRIGGER_RANGE_V = (-2.5, 2.5)
CHANNEL_EDGE_ALL, CHANNEL_EDGE_RISING, CHANNEL_EDGE_FALLING = 0, 1, 2  # vendor ChannelEdge values
TAG_TIME_TAG = 0  # vendor Tag.Type.TimeTag; markers carry 1-4


class EmulatedTimeTagger:
    """What ``createTimeTagger`` returns: the settings of one emulated tagger."""

    def __init__(self, world: OpticalWorld, serial: str, tagger: str):
        self._world = world
        self._serial = serial
        self._model = world.taggers[tagger]
        self._tagger_name = tagger
        self._measurements: list[_Measurement] = []

    def _channel(self, channel: int):
        """The input of a channel; a falling-edge channel ``-n`` shares input ``n``'s settings here."""
        try:
            return self._model.channels[abs(int(channel))]
        except (KeyError, ValueError, TypeError):
            raise RuntimeError(f"Invalid channel number {channel!r}") from None

    def getSerial(self) -> str:
        return self._serial

    def getModel(self) -> str:
        return "Time Tagger Ultra (emulated)"

    def getChannelList(self, type: int = CHANNEL_EDGE_ALL) -> list[int]:
        rising = sorted(self._model.channels)
        falling = [-c for c in rising]
        if type == CHANNEL_EDGE_RISING:
            return rising
        if type == CHANNEL_EDGE_FALLING:
            return falling
        return rising + falling

    def setTriggerLevel(self, channel: int, voltage: float) -> None:
        low, high = TRIGGER_RANGE_V
        self._channel(channel).trigger_level_v = float(min(max(voltage, low), high))

    def getTriggerLevel(self, channel: int) -> float:
        return self._channel(channel).trigger_level_v

    def setInputDelay(self, channel: int, delay: int) -> None:
        self._channel(channel).delay_ps = int(delay)

    def getInputDelay(self, channel: int) -> int:
        return self._channel(channel).delay_ps

    def setDeadtime(self, channel: int, deadtime: int) -> int:
        applied = max(int(deadtime), MIN_DEAD_TIME_PS)
        self._channel(channel).dead_time_ps = applied
        return applied

    def getDeadtime(self, channel: int) -> int:
        return self._channel(channel).dead_time_ps

    def getOverflows(self) -> int:
        return self._model.overflows

    def clearOverflows(self) -> None:
        self._model.overflows = 0

    def _advance(self, duration_ps: int, flush: bool) -> None:
        """Run the world for one slice and hand the tags to every running measurement."""
        timestamps, channels = self._world.acquire(duration_ps, self._tagger_name, flush=flush)
        markers = self._model.take_markers()
        for measurement in list(self._measurements):
            if measurement._running:
                measurement._process(timestamps, channels, duration_ps, markers)

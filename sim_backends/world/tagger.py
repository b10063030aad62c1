"""The time tagger of the simulated world: detector clicks in, int64 ps time tags out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from qnetlab.sim_backends.world.bounds import PARAMETERS_CONFIG, BufferTags, Jitter, PulseHeightV, RatePositive
from qnetlab.sim_backends.world.detectors import NEVER_PS

HOLDBACK_GUARD_PS = 2_000  # far beyond any jitter: tags this close to a slice end wait for the next
# Event types of the vendor's tag stream (Swabian ``Tag.Type``: TimeTag 0, Error 1,
# OverflowBegin 2, OverflowEnd 3, MissedEvents 4).
OVERFLOW_BEGIN, OVERFLOW_END, MISSED_EVENTS = 2, 3, 4
MAX_MISSED_PER_EVENT = 65_535  # the missed-events count is a uint16: large counts repeat the event


@dataclass
class TaggerChannelModel:
    """One tagger input wired to one detector (or to a marker output such as Alice's sync).

    Attributes
    ----------
    detector : name of the detector (or marker) whose output pulses feed this input
    delay_ps : input delay added to every tag (ps), as set by ``setInputDelay``
    dead_time_ps : the input's own dead time (ps), as set by ``setDeadtime``
    trigger_level_v : comparator threshold (V); pulses below it are not tagged
    last_tag_ps : state: time of the input's last tag (ps)

    The wiring and the three settings are the tagger instrument's (its config ``inputs``).
    """

    detector: str
    delay_ps: int = 0
    dead_time_ps: int = 2_000
    trigger_level_v: float = 0.5
    last_tag_ps: int = field(default=NEVER_PS, init=False, repr=False)


@dataclass
class TaggerModel:
    """A multi-channel time tagger.

    Attributes
    ----------
    channels : tagger input number -> channel model (wired from the tagger instrument's inputs)
    jitter_ps : rms timing jitter of each input (ps), 0..1 µs
    detector_pulse_v : amplitude of the detectors' output pulses (V), up to 10 V
    max_rate_hz : tag rate the link to the computer carries (drains the on-board buffer), up to 10 GHz
    buffer_tags : on-board buffer (tags); the vendor's default is 64 MTags
        (``setHardwareBufferSize``: 32 kTags to 512 MTags; Time Tagger 20: 8 MTags)
    overflow_resume_tags : buffer level at which overflow mode ends (0: when empty; the
        vendor does not document the level, this is an assumption)
    overflows : state: overflow intervals begun since the last clear (``getOverflows``)

    Overflow, as the vendor's SDK documents it (``Tag.Type``, ``Tag.missed_events``):
    tags enter the on-board buffer and leave it at ``max_rate_hz``. When a tag finds the
    buffer full the tagger enters overflow mode: an ``OverflowBegin`` marker, then no tag
    is time-stamped, only counted per channel, until the buffer has drained to
    ``overflow_resume_tags``; there ``MissedEvents`` markers (one per channel, each with
    at most 65535 missed events) and ``OverflowEnd``. The markers are kept in
    :attr:`markers` as ``(time_ps, type, channel, missed)`` (channel 0 for Begin/End)
    for the SDK to interleave with the tags. Over a long overload the kept rate is
    ``max_rate_hz`` (the buffer alternately fills and drains).
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    channels: dict[int, TaggerChannelModel] = field(default_factory=dict)
    jitter_ps: Jitter = 8.0
    detector_pulse_v: PulseHeightV = 1.0
    max_rate_hz: RatePositive = 6.5e7
    buffer_tags: BufferTags = 64 * 2**20
    overflow_resume_tags: int = 0
    overflows: int = field(default=0, init=False)
    markers: list[tuple[int, int, int, int]] = field(default_factory=list, init=False, repr=False)
    _held: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)
    _fill: float = field(default=0.0, init=False, repr=False)  # tags in the on-board buffer after the last one
    _fill_at_ps: int = field(default=0, init=False, repr=False)  # ... at this time
    _overflow_end_ps: int | None = field(default=None, init=False, repr=False)
    _missed: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    def take_markers(self) -> list[tuple[int, int, int, int]]:
        """The overflow markers made since the last call, in time order."""
        markers, self.markers = self.markers, []
        return markers

    def _transfer(self, timestamps: np.ndarray, channels: np.ndarray, horizon_ps: int):
        """Pass released tags (time-ordered, all before ``horizon_ps``) through the on-board buffer.

        Returns the tags that reach the computer; overflow state and markers are kept.
        """
        from qnetlab.sim_backends.world.kernels.buffer import fill_buffer

        rate_per_ps = self.max_rate_hz * 1e-12
        kept: list[tuple[np.ndarray, np.ndarray]] = []
        i, n = 0, timestamps.size
        while True:
            if self._overflow_end_ps is not None:
                end = self._overflow_end_ps
                j = i + int(np.searchsorted(timestamps[i:], end))
                lost = np.unique(channels[i:j], return_counts=True)
                for channel, count in zip(*lost, strict=True):
                    self._missed[int(channel)] = self._missed.get(int(channel), 0) + int(count)
                if end > horizon_ps:
                    break  # still overflowing when this stretch of the stream ends
                self._end_overflow(end)
                i = j
            if i >= n:
                break
            times = timestamps[i:]
            k, fill = fill_buffer(times, self._fill, self._fill_at_ps, rate_per_ps, float(self.buffer_tags))
            if k < 0:
                kept.append((times, channels[i:]))
                self._fill, self._fill_at_ps = float(fill), int(times[-1])
                break
            kept.append((times[:k], channels[i : i + k]))
            begin = int(times[k])
            self.overflows += 1
            self.markers.append((begin, OVERFLOW_BEGIN, 0, 0))
            drain_ps = (self.buffer_tags - self.overflow_resume_tags) / rate_per_ps
            self._overflow_end_ps = begin + max(1, int(np.ceil(drain_ps)))
            i += k
        if not kept:
            return timestamps[:0], channels[:0]
        if len(kept) == 1:
            return kept[0]
        return np.concatenate([t for t, _ in kept]), np.concatenate([c for _, c in kept])

    def _end_overflow(self, end_ps: int) -> None:
        for channel, missed in sorted(self._missed.items()):
            while missed > 0:
                part = min(missed, MAX_MISSED_PER_EVENT)
                self.markers.append((end_ps, MISSED_EVENTS, channel, part))
                missed -= part
        self.markers.append((end_ps, OVERFLOW_END, 0, 0))
        self._missed = {}
        self._overflow_end_ps = None
        self._fill, self._fill_at_ps = float(self.overflow_resume_tags), end_ps

    def _release(self, timestamps, channels, stop_ps: int, flush: bool):
        """Hold back the tags a later slice could precede; pass the rest through the buffer."""
        if not flush and timestamps.size:
            cutoff = stop_ps + min(c.delay_ps for c in self.channels.values()) - HOLDBACK_GUARD_PS
            split = int(np.searchsorted(timestamps, cutoff))
            self._held = (timestamps[split:].copy(), channels[split:].copy())
            timestamps, channels = timestamps[:split], channels[:split]
            horizon = cutoff
        else:
            horizon = max(stop_ps, int(timestamps[-1]) + 1 if timestamps.size else stop_ps)
        return self._transfer(timestamps, channels, horizon)

    def tag_events(
        self,
        events,
        more_events,
        enabled,
        names,
        dead,
        last,
        ap_p,
        ap_tau,
        start_ps,
        stop_ps,
        flush,
        state,
        pending=None,
    ):
        """The tag stream of one slice from two time-ordered event streams (jitter included).

        ``events`` and ``more_events`` are ``(times, sources)``; a source indexes ``names``
        (the detectors and markers wired to this tagger); events of sources not
        ``enabled`` (a latched detector) are dropped;
        the detector-side arrays (``dead``, ``last`` updated in place, afterpulse ``ap_p``,
        ``ap_tau``) are per source. One ordered pass applies them and this tagger's input
        delays and dead times (:func:`qnetlab.sim_backends.world.kernels.detect_and_tag.detect_and_tag`); then the
        hold-back and the on-board buffer (tags a later slice could still precede wait unless ``flush``).
        ``pending`` (per source, in/out) carries afterpulses due after the slice's last event.
        """
        from qnetlab.sim_backends.world.kernels.detect_and_tag import detect_and_tag
        from qnetlab.sim_backends.world.kernels.streams import restore_order_pairs

        key = (
            tuple(names),
            self.detector_pulse_v,
            *(
                (number, c.detector, c.trigger_level_v, c.delay_ps, c.dead_time_ps)
                for number, c in self.channels.items()
            ),
        )
        cached = getattr(self, "_wiring_cache", None)
        if cached is None or cached[0] != key:
            index = {name: i for i, name in enumerate(names)}
            wired: list[list[tuple[int, TaggerChannelModel]]] = [[] for _ in names]
            for number, channel in sorted(self.channels.items()):
                if 0.0 < channel.trigger_level_v < self.detector_pulse_v:  # else the comparator never fires
                    wired[index[channel.detector]].append((number, channel))
            flat = [pair for group in wired for pair in group]
            ch_ptr = np.zeros(len(names) + 1, np.int64)
            ch_ptr[1:] = np.cumsum([len(group) for group in wired])
            ch_number = np.array([number for number, _ in flat], np.int32)
            ch_delay = np.array([int(channel.delay_ps) for _, channel in flat], np.int64)
            ch_dead = np.array([int(channel.dead_time_ps) for _, channel in flat], np.int64)
            cached = (key, flat, ch_ptr, ch_number, ch_delay, ch_dead)
            self._wiring_cache = cached
        _, flat, ch_ptr, ch_number, ch_delay, ch_dead = cached
        ch_last = np.array([int(channel.last_tag_ps) for _, channel in flat], np.int64)
        held_t, held_c = self._held if self._held is not None else (np.empty(0, np.int64), np.empty(0, np.int32))
        self._held = None
        times, srcs = events
        times2, srcs2 = more_events
        timestamps, channels = detect_and_tag(
            times,
            srcs,
            dead,
            last,
            ap_p,
            ap_tau,
            stop_ps,
            ch_ptr,
            ch_number,
            ch_delay,
            ch_dead,
            ch_last,
            held_t,
            held_c,
            state,
            stop_ps - start_ps,
            times2,
            srcs2,
            enabled,
            pending,
        )
        for (_, channel), tag in zip(flat, ch_last, strict=False):
            channel.last_tag_ps = int(tag)
        if ch_delay.size and ch_delay.min() != ch_delay.max():
            spread = int(ch_delay.max() - ch_delay.min())
            if timestamps.size * spread < 64 * (stop_ps - start_ps):  # few tags pass each other
                restore_order_pairs(timestamps, channels)
            else:
                order = np.argsort(timestamps, kind="stable")
                timestamps, channels = timestamps[order], channels[order]
        return self._release(timestamps, channels, stop_ps, flush)

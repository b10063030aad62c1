"""The time tagger of the simulated world: detector clicks in, int64 ps time tags out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qnetlab.sim_backends.world.detectors import NEVER_PS

HOLDBACK_GUARD_PS = 2_000  # far beyond any jitter: tags this close to a slice end wait for the next


@dataclass
class TaggerChannelModel:
    """One tagger input wired to one detector (or to a marker output such as Alice's sync).

    Attributes
    ----------
    detector : name of the detector (or marker) whose output pulses feed this input
    delay_ps : input delay added to every tag (ps), as set by ``setInputDelay``
    dead_time_ps : the input's own dead time (ps), as set by ``setDeadtime``
    trigger_level_v : comparator threshold (V); pulses below it are not tagged
    """

    detector: str
    delay_ps: int = 0
    dead_time_ps: int = 2_000
    trigger_level_v: float = 0.5
    last_tag_ps: int = field(default=NEVER_PS, repr=False)


@dataclass
class TaggerModel:
    """A multi-channel time tagger.

    Attributes
    ----------
    channels : tagger input number -> channel model
    jitter_ps : rms timing jitter of each input (ps)
    detector_pulse_v : amplitude of the detectors' output pulses (V)
    max_rate_hz : sustained tag rate the link to the computer carries; above it, the
        rest of the slice is lost and an overflow is counted, as on real taggers
    overflows : overflow events since the last clear
    """

    channels: dict[int, TaggerChannelModel]
    jitter_ps: float = 8.0
    detector_pulse_v: float = 1.0
    max_rate_hz: float = 6.5e7
    overflows: int = 0
    _held: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def tag_events(
        self, events, more_events, enabled, names, dead, last, ap_p, ap_tau, start_ps, stop_ps, flush, state
    ):
        """The tag stream of one slice from two time-ordered event streams (jitter included).

        ``events`` and ``more_events`` are ``(times, sources)``; a source indexes ``names``
        (the detectors and markers wired to this tagger); events of sources not
        ``enabled`` (a latched detector) are dropped;
        the detector-side arrays (``dead``, ``last`` updated in place, afterpulse ``ap_p``,
        ``ap_tau``) are per source. One ordered pass applies them and this tagger's input
        delays and dead times (:func:`qnetlab.sim_backends.world.kernels.detect_and_tag.detect_and_tag`); then the
        overflow budget and the hold-back (tags a later slice could still precede wait unless ``flush``).
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
        budget = int(self.max_rate_hz * (stop_ps - start_ps) * 1e-12)
        if timestamps.size > budget:
            self.overflows += 1
            timestamps, channels = timestamps[:budget], channels[:budget]
        if not flush and timestamps.size:
            cutoff = stop_ps + min(c.delay_ps for c in self.channels.values()) - HOLDBACK_GUARD_PS
            split = int(np.searchsorted(timestamps, cutoff))
            self._held = (timestamps[split:].copy(), channels[split:].copy())
            timestamps, channels = timestamps[:split], channels[:split]
        return timestamps, channels

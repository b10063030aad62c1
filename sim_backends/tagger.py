"""The time tagger of the simulated world: detector clicks in, int64 ps time tags out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim_backends.detectors import NEVER_PS


@dataclass
class TaggerChannelModel:
    """One tagger input wired to one detector.

    Attributes
    ----------
    detector : name of the detector whose output pulses feed this input
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
    """

    channels: dict[int, TaggerChannelModel]
    jitter_ps: float = 8.0
    detector_pulse_v: float = 1.0

    def tag(
        self, rng: np.random.Generator, clicks: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Merge the detectors' clicks into one time-ordered tag stream.

        Returns ``(timestamps_ps int64, channels int32)`` sorted by time.
        """
        from sim_backends._kernels import apply_dead_time

        stamps, chans = [], []
        for number, channel in self.channels.items():
            times = clicks.get(channel.detector)
            if times is None or times.size == 0:
                continue
            if not 0.0 < channel.trigger_level_v < self.detector_pulse_v:
                continue  # comparator never crosses: the input sees nothing
            times = times + channel.delay_ps
            if self.jitter_ps > 0:
                times = times + np.rint(rng.normal(0.0, self.jitter_ps, size=times.size)).astype(np.int64)
                times.sort(kind="stable")
            keep = apply_dead_time(times, int(channel.dead_time_ps), int(channel.last_tag_ps))
            times = times[keep]
            if times.size:
                channel.last_tag_ps = int(times[-1])
            stamps.append(times)
            chans.append(np.full(times.size, number, dtype=np.int32))
        if not stamps:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        timestamps = np.concatenate(stamps)
        channels = np.concatenate(chans)
        order = np.argsort(timestamps, kind="stable")
        return timestamps[order], channels[order]

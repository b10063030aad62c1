"""Single-photon detectors of the simulated world."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NEVER_PS = -(2**62)  # "last click" before the world began


@dataclass
class DetectorModel:
    """A gated-free single-photon detector (SPAD or SNSPD, first slice).

    Attributes
    ----------
    efficiency : detection efficiency, 0..1
    dark_count_hz : dark count rate (Hz)
    dead_time_ps : non-paralyzable dead time after each registered click (ps)
    jitter_ps : rms timing jitter, Gaussian (ps)
    """

    efficiency: float = 0.2
    dark_count_hz: float = 100.0
    dead_time_ps: int = 50_000
    jitter_ps: float = 50.0
    last_click_ps: int = field(default=NEVER_PS, repr=False)

    def click_probability(self, mean_photons: float) -> float:
        """Probability that a coherent pulse of ``mean_photons`` fires the detector."""
        return float(-np.expm1(-self.efficiency * mean_photons))

    def clicks(
        self,
        rng: np.random.Generator,
        start_ps: int,
        stop_ps: int,
        period_ps: float,
        mean_photons: float,
    ) -> np.ndarray:
        """Registered click times (int64 ps, sorted) in ``[start_ps, stop_ps)``.

        Pulses arrive at ``k·period_ps``; each fires with probability
        1 − exp(−η·μ) independently (a split coherent state stays Poisson).
        Dark counts are a Poisson process. Jitter is added, then the dead time applied.
        """
        from sim_backends._kernels import apply_dead_time

        signal = _pulsed_clicks(rng, start_ps, stop_ps, period_ps, self.click_probability(mean_photons))
        n_dark = rng.poisson(self.dark_count_hz * (stop_ps - start_ps) * 1e-12)
        dark = rng.integers(start_ps, stop_ps, size=n_dark, dtype=np.int64)
        times = np.concatenate((signal, dark)) if n_dark else signal
        if self.jitter_ps > 0 and times.size:
            times = times + np.rint(rng.normal(0.0, self.jitter_ps, size=times.size)).astype(np.int64)
        times.sort(kind="stable")
        keep = apply_dead_time(times, int(self.dead_time_ps), int(self.last_click_ps))
        times = times[keep]
        if times.size:
            self.last_click_ps = int(times[-1])
        return times


def _pulsed_clicks(
    rng: np.random.Generator, start_ps: int, stop_ps: int, period_ps: float, p: float
) -> np.ndarray:
    """Times of the pulses in ``[start_ps, stop_ps)`` that fire with probability ``p`` each."""
    first = int(np.ceil(start_ps / period_ps))
    n_pulses = int(np.ceil(stop_ps / period_ps)) - first
    if p <= 0.0 or n_pulses <= 0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        index = np.arange(n_pulses, dtype=np.int64)
    else:
        chunks, filled = [], -1
        expected = n_pulses * p
        while filled < n_pulses:
            size = int(expected + 6 * np.sqrt(expected) + 16)
            gaps = rng.geometric(p, size=size)
            chunk = filled + np.cumsum(gaps)
            chunks.append(chunk)
            filled = int(chunk[-1])
            expected = max((n_pulses - filled) * p, 1.0)
        index = np.concatenate(chunks)
        index = index[index < n_pulses]
    return np.rint((first + index) * period_ps).astype(np.int64)

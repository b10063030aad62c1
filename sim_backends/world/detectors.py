"""Single-photon detectors of the simulated world.

Each model's parameters are declared once, here: their types, defaults and bounds
(:mod:`annotated_types`), which the lab config's ``world.detectors`` schema validates
directly (``instruments/world_config.py``). What changes while the world runs (the last
click, an SNSPD's latch) is state, ``init=False``; what an instrument sets (SNSPD bias,
SPAD efficiency and dead time) is an init field the config refuses, naming its owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from qnetlab.sim_backends.world.bounds import (
    PARAMETERS_CONFIG,
    AfterpulseDelayPs,
    DarkRate,
    DeadTimePs,
    Fraction,
    Jitter,
    NonNegative,
    Positive,
    RatePositive,
)

NEVER_PS = -(2**62)  # "last click" before the world began


@dataclass
class DetectorModel:
    """A free-running single-photon detector with fixed efficiency and dark counts.

    Each slice, the world's tagging pass asks every detector the same things, whatever its
    kind: :meth:`detection_efficiency` (the links' draws), :meth:`expose` then
    :meth:`registers_clicks` and :meth:`dark_rate_hz`, :meth:`afterpulsing`, and the
    attributes ``jitter_ps``, ``dead_time_ps`` and ``last_click_ps``. A new detector kind
    overrides what differs.

    Attributes
    ----------
    efficiency : detection efficiency, 0..1
    dark_count_hz : dark count rate (Hz)
    dead_time_ps : non-paralyzable dead time after each registered click (ps), 0..1 ms
    jitter_ps : rms timing jitter, Gaussian (ps), 0..1 µs
    last_click_ps : state: time of the last registered click (ps)

    Bounds and their reasons are in :mod:`qnetlab.sim_backends.world.bounds`.
    """

    __pydantic_config__: ClassVar[dict] = PARAMETERS_CONFIG

    efficiency: Fraction = 0.2
    dark_count_hz: DarkRate = 100.0
    dead_time_ps: DeadTimePs = 50_000
    jitter_ps: Jitter = 50.0
    last_click_ps: int = field(default=NEVER_PS, init=False, repr=False)

    def detection_efficiency(self) -> float:
        """Efficiency now (subclasses make it depend on their settings)."""
        return self.efficiency

    def dark_rate_hz(self) -> float:
        """Dark count rate now (Hz)."""
        return self.dark_count_hz

    def click_probability(self, mean_photons: float) -> float:
        """Probability that a coherent pulse of ``mean_photons`` fires the detector."""
        return float(-np.expm1(-self.detection_efficiency() * mean_photons))

    # --- what the world's tagging pass asks of every detector, once per slice --------------
    def expose(self, detected_rate_hz: float) -> None:
        """Take the slice's incident click rate (Hz); a detector that saturates reacts here."""

    def registers_clicks(self) -> bool:
        """Whether the detector registers clicks this slice (False: a latched SNSPD)."""
        return True

    def afterpulsing(self) -> tuple[float, float]:
        """(probability per registered click, mean delay after the dead time in ps) of afterpulses."""
        return 0.0, 1.0


@dataclass
class SnspdModel(DetectorModel):
    """A superconducting nanowire detector channel behind a bias-current source.

    Efficiency follows a sigmoid in bias current that saturates at ``efficiency``;
    dark counts rise exponentially toward the switching current. At or above
    ``switching_current_ua``, or when the detected photon rate exceeds
    ``latch_rate_hz``, the wire latches into the resistive state and clicks no more
    until its bias is brought below ``retrap_current_ua`` (a controller "reset").

    Attributes
    ----------
    bias_ua : bias current (µA); the bias controller's setting, 0 at power-on
    switching_current_ua : critical current at which the wire switches (µA)
    bias_mid_ua, bias_width_ua : centre and width of the efficiency sigmoid (µA)
    dark_floor_hz : background (blackbody) dark counts at any bias (Hz)
    dark_at_switching_hz : intrinsic dark counts at the switching current (Hz)
    dark_slope_ua : e-folding current of the intrinsic dark counts (µA)
    latch_rate_hz : detected-photon rate above which the channel latches (Hz)
    retrap_current_ua : bias below which a latched wire recovers (µA)
    latched : state: the wire is resistive and clicks no more
    """

    efficiency: Fraction = 0.85
    dark_count_hz: DarkRate = 0.0
    dead_time_ps: DeadTimePs = 40_000
    jitter_ps: Jitter = 20.0
    bias_ua: float = 0.0
    switching_current_ua: Positive = 12.0
    bias_mid_ua: Positive = 8.0
    bias_width_ua: Positive = 0.6
    dark_floor_hz: DarkRate = 20.0
    dark_at_switching_hz: DarkRate = 1.0e5
    dark_slope_ua: Positive = 0.35
    latch_rate_hz: RatePositive = 2.0e7
    retrap_current_ua: NonNegative = 2.0
    latched: bool = field(default=False, init=False)

    def set_bias(self, bias_ua: float) -> None:
        """Apply a bias current; switching latches, going below retrapping recovers."""
        self.bias_ua = float(bias_ua)
        if self.bias_ua < self.retrap_current_ua:
            self.latched = False
        elif self.bias_ua >= self.switching_current_ua:
            self.latched = True

    def detection_efficiency(self) -> float:
        if self.latched or self.bias_ua <= 0:
            return 0.0
        return self.efficiency / (1.0 + np.exp(-(self.bias_ua - self.bias_mid_ua) / self.bias_width_ua))

    def dark_rate_hz(self) -> float:
        if self.latched or self.bias_ua <= 0:
            return 0.0
        intrinsic = self.dark_at_switching_hz * np.exp((self.bias_ua - self.switching_current_ua) / self.dark_slope_ua)
        return self.dark_floor_hz + intrinsic

    def expose(self, detected_rate_hz: float) -> None:
        """Latch under too much light (called by the world with the incident click rate)."""
        if detected_rate_hz > self.latch_rate_hz and self.bias_ua > 0:
            self.latched = True

    def registers_clicks(self) -> bool:
        return not self.latched


@dataclass
class SpadModel(DetectorModel):
    """A free-running InGaAs/InP avalanche photodiode (ID Qube class).

    The efficiency is a setting (the excess bias); dark counts scale with it as
    ``dark_count_hz · (efficiency / 0.1) ** dark_exponent``. After each registered
    click, an afterpulse follows with probability ``afterpulse_probability``, at an
    exponentially distributed delay (mean ``afterpulse_tau_ps``, up to 10 ms: trap
    lifetimes are µs) after the dead time. ``efficiency`` and ``dead_time_ps`` are the SPAD
    instrument's settings (10 % and 10 µs at power-on).
    """

    efficiency: Fraction = 0.10
    dark_count_hz: DarkRate = 300.0
    dead_time_ps: DeadTimePs = 10_000_000
    jitter_ps: Jitter = 100.0
    dark_exponent: NonNegative = 2.0
    afterpulse_probability: Fraction = 0.0
    afterpulse_tau_ps: AfterpulseDelayPs = 2_000_000.0

    def dark_rate_hz(self) -> float:
        return self.dark_count_hz * (self.efficiency / 0.1) ** self.dark_exponent

    def afterpulsing(self) -> tuple[float, float]:
        return float(self.afterpulse_probability), float(self.afterpulse_tau_ps)

"""The world's exact clock: pulse slots and their times in integer picoseconds.

A pulse train's period is held as an exact rational, ``q + r/d`` ps (integers, 0 ≤ r < d),
so slot ``s`` leaves at ``round(s·period)`` ps computed in integers (round half up), exact at
any slot; float64 ``round(s * period)`` lost picoseconds after about 10 simulated hours.

The world's clock (``OpticalWorld.now_ps``) is a Python int and runs for centuries
(:data:`WORLD_CLOCK_LIMIT_PS`). What is int64 is a tagger's clock: tags are int64 ps
since that tagger's clock origin, and the kernels compute each slice relative to that
origin, so a tagger reads at most :data:`TAGGER_CLOCK_LIMIT_PS` (53 days, headroom left
below 2^62 for the passes' sentinels) past its origin; beyond, acquisition raises
:class:`ClockRangeError` instead of wrapping around.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

CLOCK_START_PS = 1_000_000_000  # 1 ms, a whole number of 80 MHz periods
TAGGER_CLOCK_LIMIT_PS = 2**62 - 2**50  # ~53.4 simulated days of tagger time
WORLD_CLOCK_LIMIT_PS = 10**22  # ~317 simulated years
PERIOD_DENOMINATOR_LIMIT = 2**20  # the period is exact to ~1e-6 ps of the asked-for rate
PS_PER_DAY = 86_400 * 10**12


class ClockRangeError(ValueError):
    """A time beyond what the world's clock or a tagger's int64 ps clock can hold."""


def check_world_time(now_ps: int) -> None:
    """Raise :class:`ClockRangeError` when the world's clock leaves [0, WORLD_CLOCK_LIMIT_PS)."""
    if not 0 <= now_ps < WORLD_CLOCK_LIMIT_PS:
        raise ClockRangeError(
            f"world clock: {now_ps} ps ({now_ps / PS_PER_DAY:.4g} days) is outside "
            f"[0, {WORLD_CLOCK_LIMIT_PS} ps) ({WORLD_CLOCK_LIMIT_PS / PS_PER_DAY / 365.25:.0f} years)"
        )


def check_tagger_time(tagger: str, start_ps: int, stop_ps: int) -> None:
    """Raise :class:`ClockRangeError` when tagger time [start, stop) leaves its int64 range."""
    if start_ps < 0 or stop_ps > TAGGER_CLOCK_LIMIT_PS:
        raise ClockRangeError(
            f"tagger {tagger!r}: its clock would read {stop_ps} ps ({stop_ps / PS_PER_DAY:.2f} days since its "
            f"origin), beyond the int64 ps range of its time tags ({TAGGER_CLOCK_LIMIT_PS / PS_PER_DAY:.1f} days); "
            "restart the tagger's clock (OpticalWorld.restart_tagger_clock)"
        )


class SlotClock(NamedTuple):
    """A pulse train's period, ``whole_ps + remainder / denominator`` ps, exactly."""

    whole_ps: int
    remainder: int
    denominator: int

    @classmethod
    def of_rate(cls, rep_rate_hz: float) -> SlotClock:
        """The period of ``rep_rate_hz`` as an exact rational (denominator ≤ 2^20)."""
        if not rep_rate_hz > 0:
            raise ValueError(f"repetition rate must be positive (got {rep_rate_hz} Hz)")
        period = (Fraction(10**12) / Fraction(rep_rate_hz)).limit_denominator(PERIOD_DENOMINATOR_LIMIT)
        whole, remainder = divmod(period.numerator, period.denominator)
        return cls(int(whole), int(remainder), int(period.denominator))

    def scaled(self, factor: int) -> SlotClock:
        """The clock of every ``factor``-th slot."""
        return self._of(Fraction(self.numerator * factor, self.denominator))

    @classmethod
    def _of(cls, period: Fraction) -> SlotClock:
        whole, remainder = divmod(period.numerator, period.denominator)
        return cls(int(whole), int(remainder), int(period.denominator))

    @property
    def numerator(self) -> int:
        return self.whole_ps * self.denominator + self.remainder

    def time_ps(self, slot: int) -> int:
        """``round(slot · period)`` in ps, exactly (ties up)."""
        return (2 * slot * self.numerator + self.denominator) // (2 * self.denominator)

    def first_slot_at(self, time_ps: int) -> int:
        """The first slot whose exact time ``slot · period`` is at or after ``time_ps``."""
        return -((-time_ps * self.denominator) // self.numerator)

    def phase(self, slot: int) -> int:
        """``(slot · remainder) mod denominator``: where slot's time falls between whole ps."""
        return (slot * self.remainder) % self.denominator

    def relative_times_ps(self, first_slot: int, k: np.ndarray) -> np.ndarray:
        """``time_ps(first_slot + k) − time_ps(first_slot)`` for int64 ``k`` ≥ 0, in int64 (exact)."""
        k = np.asarray(k, np.int64)
        q, r, d, b = self.whole_ps, self.remainder, self.denominator, self.phase(first_slot)
        t0_fraction = (2 * b + d) // (2 * d)
        return k * q + (k // d) * r + (2 * (b + (k % d) * r) + d) // (2 * d) - t0_fraction


_SLOT_CLOCKS: dict[float, SlotClock] = {}


def slot_clock(rep_rate_hz: float) -> SlotClock:
    """The exact period of a pulse train at ``rep_rate_hz`` (remembered per rate)."""
    clock = _SLOT_CLOCKS.get(rep_rate_hz)
    if clock is None:
        clock = _SLOT_CLOCKS[rep_rate_hz] = SlotClock.of_rate(rep_rate_hz)
    return clock

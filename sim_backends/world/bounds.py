"""Bounds of the world's parameters, declared once with the parameters (``annotated_types``).

The lab config validates the world models' dataclasses directly, so these constraints are
the config's too. Each bound states a range no real bench leaves; its reason is beside it.
``PARAMETERS_CONFIG`` is each model's ``__pydantic_config__``: a key the model does not
have, NaN and infinity are refused when a config is validated (a plain dict: nothing here
imports pydantic).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Gt, Interval, Le

# state fields (init=False, e.g. held-back tag arrays) are never read from a config, so any type is allowed there
PARAMETERS_CONFIG = {"extra": "forbid", "allow_inf_nan": False, "arbitrary_types_allowed": True}

Fraction = Annotated[float, Interval(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Ge(0.0)]
Positive = Annotated[float, Gt(0.0)]
DarkRate = Annotated[float, Interval(ge=0.0, le=1e7)]  # Hz; 10 MHz is a saturated SPAD
DeadTimePs = Annotated[int, Interval(ge=0, le=1_000_000_000)]  # ps; detectors recover in ns to µs, 1 ms is absurd
Jitter = Annotated[float, Interval(ge=0.0, le=1e6)]  # ps; 1 µs rms is no timing at all
RatePositive = Annotated[float, Gt(0.0), Le(1e10)]  # Hz; 10 GHz is beyond any source, link or tagger
AfterpulseDelayPs = Annotated[float, Gt(0.0), Le(1e10)]  # ps; trap lifetimes are µs, 10 ms is absurd
PulseHeightV = Annotated[float, Gt(0.0), Le(10.0)]  # V; detector outputs are below a few volts
BufferTags = Annotated[int, Interval(ge=32 * 2**10, le=512 * 2**20)]  # setHardwareBufferSize: 32 kTags..512 MTags
SyncDivider = Annotated[int, Interval(ge=1, le=2**24)]  # one marker per divider pulses
AttenuationDb = Annotated[float, Interval(ge=0.0, le=200.0)]  # dB; 200 dB leaves no photon in a year
TimeBinSeparationPs = Annotated[int, Interval(ge=1, le=1_000_000)]  # ps; an interferometer's delay, up to 1 µs
MountZeroDeg = Annotated[float, Interval(ge=-90.0, le=90.0)]  # deg; a plate's axis repeats every 180 deg

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
# for a model with a time constant where +inf means "never": every float field of such a model is bounded
# (a bound refuses NaN, and -inf or +inf where they are out of range); tests/sim_backends checks it
PARAMETERS_CONFIG_WITH_INF = {**PARAMETERS_CONFIG, "allow_inf_nan": True}

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
LengthKm = Annotated[float, Interval(ge=0.0, le=20_000.0)]  # km; half the Earth's circumference
LossDbPerKm = Annotated[float, Interval(ge=0.0, le=10.0)]  # dB/km; 10 is a bad multimode fiber
DriftTimeS = Annotated[float, Gt(0.0)]  # s; τ of a random walk, +inf (only with PARAMETERS_CONFIG_WITH_INF): no drift
PhaseRad = Annotated[float, Interval(ge=-6.283185307179586, le=6.283185307179586)]  # rad; a phase is mod 2π
PairRateHz = Annotated[float, Interval(ge=0.0, le=1e10)]  # Hz; 10 GHz is far beyond any SPDC source
DelayPs = Annotated[int, Interval(ge=-1_000_000_000, le=1_000_000_000)]  # ps; cable delays are ns to µs


def check_detector_roles(link: str, detectors: dict, roles: tuple[str, ...] | None, required: tuple[str, ...]) -> None:
    """Refuse a link's ``detectors`` (role -> detector) with a role it lacks or without one it needs."""
    unknown = sorted(set(detectors) - set(roles)) if roles is not None else []
    if unknown:
        raise ValueError(f"detectors: {unknown} are not roles of a {link!r} link; its roles are {list(roles or ())}")
    missing = [role for role in required if role not in detectors]
    if missing:
        raise ValueError(f"detectors: a {link!r} link needs the roles {list(required)}; {missing} not given")


MountZeroDeg = Annotated[float, Interval(ge=-90.0, le=90.0)]  # deg; a plate's axis repeats every 180 deg

"""What every instrument entry of a lab config has: sim flag, faults, address, timeout and
safety limits (:class:`InstrumentConfig`, the base of each kind's model in
:mod:`qnetlab.instruments.config`)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from qnetlab.instruments._strict import Finite, Strict


class Range(Strict):
    """A closed safe range for one setting, in the setting's units; either end may be omitted (not NaN or inf)."""

    min: Finite | None = None
    max: Finite | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SimFault(Strict):
    """A fault the instrument's emulator injects into the commands after start-up."""

    fault: Literal["timeout", "drop", "garble", "truncate"]
    count: Annotated[int, Field(ge=1, le=1000, description="times in a row (1..1000: a test needs a few)")] = 1


# A world object an instrument refers to: (name, world tables it may be in, key path in the entry,
# the world `kind`s it may have (None: any), whether the instrument drives it (at most one may)).
WorldReference = tuple[str, str, str, tuple[str, ...] | None, bool]


class InstrumentConfig(Strict):
    """Fields every instrument has.

    Class attributes of each kind: ``limited_settings`` (the numeric settable driver
    parameters a ``limits`` entry may name; a test checks them against the device's
    settable signals), ``role`` (what plans use it as by default, see
    :mod:`qnetlab.instruments.defaults`) and ``needs_address``.
    """

    sim: bool = False
    sim_faults: list[SimFault] = Field(default_factory=list, description="faults the twin injects (sim only)")
    address: str | None = Field(None, description="VISA resource or serial URL; not used when sim")
    timeout_s: Annotated[float, Field(gt=0.0, le=300.0)] = Field(
        2.0,
        description="reply timeout (s), 0 < t <= 300: a reply later than 5 min means a dead link, and moves "
        "add their own travel time to it",
    )
    limits: dict[str, Range] = Field(
        default_factory=dict, description="safe range per setting name (one of the kind's limited_settings)"
    )

    needs_address: ClassVar[bool] = True
    limited_settings: ClassVar[tuple[str, ...]] = ()
    role: ClassVar[str | None] = None

    @model_validator(mode="after")
    def _address_when_real(self):
        if not self.sim and not self.address and self.needs_address:
            raise ValueError("address is required when sim is false")
        return self

    @field_validator("limits")
    @classmethod
    def _limits_name_settings(cls, limits: dict[str, Range]) -> dict[str, Range]:
        unknown = sorted(set(limits) - set(cls.limited_settings))
        if unknown:
            valid = list(cls.limited_settings) or "none: this kind has no numeric setting to limit"
            raise ValueError(
                f"{unknown} are not settings of {cls.kind_name()}; the settings a limit may name are {valid}"
            )
        return limits

    def safe_limits(self) -> dict[str, tuple[float | None, float | None]]:
        """Setting name -> (min, max) in the setting's units, as devices check them before sending."""
        return {setting: (r.min, r.max) for setting, r in self.limits.items()}

    @classmethod
    def kind_name(cls) -> str:
        """The config ``kind`` of this model (its ``kind`` literal)."""
        field = cls.model_fields.get("kind")
        values = get_args(field.annotation) if field is not None else ()
        return str(values[0]) if values else cls.__name__

    def world_references(self) -> list[WorldReference]:
        """Each world object a simulated instrument drives or reads (see :data:`WorldReference`)."""
        return []

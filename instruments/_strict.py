"""The base of every config model (unknown keys refused, frozen, no NaN or infinity) and the
number types they share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ChannelNumber = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
PositiveOrInfinite = Annotated[float, Field(gt=0.0, allow_inf_nan=True)]
"""A time constant where infinity means "never" (no drift, no pacing); NaN is still refused."""


class Strict(BaseModel):
    """A config table: unknown keys refused, frozen, NaN and infinity refused unless a field allows them."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """Refuse a key this table does not have, naming the keys it does (a misspelling is a key refused)."""
        if isinstance(data, dict):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                raise ValueError(f"unknown key(s) {unknown}; the keys of this table are {sorted(cls.model_fields)}")
        return data

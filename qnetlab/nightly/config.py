"""The nightly config: which calibration steps run, with which devices and arguments, retries and dependencies.

.. code-block:: yaml

    drift_hours: 6.0            # simulated labs only: the world runs forward this long first
    steps:
      - name: polarization      # unique; what the summary, store and report call it
        plan: polarization_compensation   # a name in qnetlab.plans (or ``module:function``)
        devices: [laser, tagger, bob_pc]  # lab device names, passed positionally
        args: {max_qber: 0.015}           # keyword arguments of the plan
        retries: 1                        # extra attempts after a failed run (instrument error)
        depends_on: [tagger_delays]       # skipped, with the reason, unless these passed
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class NightlyConfigError(ValueError):
    """The nightly config is unreadable or invalid; the message names file, key and fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    """One calibration step of the job."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]
    plan: Annotated[str, Field(min_length=1)]
    devices: list[str] = Field(default_factory=list)
    args: dict[str, Any] = Field(default_factory=dict)
    retries: Annotated[int, Field(ge=0, le=5)] = 0
    depends_on: list[str] = Field(default_factory=list)


class NightlyConfig(_Strict):
    """The whole nightly config (see the module docstring)."""

    drift_hours: Annotated[float, Field(ge=0.0, le=24.0 * 30)] = 6.0
    steps: Annotated[list[Step], Field(min_length=1)]

    @model_validator(mode="after")
    def _dependencies_come_first(self):
        seen: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.name in seen:
                raise ValueError(f"steps.{index}.name: {step.name!r} is used twice")
            unknown = [d for d in step.depends_on if d not in seen]
            if unknown:
                raise ValueError(f"steps.{index} ({step.name}).depends_on: {unknown} is not a step listed before it")
            seen.add(step.name)
        return self


def load_nightly_config(path: str | Path) -> NightlyConfig:
    """Read and validate a nightly config; raise :class:`NightlyConfigError` naming file and key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise NightlyConfigError(f"{path}: no such nightly config") from None
    except yaml.YAMLError as error:
        raise NightlyConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise NightlyConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return NightlyConfig.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path}: {len(error.errors())} problem(s)"]
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            lines.append(f"  {where}: {problem['msg']}")
        raise NightlyConfigError("\n".join(lines)) from None

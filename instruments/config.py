"""The lab config file: a pydantic schema and a loader whose errors name file, key and fault.

A config has a ``name``, an ``instruments`` table (one entry per instrument: its
``kind``, ``sim`` flag, address and safety ``limits``) and, when any instrument is
simulated, a ``world`` table with the physics of the simulated bench.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class ConfigError(ValueError):
    """A lab config file is unreadable or invalid; the message names file, key path and fault."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    """A closed safe range for one setting; either end may be omitted."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class InstrumentConfig(Strict):
    """Fields every instrument has."""

    sim: bool = False
    address: str | None = Field(None, description="VISA resource or serial URL; not used when sim")
    timeout_s: Positive = 2.0
    limits: dict[str, Range] = Field(default_factory=dict, description="safe range per setting name")

    @model_validator(mode="after")
    def _address_when_real(self):
        if not self.sim and not self.address and self.needs_address:
            raise ValueError("address is required when sim is false")
        return self

    needs_address: ClassVar[bool] = True


class ScpiPulsedLaserConfig(InstrumentConfig):
    kind: Literal["scpi_pulsed_laser"]
    power_dbm: float | None = Field(None, description="power set at start-up (dBm)")
    output: bool | None = Field(None, description="emission state set at start-up")


class TaggerInputConfig(Strict):
    """One tagger input: which detector feeds it and how it is set up."""

    detector: str
    trigger_level_v: float = 0.5
    delay_ps: int = 0
    dead_time_ps: Annotated[int, Field(ge=0)] = 2_000


class SwabianTimeTaggerConfig(InstrumentConfig):
    kind: Literal["swabian_timetagger"]
    serial: str = ""
    inputs: dict[int, TaggerInputConfig]
    needs_address: ClassVar[bool] = False  # the SDK finds the tagger by serial


InstrumentEntry = Annotated[ScpiPulsedLaserConfig | SwabianTimeTaggerConfig, Field(discriminator="kind")]


class LaserPhysics(Strict):
    rep_rate_hz: Positive = 80e6
    power_dbm: float = -10.0
    wavelength_nm: Positive = 1550.0
    attenuation_db: NonNegative = 70.0
    output_on: bool = True


class FiberPhysics(Strict):
    length_km: NonNegative = 0.0
    loss_db_per_km: NonNegative = 0.2


class DetectorPhysics(Strict):
    efficiency: Fraction = 0.2
    dark_count_hz: NonNegative = 100.0
    dead_time_ps: Annotated[int, Field(ge=0)] = 50_000
    jitter_ps: NonNegative = 50.0


class TaggerPhysics(Strict):
    jitter_ps: NonNegative = 8.0
    detector_pulse_v: Positive = 1.0


class WorldConfig(Strict):
    """Physics of the simulated bench."""

    seed: int = 0
    time_scale: Positive = Field(float("inf"), description="simulated seconds per real second")
    laser: LaserPhysics = LaserPhysics()
    fiber: FiberPhysics = FiberPhysics()
    splitter: dict[str, Fraction] = Field(description="detector -> fraction of the fiber output")
    detectors: dict[str, DetectorPhysics]
    tagger: TaggerPhysics = TaggerPhysics()

    @model_validator(mode="after")
    def _consistent(self):
        unknown = sorted(set(self.splitter) - set(self.detectors))
        if unknown:
            raise ValueError(f"splitter names unknown detectors {unknown}")
        if sum(self.splitter.values()) > 1.0 + 1e-9:
            raise ValueError(f"splitter fractions sum to {sum(self.splitter.values()):g}, above 1")
        return self


class LabConfig(Strict):
    name: str
    instruments: dict[str, InstrumentEntry]
    world: WorldConfig | None = None

    @model_validator(mode="after")
    def _world_when_simulated(self):
        simulated = [n for n, i in self.instruments.items() if i.sim]
        if simulated and self.world is None:
            raise ValueError(f"instruments {simulated} are sim: true but the config has no world section")
        if self.world is not None:
            for name, entry in self.instruments.items():
                if isinstance(entry, SwabianTimeTaggerConfig) and entry.sim:
                    for channel, wire in entry.inputs.items():
                        if wire.detector not in self.world.detectors:
                            raise ValueError(
                                f"instruments.{name}.inputs.{channel}.detector: "
                                f"{wire.detector!r} is not a detector of the world"
                            )
        return self


def load_config(path: str | Path) -> LabConfig:
    """Read and validate a lab config file; raise :class:`ConfigError` naming file and key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return LabConfig.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path}: {len(error.errors())} problem(s)"]
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            lines.append(f"  {where}: {problem['msg']}")
        raise ConfigError("\n".join(lines)) from None

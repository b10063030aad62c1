"""The lab config file: the instrument entries, the whole-file schema and a loader whose errors
name file, key and fault.

A config has a ``name``, an ``instruments`` table (one entry per instrument: its
``kind``, ``sim`` flag, address, start-up settings and safety ``limits``) and, when any
instrument is simulated, a ``world`` table with the physics of the simulated bench
(schema in :mod:`qnetlab.instruments.world_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from qnetlab.instruments._strict import ChannelNumber, Positive, Strict
from qnetlab.instruments.defaults import LabDefaults
from qnetlab.instruments.world_config import WorldConfig


class ConfigError(ValueError):
    """A lab config file is unreadable or invalid; the message names file, key path and fault."""


class Range(Strict):
    """A closed safe range for one setting; either end may be omitted."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SimFault(Strict):
    """A fault the instrument's emulator injects into the commands after start-up."""

    fault: Literal["timeout", "drop", "garble", "truncate"]
    count: Annotated[int, Field(ge=1)] = 1


class InstrumentConfig(Strict):
    """Fields every instrument has."""

    sim: bool = False
    sim_faults: list[SimFault] = Field(default_factory=list, description="faults the twin injects (sim only)")
    address: str | None = Field(None, description="VISA resource or serial URL; not used when sim")
    timeout_s: Positive = 2.0
    limits: dict[str, Range] = Field(default_factory=dict, description="safe range per setting name")

    @model_validator(mode="after")
    def _address_when_real(self):
        if not self.sim and not self.address and self.needs_address:
            raise ValueError("address is required when sim is false")
        return self

    needs_address: ClassVar[bool] = True

    def safe_limits(self) -> dict[str, tuple[float | None, float | None]]:
        """Setting name -> (min, max) in the setting's units, as devices check them before sending."""
        return {setting: (r.min, r.max) for setting, r in self.limits.items()}

    def world_references(self) -> list[tuple[str, str, str]]:
        """(name, world table, key path) of each world object a simulated instrument drives."""
        refs = []
        actuator = getattr(self, "actuator", None)
        if isinstance(actuator, str):
            refs.append((actuator, "actuators", "actuator"))
        detector = getattr(self, "detector", None)
        if isinstance(detector, str):
            refs.append((detector, "detectors", "detector"))
        channels = getattr(self, "channels", None)
        if isinstance(channels, dict):
            refs += [(d, "detectors", f"channels.{c}") for c, d in channels.items() if isinstance(d, str)]
        return refs


class ScpiPulsedLaserConfig(InstrumentConfig):
    kind: Literal["scpi_pulsed_laser"]
    transmitter: str = Field("alice", description="world transmitter this laser is, when sim")

    def world_references(self):
        return [(self.transmitter, "transmitters", "transmitter")]

    power_dbm: float | None = Field(None, description="power set at start-up (dBm)")
    output: bool | None = Field(None, description="emission state set at start-up")


class TaggerInputConfig(Strict):
    """One tagger input: which detector feeds it and how it is set up."""

    detector: str
    trigger_level_v: float = 0.5
    delay_ps: int = 0
    dead_time_ps: Annotated[int, Field(ge=0)] = 2_000


class SwabianTimeTaggerConfig(InstrumentConfig):
    """A time tagger; when sim, the world tagger of the same name plays it."""

    kind: Literal["swabian_timetagger"]
    serial: str = ""
    inputs: dict[int, TaggerInputConfig]
    needs_address: ClassVar[bool] = False  # the SDK finds the tagger by serial

    def world_references(self):
        return [(wire.detector, "detectors|syncs", f"inputs.{number}.detector") for number, wire in self.inputs.items()]


class ThorlabsMdt693bConfig(InstrumentConfig):
    """A Thorlabs MDT693B/MDT694B piezo controller, one axis in use."""

    kind: Literal["thorlabs_mdt693b"]
    model: Literal["MDT693B", "MDT694B"] = "MDT693B"
    axis: Literal["x", "y", "z"] = "x"
    actuator: str | None = Field(None, description="world phase shifter on that axis; required when sim")
    voltage_v: float | None = Field(None, description="voltage set at start-up (V)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.sim and not self.actuator:
            raise ValueError("actuator (a phase shifter of the world) is required when sim is true")
        if self.model == "MDT694B" and self.axis != "x":
            raise ValueError(f"the MDT694B has only axis x, not {self.axis!r}")
        return self


class ScpiSnspdControllerConfig(InstrumentConfig):
    """An SNSPD bias controller (qnetlab's SCPI-style command set)."""

    kind: Literal["scpi_snspd_controller"]
    channels: dict[ChannelNumber, str] = Field(description="channel -> detector it biases (a world detector when sim)")
    bias_ua: dict[ChannelNumber, float] = Field(default_factory=dict, description="bias set at start-up (µA)")

    @model_validator(mode="after")
    def _known_channels(self):
        unknown = sorted(set(self.bias_ua) - set(self.channels))
        if unknown:
            raise ValueError(f"bias_ua names channels {unknown} that are not in channels {sorted(self.channels)}")
        return self


class ScpiFreeRunningSpadConfig(InstrumentConfig):
    """A free-running SPAD (qnetlab's SCPI-style command set)."""

    kind: Literal["scpi_free_running_spad"]
    detector: str | None = Field(None, description="world detector (a SPAD) it is; required when sim")
    efficiency: float | None = Field(None, description="efficiency setting at start-up (fraction)")
    dead_time_us: float | None = Field(None, description="dead time at start-up (µs)")

    @model_validator(mode="after")
    def _detector_when_sim(self):
        if self.sim and not self.detector:
            raise ValueError("detector (a SPAD of the world) is required when sim is true")
        return self


class ThorlabsMpc320Config(InstrumentConfig):
    """A Thorlabs MPC320 motorized polarization controller (APT over USB serial)."""

    kind: Literal["thorlabs_mpc320"]
    serial_number: str = Field(
        "", pattern=r"^\d*$", description="device serial number; checked when set, reported by the twin"
    )
    actuator: str | None = Field(None, description="name of the world's paddle controller this device turns (sim only)")
    velocity_pct: int | None = Field(
        None, ge=10, le=100, description="paddle velocity set at start-up (% of 400 deg/s)"
    )

    @model_validator(mode="after")
    def _actuator_when_sim(self):
        if self.sim and not self.actuator:
            raise ValueError("actuator (the world's paddle controller to turn) is required when sim is true")
        return self


class ThorlabsK10cr1Config(InstrumentConfig):
    """A Thorlabs K10CR1 rotation mount (APT over USB serial)."""

    kind: Literal["thorlabs_k10cr1"]
    serial_number: str = Field(
        "", pattern=r"^\d*$", description="device serial number; checked when set, reported by the twin"
    )
    actuator: str | None = Field(None, description="name of the world's waveplate this mount turns (sim only)")
    home_on_start: bool = Field(False, description="home the mount when the lab starts")

    @model_validator(mode="after")
    def _actuator_when_sim(self):
        if self.sim and not self.actuator:
            raise ValueError("actuator (the world's waveplate to turn) is required when sim is true")
        return self


InstrumentEntry = Annotated[
    ScpiPulsedLaserConfig
    | SwabianTimeTaggerConfig
    | ThorlabsMdt693bConfig
    | ScpiSnspdControllerConfig
    | ScpiFreeRunningSpadConfig
    | ThorlabsMpc320Config
    | ThorlabsK10cr1Config,
    Field(discriminator="kind"),
]


class LabConfig(Strict):
    name: str
    instruments: dict[str, InstrumentEntry]
    defaults: LabDefaults = Field(LabDefaults(), description="instrument of each role plans use")
    world: WorldConfig | None = None

    @model_validator(mode="after")
    def _world_when_simulated(self):
        simulated = [n for n, i in self.instruments.items() if i.sim]
        if simulated and self.world is None:
            raise ValueError(f"instruments {simulated} are sim: true but the config has no world section")
        if self.world is None:
            return self
        world = self.world
        problems = []
        for name, entry in self.instruments.items():
            if not entry.sim:
                continue
            if isinstance(entry, SwabianTimeTaggerConfig) and name not in world.taggers:
                problems.append(f"instruments.{name}: no world.taggers entry {name!r} to simulate it")
            for key, tables, label in entry.world_references():
                known = set().union(*(getattr(world, t) for t in tables.split("|")))
                if key not in known:
                    problems.append(f"instruments.{name}.{label}: {key!r} is not one of world.{tables} {sorted(known)}")
        if problems:
            raise ValueError("; ".join(problems))
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

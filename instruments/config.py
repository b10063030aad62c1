"""The lab config file: the instrument entries (one model per ``kind``), the whole-file schema
:class:`LabConfig` and :func:`load_config`, whose errors name file, key and fault.

A config has a ``name``, an ``instruments`` table (one entry per instrument: its
``kind``, ``sim`` flag, address, start-up settings and safety ``limits``; the fields every
kind has are in :mod:`qnetlab.instruments._entry_base`) and, when any instrument is
simulated, a ``world`` table with the physics of the simulated bench (schema in
:mod:`qnetlab.instruments.world_config`). Reading the file and wording its errors is
:mod:`qnetlab.instruments._config_file`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from qnetlab.instruments._config_file import ConfigError as ConfigError
from qnetlab.instruments._config_file import read_config
from qnetlab.instruments._entry_base import InstrumentConfig, WorldReference
from qnetlab.instruments._strict import ChannelNumber, Finite, Strict
from qnetlab.instruments.defaults import LabDefaults, resolve_defaults
from qnetlab.instruments.world_config import WorldConfig, world_kind


class ScpiPulsedLaserConfig(InstrumentConfig):
    kind: Literal["scpi_pulsed_laser"]
    transmitter: str = Field("alice", description="world transmitter this laser is, when sim")
    power_dbm: Finite | None = Field(None, description="power set at start-up (dBm)")
    output: bool | None = Field(None, description="emission state set at start-up")

    limited_settings: ClassVar[tuple[str, ...]] = ("power_dbm", "wavelength_nm")
    role: ClassVar[str | None] = "transmitter"

    def world_references(self) -> list[WorldReference]:
        return [(self.transmitter, "transmitters", "transmitter", None, True)]


TRIGGER_RANGE_V = (-2.5, 2.5)  # Time Tagger Ultra / X comparator range


class TaggerInputConfig(Strict):
    """One tagger input: which detector feeds it and how it is set up."""

    detector: str
    trigger_level_v: Annotated[float, Field(ge=TRIGGER_RANGE_V[0], le=TRIGGER_RANGE_V[1])] = Field(
        0.5, description="comparator level (V), within the Time Tagger's -2.5..2.5 V"
    )
    delay_ps: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] = Field(
        0, description="input delay (ps), |delay| <= 1 ms: cable and detector delays are ns to µs"
    )
    dead_time_ps: Annotated[int, Field(ge=0, le=1_000_000_000)] = Field(
        2_000, description="input dead time (ps), 0..1 ms: detector dead times are ns to tens of µs"
    )


class SwabianTimeTaggerConfig(InstrumentConfig):
    """A time tagger; when sim, the world tagger of the same name plays it."""

    kind: Literal["swabian_timetagger"]
    serial: str = ""
    input_count: Annotated[int, Field(ge=1, le=20)] = Field(
        16, description="inputs of this tagger model (Time Tagger 20: 8; Ultra: 4 to 18; X: up to 20)"
    )
    inputs: dict[int, TaggerInputConfig]
    needs_address: ClassVar[bool] = False  # the SDK finds the tagger by serial
    role: ClassVar[str | None] = "tagger"

    @model_validator(mode="after")
    def _inputs_exist_once(self):
        outside = sorted(n for n in self.inputs if not 1 <= n <= self.input_count)
        if outside:
            raise ValueError(
                f"inputs {outside} do not exist on a {self.input_count}-input tagger (1..{self.input_count})"
            )
        by_detector: dict[str, list[int]] = {}
        for number, wire in sorted(self.inputs.items()):
            by_detector.setdefault(wire.detector, []).append(number)
        shared = {d: n for d, n in by_detector.items() if len(n) > 1}
        if shared:
            raise ValueError(f"one detector cabled to several inputs: {shared}")
        return self

    def world_references(self) -> list[WorldReference]:
        return [
            (wire.detector, "detectors|syncs", f"inputs.{number}.detector", None, False)
            for number, wire in self.inputs.items()
        ]


class ThorlabsMdt693bConfig(InstrumentConfig):
    """A Thorlabs MDT693B/MDT694B piezo controller, one axis in use."""

    kind: Literal["thorlabs_mdt693b"]
    model: Literal["MDT693B", "MDT694B"] = "MDT693B"
    axis: Literal["x", "y", "z"] = "x"
    actuator: str | None = Field(None, description="world phase shifter on that axis; required when sim")
    voltage_v: Finite | None = Field(None, description="voltage set at start-up (V)")

    limited_settings: ClassVar[tuple[str, ...]] = ("voltage_v",)

    def world_references(self) -> list[WorldReference]:
        return [(self.actuator, "actuators", "actuator", ("phase_shifter",), True)] if self.actuator else []

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
    channel_count: Annotated[int, Field(ge=1, le=32)] = Field(
        8, description="bias channels the controller has (1..32; commercial racks hold 4 to 32)"
    )
    channels: dict[ChannelNumber, str] = Field(description="channel -> detector it biases (a world detector when sim)")
    bias_ua: dict[ChannelNumber, Finite] = Field(default_factory=dict, description="bias set at start-up (µA)")

    limited_settings: ClassVar[tuple[str, ...]] = ("bias_ua",)

    @model_validator(mode="after")
    def _known_channels(self):
        outside = sorted(c for c in self.channels if c > self.channel_count)
        if outside:
            raise ValueError(f"channels {outside} do not exist on a {self.channel_count}-channel controller")
        unknown = sorted(set(self.bias_ua) - set(self.channels))
        if unknown:
            raise ValueError(f"bias_ua names channels {unknown} that are not in channels {sorted(self.channels)}")
        by_detector: dict[str, list[int]] = {}
        for channel, detector in sorted(self.channels.items()):
            by_detector.setdefault(detector, []).append(channel)
        shared = {d: c for d, c in by_detector.items() if len(c) > 1}
        if shared:
            raise ValueError(f"one detector biased by several channels: {shared}")
        return self

    def world_references(self) -> list[WorldReference]:
        return [(d, "detectors", f"channels.{c}", ("snspd",), True) for c, d in self.channels.items()]


class ScpiFreeRunningSpadConfig(InstrumentConfig):
    """A free-running SPAD (qnetlab's SCPI-style command set)."""

    kind: Literal["scpi_free_running_spad"]
    detector: str | None = Field(None, description="world detector (a SPAD) it is; required when sim")
    efficiency: Finite | None = Field(None, description="efficiency setting at start-up (fraction)")
    dead_time_us: Finite | None = Field(None, description="dead time at start-up (µs)")

    limited_settings: ClassVar[tuple[str, ...]] = ("efficiency", "dead_time_us")

    def world_references(self) -> list[WorldReference]:
        return [(self.detector, "detectors", "detector", ("spad",), True)] if self.detector else []

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

    limited_settings: ClassVar[tuple[str, ...]] = ("paddle1_deg", "paddle2_deg", "paddle3_deg", "velocity_pct")

    def world_references(self) -> list[WorldReference]:
        return [(self.actuator, "actuators", "actuator", ("paddle_controller",), True)] if self.actuator else []

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
    zero_offset_deg: float = Field(
        0.0,
        ge=-90.0,
        le=90.0,
        description="calibrated zero: the mount reading at which its plate's fast axis is horizontal (deg; "
        "a plate's axis repeats every 180 deg, so ±90 holds every offset); plans set waveplates from it",
    )

    limited_settings: ClassVar[tuple[str, ...]] = ("angle_deg", "velocity_deg_s")

    def world_references(self) -> list[WorldReference]:
        return [(self.actuator, "actuators", "actuator", ("waveplate",), True)] if self.actuator else []

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
    def _defaults_name_instruments(self):
        resolve_defaults(self.defaults, {name: type(entry).role for name, entry in self.instruments.items()})
        return self

    @model_validator(mode="after")
    def _world_when_simulated(self):
        simulated = [n for n, i in self.instruments.items() if i.sim]
        if simulated and self.world is None:
            raise ValueError(f"instruments {simulated} are sim: true but the config has no world section")
        if self.world is None:
            return self
        problems = []
        driven_by: dict[tuple[str, str], str] = {}
        for name, entry in self.instruments.items():
            if not entry.sim:
                continue
            if isinstance(entry, SwabianTimeTaggerConfig) and name not in self.world.taggers:
                problems.append(f"instruments.{name}: no world.taggers entry {name!r} to simulate it")
            for key, tables, label, kinds, drives in entry.world_references():
                where = f"instruments.{name}.{label}"
                problem = _reference_problem(self.world, key, tables, kinds)
                if problem:
                    problems.append(f"{where}: {problem}")
                elif drives and (tables, key) in driven_by:
                    problems.append(f"{where}: world.{tables}.{key} is already driven by {driven_by[tables, key]}")
                elif drives:
                    driven_by[tables, key] = where
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _reference_problem(world: WorldConfig, key: str, tables: str, kinds: tuple[str, ...] | None) -> str | None:
    """Why ``key`` is not a fit world object of ``tables`` (``a|b``: either) and ``kinds``; None if it is."""
    found = {k: v for table in tables.split("|") for k, v in getattr(world, table).items()}
    if key not in found:
        return f"{key!r} is not one of world.{tables} {sorted(found)}"
    kind = world_kind(found[key])
    if kinds is not None and kind not in kinds:
        fits = sorted(k for k, v in found.items() if world_kind(v) in kinds)
        return f"world.{tables}.{key} is a {kind}, not a {' or '.join(kinds)}; those are {fits}"
    return None


def load_config(path: str | Path) -> LabConfig:
    """Read and validate a lab config file; raise :class:`ConfigError` naming file, key path and fault.

    Refused: a path that is not a readable regular file, YAML errors (with the line), a key
    given twice in one mapping (with both lines), and anything the schema refuses.
    """
    return read_config(path, LabConfig)

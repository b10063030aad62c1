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
ChannelNumber = Annotated[int, Field(ge=1)]
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


class TransmitterPhysics(Strict):
    """Alice's pulsed laser and modulators (mean photon number = power / (hν·f) · 10^(−att/10))."""

    rep_rate_hz: Positive = 80e6
    power_dbm: float = -10.0
    wavelength_nm: Positive = 1550.0
    attenuation_db: NonNegative = 70.0
    output_on: bool = True
    encoding: Literal["none", "polarization", "time_bin"] = "none"
    decoy_ratio: Fraction = 0.25
    vacuum_ratio: Fraction = 0.0
    time_bin_separation_ps: Annotated[int, Field(gt=0)] = 2_000


class FiberPhysics(Strict):
    length_km: NonNegative = 0.0
    loss_db_per_km: NonNegative = 0.2
    polarization_drift_time_s: Positive = Field(float("inf"), description="τ of the SU(2) random walk (s)")
    phase_drift_time_s: Positive = Field(float("inf"), description="τ of the phase random walk (s)")
    initial_rotation: Literal["identity", "random"] = "identity"


class SplitterLinkPhysics(Strict):
    kind: Literal["splitter"]
    transmitter: str
    fiber: str
    fractions: dict[str, Fraction] = Field(description="detector -> fraction of the fiber output")
    receiver_loss_db: NonNegative = 0.0

    @model_validator(mode="after")
    def _fractions(self):
        if sum(self.fractions.values()) > 1.0 + 1e-9:
            raise ValueError(f"fractions sum to {sum(self.fractions.values()):g}, above 1")
        return self

    def detector_names(self) -> list[str]:
        return list(self.fractions)


class PolarizationLinkPhysics(Strict):
    kind: Literal["polarization_bb84"]
    transmitter: str
    fiber: str
    controller: str | None = Field(None, description="paddle controller actuator in front of Bob's receiver")
    misalignment: Fraction = 0.01
    receiver_loss_db: NonNegative = 0.0
    detectors: dict[Literal["H", "V", "D", "A"], str]

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class TimeBinLinkPhysics(Strict):
    kind: Literal["time_bin_bb84"]
    transmitter: str
    fiber: str
    phase_shifter: str | None = None
    visibility: Fraction = 0.98
    phase_offset_rad: float = 0.0
    receiver_loss_db: NonNegative = 0.0
    detectors: dict[Literal["Z", "X0", "X1"], str]

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class AnalyzerPlates(Strict):
    qwp: str | None = None
    hwp: str | None = None


class PairLinkPhysics(Strict):
    kind: Literal["entangled_pairs"]
    pair_rate_hz: NonNegative
    visibility: Fraction = 0.95
    heralding_a: Fraction = 0.2
    heralding_b: Fraction = 0.2
    analyzers: dict[Literal["A", "B"], AnalyzerPlates] = Field(default_factory=dict)
    detectors: dict[Literal["A_T", "A_R", "B_T", "B_R"], str]
    delay_b_ps: int = 0

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


LinkPhysics = Annotated[
    SplitterLinkPhysics | PolarizationLinkPhysics | TimeBinLinkPhysics | PairLinkPhysics, Field(discriminator="kind")
]


class WaveplatePhysics(Strict):
    kind: Literal["waveplate"]
    retardance_waves: Positive = 0.5
    angle_deg: float = 0.0


class PaddleControllerPhysics(Strict):
    kind: Literal["paddle_controller"]
    retardances_waves: tuple[Positive, Positive, Positive] = (0.25, 0.5, 0.25)
    angles_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


class PhaseShifterPhysics(Strict):
    kind: Literal["phase_shifter"]
    v_2pi_v: Positive = 60.0
    voltage_v: float = 0.0
    voltage_range_v: tuple[float, float] = (0.0, 150.0)


ActuatorPhysics = Annotated[
    WaveplatePhysics | PaddleControllerPhysics | PhaseShifterPhysics, Field(discriminator="kind")
]


class DetectorPhysics(Strict):
    kind: Literal["generic"] = "generic"
    efficiency: Fraction = 0.2
    dark_count_hz: NonNegative = 100.0
    dead_time_ps: Annotated[int, Field(ge=0)] = 50_000
    jitter_ps: NonNegative = 50.0


class SnspdPhysics(Strict):
    kind: Literal["snspd"]
    efficiency: Fraction = 0.85
    dead_time_ps: Annotated[int, Field(ge=0)] = 40_000
    jitter_ps: NonNegative = 20.0
    bias_ua: NonNegative = 0.0
    switching_current_ua: Positive = 12.0
    bias_mid_ua: Positive = 8.0
    bias_width_ua: Positive = 0.6
    dark_floor_hz: NonNegative = 20.0
    dark_at_switching_hz: NonNegative = 1.0e5
    dark_slope_ua: Positive = 0.35
    latch_rate_hz: Positive = 2.0e7
    retrap_current_ua: NonNegative = 2.0


class SpadPhysics(Strict):
    kind: Literal["spad"]
    efficiency: Fraction = 0.10
    dark_count_hz: NonNegative = 300.0
    dead_time_ps: Annotated[int, Field(ge=0)] = 10_000_000
    jitter_ps: NonNegative = 100.0
    dark_exponent: NonNegative = 2.0
    afterpulse_probability: Fraction = 0.0
    afterpulse_tau_ps: Positive = 2_000_000.0


AnyDetectorPhysics = Annotated[DetectorPhysics | SnspdPhysics | SpadPhysics, Field(discriminator="kind")]


class TaggerPhysics(Strict):
    jitter_ps: NonNegative = 8.0
    detector_pulse_v: Positive = 1.0
    max_rate_hz: Positive = 6.5e7
    buffer_tags: Annotated[int, Field(gt=0)] = 64 * 2**20  # on-board buffer (vendor default 64 MTags)


class SyncPhysics(Strict):
    transmitter: str
    divider: Annotated[int, Field(gt=0)] = 1024


class WorldConfig(Strict):
    """Physics of the simulated bench (only used by ``sim: true`` instruments)."""

    seed: int = 0
    time_scale: Positive = Field(float("inf"), description="simulated seconds per real second")
    threads: Annotated[int, Field(ge=1, le=2)] = Field(
        1,
        description="threads for the busiest links' draws (2: the stream differs from one thread's for the same seed)",
    )
    transmitters: dict[str, TransmitterPhysics]
    fibers: dict[str, FiberPhysics]
    links: list[LinkPhysics]
    actuators: dict[str, ActuatorPhysics] = Field(default_factory=dict)
    detectors: dict[str, Annotated[DetectorPhysics | SnspdPhysics | SpadPhysics, Field(discriminator="kind")]]
    taggers: dict[str, TaggerPhysics]
    syncs: dict[str, SyncPhysics] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_detector_kind(cls, data):
        if isinstance(data, dict) and isinstance(data.get("detectors"), dict):
            data = dict(data)
            data["detectors"] = {
                k: ({"kind": "generic", **v} if isinstance(v, dict) and "kind" not in v else v)
                for k, v in data["detectors"].items()
            }
        return data

    @model_validator(mode="after")
    def _references(self):
        problems = []
        for index, link in enumerate(self.links):
            where = f"links.{index}"
            for attr, table in (("transmitter", self.transmitters), ("fiber", self.fibers)):
                ref = getattr(link, attr, None)
                if ref is not None and ref not in table:
                    problems.append(f"{where}.{attr}: {ref!r} is not one of {sorted(table)}")
            for ref in link.detector_names():
                if ref not in self.detectors:
                    problems.append(f"{where}: detector {ref!r} is not one of {sorted(self.detectors)}")
            plates = [getattr(link, "controller", None), getattr(link, "phase_shifter", None)]
            for side in getattr(link, "analyzers", {}).values():
                plates += [side.qwp, side.hwp]
            for ref in filter(None, plates):
                if ref not in self.actuators:
                    problems.append(f"{where}: actuator {ref!r} is not one of {sorted(self.actuators)}")
        for name, sync in self.syncs.items():
            if sync.transmitter not in self.transmitters:
                problems.append(f"syncs.{name}.transmitter: {sync.transmitter!r} is not a transmitter")
        if problems:
            raise ValueError("; ".join(problems))
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

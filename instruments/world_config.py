"""The ``world`` section of a lab config: the physics of the simulated bench.

Only physics that no instrument sets is here. What an instrument sets (SNSPD bias, SPAD
efficiency and dead time, tagger input delay, dead time and trigger level) is given once,
in that instrument's entry, and reaches the world through the driver as on the bench:
the twin starts in its power-on state, then the device applies the configured settings.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from qnetlab.instruments._strict import Fraction, NonNegative, Positive, PositiveOrInfinite, Strict
from qnetlab.sim_backends.world.actuators import PhaseShifter, Waveplate
from qnetlab.sim_backends.world.detectors import DetectorModel, SnspdModel, SpadModel
from qnetlab.sim_backends.world.links import SyncOutput
from qnetlab.sim_backends.world.tagger import TaggerModel
from qnetlab.sim_backends.world.transmitter import ENCODINGS, TransmitterModel

DarkRate = Annotated[float, Field(ge=0.0, le=1e7, description="dark count rate (Hz), <= 10 MHz (a saturated SPAD)")]
DetectorDeadTime = Annotated[
    int, Field(ge=0, le=1_000_000_000, description="dead time (ps), 0..1 ms: real detectors recover in ns to µs")
]
Jitter = Annotated[float, Field(ge=0.0, le=1e6, description="rms timing jitter (ps), <= 1 µs")]


def _refuse_instrument_settings(data, owned: dict[str, str]):
    """Point a setting given in the world to the instrument entry that owns it."""
    if isinstance(data, dict):
        for key, owner in owned.items():
            if key in data:
                raise ValueError(f"{key} is an instrument setting, not world physics: give it as {owner}")
    return data


class FiberPhysics(Strict):
    length_km: float = Field(0.0, ge=0.0, le=20_000.0, description="length (km), up to 20000 km")
    loss_db_per_km: float = Field(0.2, ge=0.0, le=10.0, description="loss (dB/km), up to 10 (a bad multimode fiber)")
    polarization_drift_time_s: PositiveOrInfinite = Field(
        float("inf"), description="τ of the SU(2) random walk (s); .inf: no drift"
    )
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
    eavesdropper: bool = Field(False, description="an intercept-resend eavesdropper on the fiber (QBER 1/4)")

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class TimeBinLinkPhysics(Strict):
    kind: Literal["time_bin_bb84"]
    transmitter: str
    fiber: str
    phase_shifter: str | None = None
    visibility: Fraction = 0.98
    phase_offset_rad: float = 0.0
    interferometer_drift_time_s: PositiveOrInfinite = Field(
        float("inf"), description="τ of the interferometers' phase random walk: √(dt/τ) rad over dt (s); .inf: no drift"
    )
    receiver_loss_db: NonNegative = 0.0
    detectors: dict[Literal["Z", "X0", "X1"], str]

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class AnalyzerPlates(Strict):
    qwp: str | None = None
    hwp: str | None = None


class PairLinkPhysics(Strict):
    kind: Literal["entangled_pairs"]
    pair_rate_hz: float = Field(
        ge=0.0, le=1e10, description="pair rate (Hz), up to 10 GHz (far beyond any SPDC source)"
    )
    visibility: Fraction = 0.95
    heralding_a: Fraction = 0.2
    heralding_b: Fraction = 0.2
    analyzers: dict[Literal["A", "B"], AnalyzerPlates] = Field(default_factory=dict)
    detectors: dict[Literal["A_T", "A_R", "B_T", "B_R"], str]
    delay_b_ps: int = Field(0, ge=-1_000_000_000, le=1_000_000_000, description="B's extra delay (ps), |d| <= 1 ms")

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


LinkPhysics = Annotated[
    SplitterLinkPhysics | PolarizationLinkPhysics | TimeBinLinkPhysics | PairLinkPhysics, Field(discriminator="kind")
]


class PaddleControllerPhysics(Strict):
    kind: Literal["paddle_controller"]
    retardances_waves: tuple[Positive, Positive, Positive] = (0.25, 0.5, 0.25)
    angles_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _world_entry(model: type, owned: dict[str, str], unused: dict[str, str] | None = None):
    """The before-validator of a world table validated as ``model`` (a world dataclass).

    It drops the ``kind`` tag, refuses an instrument's setting naming its owner
    (``owned``: key -> owner), a parameter the kind ignores (``unused``: key -> why), and
    an unknown key naming the keys the table has.
    """
    keys = sorted(f.name for f in dataclasses.fields(model) if f.init and f.name not in owned)

    def check(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k != "kind"}
        _refuse_instrument_settings(data, owned)
        for key, why in (unused or {}).items():
            if key in data:
                raise ValueError(f"{key} is not a parameter of this kind: {why}")
        unknown = [key for key in data if key not in keys]
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown}; the keys of this table are {sorted(set(keys) - set(unused or {}))}"
            )
        return data

    return BeforeValidator(check)


_SPAD = "the scpi_free_running_spad entry"
_generic_detector = _world_entry(DetectorModel, {})
_snspd = _world_entry(
    SnspdModel,
    {"bias_ua": "bias_ua of the scpi_snspd_controller entry (µA)"},
    {"dark_count_hz": "an SNSPD's dark counts are dark_floor_hz plus a rate rising toward the switching current"},
)
_spad = _world_entry(
    SpadModel, {"efficiency": f"efficiency of {_SPAD}", "dead_time_ps": f"dead_time_us of {_SPAD} (µs)"}
)
_LASER = "the scpi_pulsed_laser entry"
_transmitter = _world_entry(
    TransmitterModel, {"power_dbm": f"power_dbm of {_LASER} (dBm)", "output_on": f"output of {_LASER}"}
)


def _known_encoding(model: TransmitterModel) -> TransmitterModel:
    if model.encoding not in ENCODINGS:
        raise ValueError(f"encoding {model.encoding!r} is not one of {list(ENCODINGS)}")
    return model


_tagger = _world_entry(TaggerModel, {"channels": "inputs of the swabian_timetagger entry"})
_sync = _world_entry(SyncOutput, {})


_WORLD_KINDS = {
    DetectorModel: "generic",
    SnspdModel: "snspd",
    SpadModel: "spad",
    Waveplate: "waveplate",
    PhaseShifter: "phase_shifter",
}


def _detector_kind(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("kind", "generic"))
    return _WORLD_KINDS.get(type(data), "generic")


def world_kind(part: Any) -> str | None:
    """The config ``kind`` of a validated world object (a detector or an actuator), None for other tables."""
    if type(part) in _WORLD_KINDS:
        return _WORLD_KINDS[type(part)]
    return getattr(part, "kind", None)


AnyDetectorPhysics = Annotated[
    Annotated[DetectorModel, _generic_detector, Tag("generic")]
    | Annotated[SnspdModel, _snspd, Tag("snspd")]
    | Annotated[SpadModel, _spad, Tag("spad")],
    Discriminator(_detector_kind),
]
"""A world detector: its parameters (types, defaults, bounds) are the world model's own."""

_waveplate = _world_entry(Waveplate, {})
_phase_shifter = _world_entry(PhaseShifter, {"voltage_v": "voltage_v of the thorlabs_mdt693b entry (V)"})


def _actuator_kind(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("kind", ""))
    return world_kind(data) or ""


ActuatorPhysics = Annotated[
    Annotated[Waveplate, _waveplate, Tag("waveplate")]
    | Annotated[PaddleControllerPhysics, Tag("paddle_controller")]
    | Annotated[PhaseShifter, _phase_shifter, Tag("phase_shifter")],
    Discriminator(_actuator_kind),
]
"""A world actuator; a waveplate's and a phase shifter's parameters are the world model's own."""


class WorldConfig(Strict):
    """Physics of the simulated bench (only used by ``sim: true`` instruments)."""

    seed: int = Field(0, ge=0, lt=2**63, description="seed of the world's generator, 0 <= seed < 2^63")
    time_scale: PositiveOrInfinite = Field(
        float("inf"),
        ge=0.1,
        description="simulated seconds per real second, >= 0.1 (slower would make a 1 s run last over 10 s); "
        ".inf: unpaced",
    )
    threads: Annotated[int, Field(ge=1, le=2)] = Field(
        1,
        description="threads for the busiest links' draws (2: the stream differs from one thread's for the same seed)",
    )
    transmitters: dict[str, Annotated[TransmitterModel, _transmitter, AfterValidator(_known_encoding)]]
    fibers: dict[str, FiberPhysics]
    links: list[LinkPhysics]
    actuators: dict[str, ActuatorPhysics] = Field(default_factory=dict)
    detectors: dict[str, AnyDetectorPhysics]
    taggers: dict[str, Annotated[TaggerModel, _tagger]]
    syncs: dict[str, Annotated[SyncOutput, _sync]] = Field(default_factory=dict)

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

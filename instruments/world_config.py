"""The ``world`` section of a lab config: the physics of the simulated bench.

Only physics that no instrument sets is here. What an instrument sets (SNSPD bias, SPAD
efficiency and dead time, tagger input delay, dead time and trigger level, laser power,
piezo voltage) is given once, in that instrument's entry, and reaches the world through the
driver as on the bench: the twin starts in its power-on state, then the device applies the
configured settings. Each world table validates the world's own dataclasses
(``sim_backends/world/``: transmitters, fibers, links, actuators, detectors, taggers, syncs),
so their fields, defaults and bounds are declared once, there; the before-validators here
drop the ``kind`` tag and refuse an owned, state or unknown key naming where it belongs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from qnetlab.instruments._strict import PositiveOrInfinite, Strict
from qnetlab.sim_backends.world.actuators import PaddleController, PhaseShifter, Waveplate
from qnetlab.sim_backends.world.detectors import DetectorModel, SnspdModel, SpadModel
from qnetlab.sim_backends.world.fiber import FiberModel
from qnetlab.sim_backends.world.links import (
    LINK_KINDS,
    EntangledPairLink,
    PolarizationBB84Link,
    SplitterLink,
    SyncOutput,
    TimeBinBB84Link,
)
from qnetlab.sim_backends.world.tagger import TaggerModel
from qnetlab.sim_backends.world.transmitter import ENCODINGS, TransmitterModel


def _refuse_instrument_settings(data, owned: dict[str, str]):
    """Point a setting given in the world to the instrument entry that owns it."""
    if isinstance(data, dict):
        for key, owner in owned.items():
            if key in data:
                raise ValueError(f"{key} is an instrument setting, not world physics: give it as {owner}")
    return data


def _world_entry(
    model: type,
    owned: dict[str, str],
    unused: dict[str, str] | None = None,
    prepare: Callable[[dict], dict] | None = None,
):
    """The before-validator of a world table validated as ``model`` (a world dataclass).

    It drops the ``kind`` tag, refuses an instrument's setting naming its owner
    (``owned``: key -> owner), a parameter the kind ignores or that is state (``unused``:
    key -> why), and an unknown key naming the keys the table has; then ``prepare`` may
    put the file's form into the model's (a splitter's detectors from its fractions).
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
        return prepare(data) if prepare else data

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
_fiber = _world_entry(
    FiberModel,
    {},
    {"rotation": "it is the span's state (its Jones matrix now); initial_rotation (identity or random) sets its start"},
)


_WORLD_KINDS = {
    DetectorModel: "generic",
    SnspdModel: "snspd",
    SpadModel: "spad",
    Waveplate: "waveplate",
    PaddleController: "paddle_controller",
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
_paddle_controller = _world_entry(PaddleController, {})
_phase_shifter = _world_entry(PhaseShifter, {"voltage_v": "voltage_v of the thorlabs_mdt693b entry (V)"})


def _actuator_kind(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("kind", ""))
    return world_kind(data) or ""


ActuatorPhysics = Annotated[
    Annotated[Waveplate, _waveplate, Tag("waveplate")]
    | Annotated[PaddleController, _paddle_controller, Tag("paddle_controller")]
    | Annotated[PhaseShifter, _phase_shifter, Tag("phase_shifter")],
    Discriminator(_actuator_kind),
]
"""A world actuator: its parameters are the world model's own."""


def _splitter_detectors(data: dict) -> dict:
    """A splitter is written as its fractions by detector: each detector is its own role."""
    fractions = data.get("fractions")
    return {**data, "detectors": {name: name for name in fractions} if isinstance(fractions, dict) else {}}


def _known_link_kind(data: Any) -> Any:
    if isinstance(data, dict) and data.get("kind") not in LINK_KINDS:
        given = f"kind {data['kind']!r} is" if "kind" in data else "a link's kind is required: it is"
        raise ValueError(f"{given} not one of {sorted(LINK_KINDS)}")
    return data


def _link_kind(data: Any) -> str:
    return str(data.get("kind", "")) if isinstance(data, dict) else getattr(data, "kind", "")


_SPLITTER = _world_entry(
    SplitterLink,
    {},
    {"detectors": "a splitter's detectors are the keys of its fractions (detector -> fraction)"},
    _splitter_detectors,
)
AnyLink = Annotated[
    Annotated[SplitterLink, _SPLITTER, Tag("splitter")]
    | Annotated[PolarizationBB84Link, _world_entry(PolarizationBB84Link, {}), Tag("polarization_bb84")]
    | Annotated[TimeBinBB84Link, _world_entry(TimeBinBB84Link, {}), Tag("time_bin_bb84")]
    | Annotated[EntangledPairLink, _world_entry(EntangledPairLink, {}), Tag("entangled_pairs")],
    Discriminator(_link_kind),
    BeforeValidator(_known_link_kind),
]
"""A world link: its parameters are the world model's own (``sim_backends/world/links.py`` lists the kinds)."""


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
    fibers: dict[str, Annotated[FiberModel, _fiber]]
    links: list[AnyLink]
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
            for ref in link.detectors.values():
                if ref not in self.detectors:
                    problems.append(f"{where}: detector {ref!r} is not one of {sorted(self.detectors)}")
            plates = [getattr(link, "controller", None), getattr(link, "phase_shifter", None)]
            for side in getattr(link, "analyzers", {}).values():
                plates += list(side.values())
            for ref in filter(None, plates):
                if ref not in self.actuators:
                    problems.append(f"{where}: actuator {ref!r} is not one of {sorted(self.actuators)}")
        for name, sync in self.syncs.items():
            if sync.transmitter not in self.transmitters:
                problems.append(f"syncs.{name}.transmitter: {sync.transmitter!r} is not a transmitter")
        if problems:
            raise ValueError("; ".join(problems))
        return self

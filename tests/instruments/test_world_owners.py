"""One declaration per physics fact: the world's fibers, paddle controllers and links are the
world models themselves, validated by the config schema, so a default or a bound lives in
one place; a key given where the fact is not owned is refused naming where it belongs."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import annotated_types
import numpy as np
import pytest
import yaml

from qnetlab.instruments.config import ConfigError, load_config
from qnetlab.instruments.lab import build_world
from qnetlab.sim_backends.world import bb84_links, fiber, links, pair_link, pulsed_links
from qnetlab.sim_backends.world.actuators import PaddleController, waveplate_jones

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"
SPLITTER = {"kind": "splitter", "transmitter": "alice", "fiber": "tb_fiber", "fractions": {"tb_z": 0.4, "tb_x0": 0.5}}


def _load(tmp_path, mutate):
    raw = yaml.safe_load(SIM_LAB.read_text())
    mutate(raw["world"])
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def _refused(tmp_path, mutate, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, mutate)
    lines = str(refused.value).splitlines()[1:]
    assert any(re.search(where, line) and re.search(problem, line) for line in lines), lines


def test_every_world_table_holds_the_world_models_themselves():
    """No pydantic twin of a world model: each validated world object is a sim_backends dataclass."""
    world = load_config(SIM_LAB).world
    assert world is not None
    tables = [world.transmitters, world.fibers, world.actuators, world.detectors, world.taggers, world.syncs]
    parts = [part for table in tables for part in table.values()] + list(world.links)
    assert {type(part).__name__ for part in world.links} == {
        "PolarizationBB84Link",
        "TimeBinBB84Link",
        "EntangledPairLink",
    }
    for part in parts:
        assert dataclasses.is_dataclass(part), part
        assert type(part).__module__.startswith("qnetlab.sim_backends.world."), type(part)


def test_defaults_left_out_of_the_config_are_the_models_defaults(tmp_path):
    def bare(world):
        world["fibers"]["tb_fiber"] = {}
        world["actuators"]["bob_pc"] = {"kind": "paddle_controller"}
        world["links"][2] = {k: v for k, v in world["links"][2].items() if k not in ("visibility", "heralding_a")}

    world = _load(tmp_path, bare).world
    span, pc, pairs = world.fibers["tb_fiber"], world.actuators["bob_pc"], world.links[2]
    assert (span.length_km, span.loss_db_per_km, span.initial_rotation) == (0.0, 0.2, "identity")
    assert span.polarization_drift_time_s == float("inf")
    assert pc.retardances_waves == (0.25, 0.5, 0.25) and pc.angles_deg == (0.0, 0.0, 0.0)
    assert (pairs.visibility, pairs.heralding_a) == (0.95, 0.2)


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (
            lambda w: w["fibers"]["tb_fiber"].update(rotation=[[1, 0], [0, 1]]),
            r"world\.fibers\.tb_fiber: ",
            r"rotation is not a parameter .*state.*initial_rotation \(identity or random\) sets its start",
        ),
        (
            lambda w: w["fibers"]["tb_fiber"].update(initial_rotation="haar"),
            r"world\.fibers\.tb_fiber\.initial_rotation",
            r"'identity' or 'random'",
        ),
        (lambda w: w["fibers"]["tb_fiber"].update(length_km=float("inf")), r"tb_fiber\.length_km", r"less than"),
        (lambda w: w["fibers"]["tb_fiber"].update(loss_db_per_km=-0.1), r"tb_fiber\.loss_db_per_km", r"greater"),
        (
            lambda w: w["actuators"]["bob_pc"].update(paddles=[]),
            r"world\.actuators\.bob_pc: ",
            r"unknown key\(s\) \['paddles'\]; the keys of this table are \['angles_deg', 'retardances_waves'\]",
        ),
        (
            lambda w: w["actuators"]["bob_pc"].update(travel_deg=[0, 360]),
            r"world\.actuators\.bob_pc: ",
            r"unknown key\(s\) \['travel_deg'\]",
        ),
        (
            lambda w: w["actuators"]["bob_pc"].update(retardances_waves=[0.25, 0.0, 0.25]),
            r"world\.actuators\.bob_pc\.retardances_waves\.1",
            r"greater than 0",
        ),
        (
            lambda w: w["links"].append({**SPLITTER, "detectors": {"a": "tb_z"}}),
            r"world\.links\.3: ",
            r"detectors is not a parameter .*: a splitter's detectors are the keys of its fractions",
        ),
        (
            lambda w: w["links"].append({**SPLITTER, "fractions": {"tb_z": 0.7, "tb_x0": 0.5}}),
            r"world\.links\.3: ",
            r"fractions sum to 1\.2, above 1",
        ),
        (
            lambda w: w["links"][0]["detectors"].update(Q="pol_h"),
            r"world\.links\.0: ",
            r"detectors: \['Q'\] are not roles of a 'polarization_bb84' link; its roles are \['H', 'V', 'D', 'A'\]",
        ),
        (
            lambda w: w["links"][1]["detectors"].pop("X1"),
            r"world\.links\.1: ",
            r"a 'time_bin_bb84' link needs the roles \['Z', 'X0', 'X1'\]; \['X1'\] not given",
        ),
        (
            lambda w: w["links"][1].update(phase_offset_rad=float("nan")),
            r"world\.links\.1\.phase_offset_rad",
            r"(less|greater) than or equal to -?6\.28",
        ),
        (
            lambda w: w["links"][1].update(receiver_loss_db=float("inf")),
            r"world\.links\.1\.receiver_loss_db",
            r"less than or equal to 200",
        ),
        (
            lambda w: w["links"][1].update(interferometer_phase_rad=1.0),
            r"world\.links\.1: ",
            r"unknown key\(s\) \['interferometer_phase_rad'\]",
        ),
        (
            lambda w: w["links"][2]["analyzers"]["A"].update(qpw="ent_a_qwp"),
            r"world\.links\.2\.analyzers\.A\.qpw",
            r"'qwp' or 'hwp'",
        ),
        (lambda w: w["links"][0].pop("kind"), r"world\.links\.0: ", r"a link's kind is required: it is not one of"),
        (
            lambda w: w["links"][0].update(controller=None, receiver_loss_db=None),
            r"world\.links\.0\.receiver_loss_db",
            r"valid number",
        ),
    ],
    ids=[
        "fiber-rotation-is-state",
        "fiber-initial-rotation-unknown",
        "fiber-length-inf",
        "fiber-loss-negative",
        "paddles-are-state",
        "paddle-travel-is-the-hardware's",
        "paddle-retardance-zero",
        "splitter-detectors-from-fractions",
        "splitter-fractions-above-one",
        "polarization-role-unknown",
        "time-bin-role-missing",
        "time-bin-phase-offset-nan",
        "receiver-loss-inf",
        "interferometer-phase-is-state",
        "analyzer-plate-misspelt",
        "link-kind-missing",
        "null-controller-accepted-null-loss-not",
    ],
)
def test_a_fact_given_in_the_wrong_place_or_form_is_refused_naming_where_it_belongs(tmp_path, mutate, where, problem):
    _refused(tmp_path, mutate, where, problem)


def test_a_valid_splitter_time_bin_drift_and_paddle_angles_reach_the_world(tmp_path):
    def edit(world):
        world["links"].append(SPLITTER)
        world["links"][1]["interferometer_drift_time_s"] = float("inf")
        world["actuators"]["bob_pc"]["angles_deg"] = [10.0, 45.0, 80.0]

    config = _load(tmp_path, edit)
    assert config.world is not None
    world = build_world(config.world, {})
    splitter = world.links[3]
    assert isinstance(splitter, links.SplitterLink)
    assert splitter.detectors == {"tb_z": "tb_z", "tb_x0": "tb_x0"} and splitter.fractions["tb_x0"] == 0.5
    assert world.links[1].interferometer_drift_time_s == float("inf")
    pc = world.actuators["bob_pc"]
    expected = np.eye(2, dtype=complex)
    for retardance, angle in zip((0.25, 0.5, 0.25), (10.0, 45.0, 80.0), strict=True):
        expected = waveplate_jones(retardance, angle) @ expected
    np.testing.assert_allclose(pc.jones(), expected, atol=1e-12)


def test_each_lab_gets_its_own_world_state_in_its_power_on_state():
    """Two worlds of one config share no state: paddles, rotations and interferometer phases are their own."""
    config = load_config(SIM_LAB)
    assert config.world is not None
    first, second = build_world(config.world, {}), build_world(config.world, {})
    first.actuators["bob_pc"].paddles[1].angle_deg = 45.0
    first.links[1].interferometer_phase_rad = 1.0
    first.fibers["pol_fiber"].rotation = np.eye(2, dtype=complex)
    assert second.actuators["bob_pc"].paddles[1].angle_deg == 0.0
    assert config.world.actuators["bob_pc"].paddles[1].angle_deg == 0.0
    assert second.links[1].interferometer_phase_rad == 0.0
    # initial_rotation: random is drawn from the world's seed: the same for every lab of the config, not identity
    rotation = second.fibers["pol_fiber"].rotation
    np.testing.assert_allclose(rotation, build_world(config.world, {}).fibers["pol_fiber"].rotation)
    assert not np.allclose(rotation, np.eye(2))
    np.testing.assert_allclose(rotation @ rotation.conj().T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(second.fibers["tb_fiber"].rotation, np.eye(2))


def _float_fields_of(model) -> list[tuple[str, tuple]]:
    hints = typing.get_type_hints(model, include_extras=True)
    found = []
    for f in dataclasses.fields(model):
        hint = hints[f.name]
        base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
        if f.init and base is float:
            found.append((f.name, getattr(hint, "__metadata__", ())))
    return found


def test_models_that_allow_infinity_bound_every_float_so_nan_is_still_refused():
    """``PARAMETERS_CONFIG_WITH_INF`` lets ``.inf`` mean "no drift"; a bound on every float field refuses NaN."""
    modules = (fiber, pulsed_links, bb84_links, pair_link)
    models = [m for mod in modules for m in vars(mod).values() if dataclasses.is_dataclass(m) and isinstance(m, type)]
    with_inf = [m for m in models if getattr(m, "__pydantic_config__", {}).get("allow_inf_nan")]
    assert {m.__name__ for m in with_inf} == {"FiberModel", "TimeBinBB84Link"}
    bounds = (annotated_types.Gt, annotated_types.Ge, annotated_types.Lt, annotated_types.Le, annotated_types.Interval)
    for model in with_inf:
        floats = _float_fields_of(model)
        assert floats, model
        for name, metadata in floats:
            assert any(isinstance(m, bounds) for m in metadata), f"{model.__name__}.{name} has no bound"


def test_a_link_built_in_code_is_checked_as_the_config_is():
    with pytest.raises(ValueError, match=r"fractions name \['a'\], the detectors \['a', 'b'\]"):
        links.SplitterLink("alice", "fiber", {"a": "a", "b": "b"}, fractions={"a": 1.0})
    with pytest.raises(ValueError, match=r"needs the roles \['Z', 'X0', 'X1'\]"):
        links.TimeBinBB84Link("alice", "fiber", {"Z": "z"})
    with pytest.raises(ValueError, match=r"\['C_T'\] are not roles of a 'entangled_pairs' link"):
        links.EntangledPairLink(pair_rate_hz=1.0, detectors={"C_T": "c"})
    assert PaddleController(angles_deg=(1.0, 2.0, 3.0)).paddles[2].angle_deg == 3.0

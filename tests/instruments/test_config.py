"""Bad lab configs get an error that names the file, the key path and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qnetlab.instruments.config import ConfigError, load_config

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


def _write(tmp_path, mutate):
    raw = yaml.safe_load(SIM_LAB.read_text())
    mutate(raw)
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_shipped_sim_lab_is_valid():
    config = load_config(SIM_LAB)
    assert config.instruments["laser"].sim and config.world is not None


def test_unknown_instrument_kind(tmp_path):
    path = _write(tmp_path, lambda c: c["instruments"]["laser"].update(kind="flux_capacitor"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text and "instruments.laser" in text and "flux_capacitor" in text


def test_missing_address_of_a_real_instrument(tmp_path):
    path = _write(tmp_path, lambda c: c["instruments"]["laser"].update(sim=False))
    with pytest.raises(ConfigError, match=r"instruments\.laser.*address is required when sim is false"):
        load_config(path)


def test_value_out_of_range(tmp_path):
    path = _write(tmp_path, lambda c: c["world"]["detectors"]["pol_h"].update(efficiency=1.7))
    with pytest.raises(
        ConfigError, match=r"world\.detectors\.pol_h\.efficiency: Input should be less than or equal to 1"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("detector", "key", "owner"),
    [
        ("pol_h", "bias_ua", "bias_ua of the scpi_snspd_controller entry"),
        ("ent_a_t", "efficiency", "efficiency of the scpi_free_running_spad entry"),
        ("ent_a_t", "dead_time_ps", "dead_time_us of the scpi_free_running_spad entry"),
    ],
)
def test_instrument_settings_in_the_world_are_refused_naming_their_owner(tmp_path, detector, key, owner):
    path = _write(tmp_path, lambda c: c["world"]["detectors"][detector].update({key: 1.0}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert f"world.detectors.{detector}" in text and f"{key} is an instrument setting" in text and owner in text


def test_world_starts_in_its_power_on_state_and_the_instruments_set_it(sim_lab):
    """build_world leaves what instruments own at the twin's power-on value; load_lab's devices set it."""
    from qnetlab.instruments.lab import build_world

    config = load_config(SIM_LAB)
    taggers = {name: e for name, e in config.instruments.items() if e.kind == "swabian_timetagger"}
    cold = build_world(config.world, taggers)
    assert cold.detectors["pol_h"].bias_ua == 0.0
    assert (cold.detectors["ent_a_t"].efficiency, cold.detectors["ent_a_t"].dead_time_ps) == (0.10, 10_000_000)
    assert cold.taggers["tagger"].channels[2].dead_time_ps == 2_000  # the model's power-on value

    world = sim_lab.world  # after the devices applied the config through their drivers
    snspd, spad, tagger = (config.instruments[n] for n in ("snspd", "spad_a_t", "tagger"))
    assert world.detectors["pol_h"].bias_ua == snspd.bias_ua[1] == 10.0
    assert world.detectors["ent_a_t"].efficiency == spad.efficiency == 0.20
    assert world.detectors["ent_a_t"].dead_time_ps == round(spad.dead_time_us * 1e6) == 2_000_000
    for number, wire in tagger.inputs.items():
        channel = world.taggers["tagger"].channels[number]
        assert (channel.detector, channel.trigger_level_v, channel.delay_ps, channel.dead_time_ps) == (
            wire.detector,
            wire.trigger_level_v,
            wire.delay_ps,
            wire.dead_time_ps,
        )


def test_misspelt_key(tmp_path):
    path = _write(tmp_path, lambda c: c["instruments"]["laser"].update(timout_s=3))
    with pytest.raises(
        ConfigError,
        match=r"instruments\.laser: unknown key\(s\) \['timout_s'\]; the keys of this table are .*'timeout_s'",
    ):
        load_config(path)


def test_tagger_wired_to_missing_detector(tmp_path):
    path = _write(tmp_path, lambda c: c["instruments"]["tagger"]["inputs"][1].update(detector="nope"))
    with pytest.raises(
        ConfigError, match=r"instruments\.tagger\.inputs\.1\.detector: 'nope' is not one of world\.detectors\|syncs"
    ):
        load_config(path)


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("instruments: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")


def test_link_naming_a_missing_actuator(tmp_path):
    path = _write(tmp_path, lambda c: c["world"]["links"][0].update(controller="ghost_pc"))
    with pytest.raises(ConfigError, match=r"world: .*links\.0: actuator 'ghost_pc' is not one of"):
        load_config(path)


def test_unknown_link_kind(tmp_path):
    path = _write(tmp_path, lambda c: c["world"]["links"][1].update(kind="wormhole"))
    with pytest.raises(
        ConfigError, match=r"world\.links\.1: kind 'wormhole' is not one of \['entangled_pairs', 'polarization_bb84', "
    ):
        load_config(path)


def test_world_threads_beyond_two_are_refused(tmp_path):
    path = _write(tmp_path, lambda c: c["world"].update(threads=4))
    with pytest.raises(ConfigError, match=r"world\.threads: Input should be less than or equal to 2"):
        load_config(path)


def test_world_threads_reach_the_world():
    from qnetlab.instruments.lab import build_world

    config = load_config(SIM_LAB)
    taggers = {name: e for name, e in config.instruments.items() if e.kind == "swabian_timetagger"}
    assert build_world(config.world, taggers).threads == config.world.threads == 2


def test_world_physics_is_declared_once_by_the_world_models(sim_lab):
    """The config's world detectors, taggers and syncs are the world's own dataclasses (validated);
    the lab's world holds fresh copies in their power-on state, not the config's objects."""
    import dataclasses

    from qnetlab.sim_backends.world.detectors import SnspdModel, SpadModel
    from qnetlab.sim_backends.world.tagger import TaggerModel

    world_config = sim_lab.config.world
    snspd, spad = world_config.detectors["pol_v"], world_config.detectors["ent_a_t"]
    assert type(snspd) is SnspdModel and snspd.efficiency == 0.83
    assert type(spad) is SpadModel and spad.afterpulse_probability == 0.02
    assert type(world_config.taggers["tagger"]) is TaggerModel
    running = sim_lab.world.detectors["pol_v"]
    assert running is not snspd and running.bias_ua == 10.0 and snspd.bias_ua == 0.0
    state = {f.name for f in dataclasses.fields(SnspdModel) if not f.init}
    assert state == {"last_click_ps", "latched"}

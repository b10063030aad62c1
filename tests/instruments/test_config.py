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
    path = _write(tmp_path, lambda c: c["world"]["detectors"]["ent_a_t"].update(efficiency=1.7))
    with pytest.raises(
        ConfigError, match=r"world\.detectors\.ent_a_t\.spad\.efficiency: Input should be less than or equal to 1"
    ):
        load_config(path)


def test_misspelt_key(tmp_path):
    path = _write(tmp_path, lambda c: c["instruments"]["laser"].update(timout_s=3))
    with pytest.raises(
        ConfigError, match=r"instruments\.laser\.scpi_pulsed_laser\.timout_s: Extra inputs are not permitted"
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
    with pytest.raises(ConfigError, match=r"world\.links\.1: Input tag 'wormhole' found using 'kind' does not match"):
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

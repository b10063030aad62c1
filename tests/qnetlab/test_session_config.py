"""Which config and seed a session uses: precedence, the packaged copy, the recorded seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qnetlab.cli import app
from qnetlab.config_source import PACKAGED_CONFIG, resolve_config
from qnetlab.instruments.config import load_config
from qnetlab.session import choose_seed

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


def test_packaged_sim_lab_is_the_repository_copy():
    # two copies, not a symlink: wheels and sdists on every platform keep a plain file
    assert PACKAGED_CONFIG.read_bytes() == REPO_CONFIG.read_bytes()
    nightly = REPO_CONFIG.parents[1] / "qnetlab" / "data" / "nightly.yaml"
    assert nightly.read_bytes() == (REPO_CONFIG.parent / "nightly.yaml").read_bytes()


def test_config_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("QNETLAB_CONFIG", raising=False)
    assert resolve_config() == resolve_config(None)
    assert resolve_config().path == PACKAGED_CONFIG and "shipped" in resolve_config().origin
    user = tmp_path / "xdg" / "qnetlab" / "lab.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("name: mine\n")
    assert resolve_config().path == user and resolve_config().origin == "the user config directory"
    monkeypatch.setenv("QNETLAB_CONFIG", str(tmp_path / "env.yaml"))
    assert resolve_config().path == tmp_path / "env.yaml" and resolve_config().origin == "$QNETLAB_CONFIG"
    assert resolve_config(tmp_path / "flag.yaml").path == tmp_path / "flag.yaml"
    assert resolve_config(tmp_path / "flag.yaml").origin == "--config"


def test_config_show_prints_the_file_and_its_origin(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("QNETLAB_CONFIG", raising=False)
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert f"# lab config: {PACKAGED_CONFIG}" in shown.output and "shipped with qnetlab" in shown.output
    assert "name: sim_lab" in shown.output
    monkeypatch.setenv("QNETLAB_CONFIG", str(tmp_path / "missing.yaml"))
    missing = CliRunner().invoke(app, ["config", "show"])
    assert missing.exit_code == 2 and "config from $QNETLAB_CONFIG" in missing.output
    assert "no such file" in missing.output


def test_seed_precedence(monkeypatch):
    config = load_config(REPO_CONFIG)
    assert "seed" not in config.world.model_fields_set  # the shipped lab does not freeze its numbers
    monkeypatch.delenv("QNETLAB_SEED", raising=False)
    fresh = {choose_seed(config, None) for _ in range(3)}
    assert len(fresh) == 3 and all(origin == "fresh" for _, origin in fresh)
    pinned = config.model_copy(update={"world": config.world.model_copy(update={"seed": 5})})
    assert choose_seed(pinned, None) == (5, "pinned by the config")
    monkeypatch.setenv("QNETLAB_SEED", "11")
    assert choose_seed(pinned, None) == (11, "pinned by $QNETLAB_SEED")
    assert choose_seed(pinned, 3) == (3, "pinned by argument")
    monkeypatch.setenv("QNETLAB_SEED", "eleven")
    with pytest.raises(ValueError, match=r"\$QNETLAB_SEED must be an integer seed, got 'eleven'"):
        choose_seed(config, None)

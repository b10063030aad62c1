"""The qnetlab command line: run, runs, --help; data directory resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from qnetlab.catalog import resolve_data_dir
from qnetlab.cli import app

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


def test_run_prints_uid_that_runs_lists(data_dir):
    runner = CliRunner()
    result = runner.invoke(app, ["run", "count_rates", "--duration", "0.2", "--config", str(SIM_LAB), "-q"])
    assert result.exit_code == 0, result.output
    uid = next(line.split()[-1] for line in result.output.splitlines() if line.startswith("run uid:"))
    assert "tagger_ch1_rate_hz:" in result.output
    listed_channels = [
        int(line.split("_ch")[1].split("_")[0]) for line in result.output.splitlines() if "_rate_hz:" in line
    ]
    assert len(listed_channels) > 9 and listed_channels == sorted(listed_channels)  # ch2 before ch10
    assert (data_dir / "catalog.db").exists()  # from $QNETLAB_DATA_DIR
    listed = runner.invoke(app, ["runs", "--config", str(SIM_LAB)])
    assert listed.exit_code == 0 and uid in listed.output and "count_rates" in listed.output


def test_bad_config_is_reported_not_traced(tmp_path, data_dir):
    bad = tmp_path / "lab.yaml"
    bad.write_text("name: x\ninstruments:\n  laser: {kind: warp_drive, sim: true}\n")
    result = CliRunner().invoke(app, ["run", "count_rates", "--config", str(bad), "-q"])
    assert result.exit_code == 2
    assert "lab.yaml" in result.output and "instruments.laser" in result.output and "Traceback" not in result.output


def test_unknown_plan(data_dir):
    result = CliRunner().invoke(app, ["run", "teleport", "--config", str(SIM_LAB)])
    assert result.exit_code == 2 and "unknown plan 'teleport'" in result.output


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("QNETLAB_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("QNETLAB_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == tmp_path / "data"


def test_help_imports_no_catalog_server_or_numba():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from qnetlab.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0 and 'run' in result.output and 'runs' in result.output\n"
        "heavy = ('tiled.server', 'tiled.catalog', 'numba', 'bluesky', 'ophyd', 'qcodes',\n"
        "         'fastapi', 'uvicorn', 'cryptography', 'httpx', 'qnetlab.kms.server')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_record_tags_from_the_shell(data_dir):
    result = CliRunner().invoke(
        app, ["run", "record_tags", "--duration", "0.1", "--channels", "1,9", "--config", str(SIM_LAB), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "tagger_ch1_tags: 7812" in result.output  # Alice's sync: 80 MHz / 1024 for 0.1 s
    assert list((data_dir / "timetags").rglob("*.h5"))


def _renamed_lab(tmp_path, defaults):
    """sim_lab with only Alice's laser and the tagger, renamed, and the given ``defaults`` table."""
    import yaml

    raw = yaml.safe_load(SIM_LAB.read_text())
    raw["instruments"] = {"alice_tx": raw["instruments"]["laser"], "tdc": raw["instruments"]["tagger"]}
    raw["world"]["taggers"] = {"tdc": raw["world"]["taggers"]["tagger"]}
    raw["defaults"] = defaults
    path = tmp_path / "renamed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_run_uses_the_configs_default_tagger_whatever_its_name(tmp_path, data_dir):
    path = _renamed_lab(tmp_path, {"tagger": "tdc", "transmitter": "alice_tx"})
    result = CliRunner().invoke(app, ["run", "count_rates", "-d", "0.1", "--channels", "1", "-c", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert "tdc_ch1_rate_hz:" in result.output


def test_a_default_of_the_wrong_kind_is_refused(tmp_path, data_dir):
    path = _renamed_lab(tmp_path, {"tagger": "alice_tx"})
    result = CliRunner().invoke(app, ["run", "count_rates", "-c", str(path), "-q"])
    assert result.exit_code == 2
    assert "defaults.tagger: 'alice_tx' is not a tagger (its role is transmitter)" in result.output

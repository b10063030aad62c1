"""``qnetlab run chsh | visibility | tomography`` on the sim lab: exit 0, one summary line, the run recorded."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from qnetlab.cli import app

from .conftest import SHIPPED_VISIBILITY, SIM_LAB

NUMBER = r"(-?\d+\.\d+)"


@pytest.fixture
def cli(lab_sessions, data_dir):
    """Run ``qnetlab`` on the sim lab (the tests' open session closed first: instrument names are process-wide)."""
    lab_sessions.close()

    def invoke(*args: str):
        result = CliRunner().invoke(app, ["run", *args, "--config", str(SIM_LAB), "-q", "--seed", "7"])
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_chsh_prints_s_with_its_error_and_sigmas(cli, data_dir):
    output = cli("chsh", "--duration", "0.2")
    (line,) = [line for line in output.splitlines() if line.startswith("S = ")]
    s, s_std, sigmas, raw, raw_std, raw_sigmas = (float(x) for x in re.findall(NUMBER, line))
    assert abs(s - 2 * math.sqrt(2) * SHIPPED_VISIBILITY) < 3 * s_std
    assert sigmas == pytest.approx((s - 2) / s_std, abs=0.06) and sigmas > 5
    assert raw < s and raw_sigmas == pytest.approx((raw - 2) / raw_std, abs=0.06)
    assert "run uid:" in output and (data_dir / "catalog.db").exists()


def test_entanglement_plans_refuse_channels_and_num(cli, data_dir):
    for extra in (["--channels", "9,11"], ["--num", "3"]):
        result = CliRunner().invoke(app, ["run", "chsh", *extra, "--config", str(SIM_LAB), "-q"])
        assert result.exit_code == 2 and "--channels and --num do not apply" in result.output


@pytest.mark.slow  # 16 settings: ~20 s on the shared machine, mostly the catalog
def test_tomography_prints_fidelity_and_concurrence(cli, data_dir):
    output = cli("tomography", "--duration", "0.1")
    (line,) = [line for line in output.splitlines() if line.startswith("fidelity to Φ+")]
    fidelity, fidelity_std, concurrence, concurrence_std, _, _ = (float(x) for x in re.findall(NUMBER, line))
    v = SHIPPED_VISIBILITY
    assert abs(fidelity - (1 + 3 * v) / 4) < 3 * fidelity_std
    assert abs(concurrence - (3 * v - 1) / 2) < 3 * concurrence_std
    (figure,) = [line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("figure: ")]
    assert figure.endswith("-tomography.png") and str(data_dir) in figure


def test_visibility_line_names_each_basis():
    from qnetlab._entanglement_cli import summary_lines

    row = pd.Series(
        {
            **{f"visibility_{b}_{kind}": value for b in "hd" for kind, value in (("raw", 0.91), ("corrected", 0.95))},
            **{f"visibility_{b}_{kind}_std": 0.01 for b in "hd" for kind in ("raw", "corrected")},
            "fringe_h_figure": "/d/h.png",
            "fringe_d_figure": "",
        }
    )
    lines = summary_lines("visibility", row)
    assert lines[0] == "visibility (accidentals subtracted): H 0.950 ± 0.010 (raw 0.910), D 0.950 ± 0.010 (raw 0.910)"
    assert lines[1:] == ["figure: /d/h.png"]

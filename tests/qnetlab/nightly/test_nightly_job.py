"""The nightly job end to end on the sim lab, with contract-following step plans (nightly_step_plans.py).

Two nights share one data directory: night 1 passes and stores paddle 1 at 40°; night 2
asks the paddle step for an impossible threshold, so it fails, the store and the device
keep 40°, the step depending on it is skipped with the reason, the job exits 1 and the
report says which step failed and why. Its numbers are checked against the catalog.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import SIM_LAB
from typer.testing import CliRunner

from qnetlab.calibration_store import CalibrationStore
from qnetlab.catalog import open_catalog
from qnetlab.cli import app
from qnetlab.nightly.outcome import outcome

NIGHT = """
drift_hours: 6
steps:
  - name: rates
    plan: nightly_step_plans:detector_rates
    devices: [tagger]
    args: {{min_rate_hz: 1.0}}
  - name: paddle
    plan: nightly_step_plans:paddle_step
    devices: [tagger, bob_pc]
    args: {{paddle1_deg: {paddle_deg}, max_h_fraction: {max_h}}}
    depends_on: [rates]
  - name: after_paddle
    plan: nightly_step_plans:detector_rates
    devices: [tagger]
    depends_on: [paddle]
"""


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    data, reports = root / "data", root / "reports"
    results = []
    for night, (paddle_deg, max_h) in enumerate(((40.0, 1.0), (70.0, -1.0))):
        config = root / f"night{night}.yaml"
        config.write_text(NIGHT.format(paddle_deg=paddle_deg, max_h=max_h))
        result = CliRunner().invoke(
            app,
            [
                "nightly",
                "-c",
                str(SIM_LAB),
                "--nightly",
                str(config),
                "--data-dir",
                str(data),
                "--report-dir",
                str(reports / str(night)),
                "-q",
            ],
        )
        results.append(result)
    return data, reports, results


def _report(reports, night):
    (path,) = (reports / str(night)).glob("nightly-*.html")
    return path.read_text()


def test_first_night_passes_and_stores_with_provenance_from_the_catalog(two_nights):
    data, _, (first, _) = two_nights
    assert first.exit_code == 0, first.output
    assert first.output.count("[PASSED ]") == 3 and first.output.splitlines()[-2].startswith("PASS: all 3")
    entry = CalibrationStore(data).history("bob_pc.paddle1_deg")[0]
    assert entry["value"] == 40.0 and entry["step"] == "paddle"
    run = open_catalog(data)[entry["run_uid"]]
    decoded = outcome(run)
    assert run.metadata["start"]["nightly_step"] == "paddle"
    assert entry["time"] == run.metadata["start"]["time"]
    assert entry["figures_before"] == decoded["figures_before"] and entry["figures_after"] == decoded["figures_after"]
    assert decoded["settings"] == {"bob_pc.paddle1_deg": 40.0} and decoded["applied"]


def test_failed_step_keeps_the_previous_calibration_and_skips_its_dependants(two_nights):
    data, reports, (_, second) = two_nights
    assert second.exit_code == 1, second.output
    assert "[FAILED ] paddle" in second.output and "h_fraction" in second.output
    skipped = next(line for line in second.output.splitlines() if "after_paddle" in line)
    assert skipped.startswith("[SKIPPED]") and "depends on paddle, which failed: h_fraction" in skipped
    store = CalibrationStore(data)
    assert store.current() == {"bob_pc.paddle1_deg": 40.0}  # not 70: the failed step overwrote nothing
    assert len(store.history("bob_pc.paddle1_deg")) == 1
    html = _report(reports, 1)
    verdict = re.search(r'class="verdict"[^>]*>([^<]*)<', html).group(1)
    assert verdict.startswith("FAIL: 1 failed (paddle); 1 skipped (after_paddle)")
    assert re.search(r'<span class="reason">h_fraction [0-9.]+ above -1</span>', html)
    assert "depends on paddle, which failed" in html


def test_report_numbers_match_the_catalog(two_nights):
    data, reports, _ = two_nights
    catalog = open_catalog(data)
    for night in (0, 1):
        html = _report(reports, night)
        uids = re.findall(r"<code>([0-9a-f-]{36})</code>", html)
        assert uids
        shown = dict(re.findall(r'data-figure="([^"]+)">([^<]+)<', html))
        checked = 0
        for uid in uids:
            step = catalog[uid].metadata["start"]["nightly_step"]
            for name, value in outcome(catalog[uid])["figures_after"].items():
                if f"{step}.{name}" in shown:
                    assert float(shown[f"{step}.{name}"]) == pytest.approx(value, rel=1e-5)
                    checked += 1
        assert checked >= 2
        images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
        assert images and all(i.startswith("iVBORw0KGgo") for i in images)  # PNG signature
    assert 'alt="paddle trend"' in _report(reports, 1)  # two nights of the paddle step in the catalog


def test_failed_night_recorded_failed_outcome_in_the_catalog(two_nights):
    data, _, _ = two_nights
    catalog = open_catalog(data)
    from tiled.queries import Key

    paddle_runs = catalog.search(Key("start.nightly_step") == "paddle")
    outcomes = [outcome(paddle_runs[uid]) for uid in paddle_runs]
    assert [o["passed"] for o in outcomes] == [True, False]
    assert outcomes[1]["applied"] is False and json.dumps(outcomes[1]["settings"]) == '{"bob_pc.paddle1_deg": 70.0}'

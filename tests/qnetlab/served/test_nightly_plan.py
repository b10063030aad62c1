"""The nightly job's plan form in one RunEngine call: retries, skips, the store and the summary run.

No services: the sim lab in this process and its embedded catalog (the queue tests run the same
plan in an RE Manager's worker).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STEP_PLANS = REPO / "tests" / "qnetlab" / "nightly"
SIM_LAB = REPO / "config" / "sim_lab.yaml"


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One night: rates pass, a broken step fails after its retry, paddle passes, a dependant is skipped."""
    if str(STEP_PLANS) not in sys.path:
        sys.path.insert(0, str(STEP_PLANS))
    from qnetlab import session
    from qnetlab.nightly.config import NightlyConfig
    from qnetlab.nightly.plan import nightly_plan

    steps = NightlyConfig.model_validate(
        {
            "drift_hours": 0,
            "steps": [
                {"name": "rates", "plan": "nightly_step_plans:detector_rates", "devices": ["tagger"]},
                {"name": "broken", "plan": "nightly_step_plans:broken_step", "devices": ["tagger"], "retries": 1},
                {
                    "name": "paddle",
                    "plan": "nightly_step_plans:paddle_step",
                    "devices": ["tagger", "bob_pc"],
                    "args": {"paddle1_deg": 40.0},
                    "depends_on": ["rates"],
                },
                {
                    "name": "after",
                    "plan": "nightly_step_plans:detector_rates",
                    "devices": ["tagger"],
                    "depends_on": ["broken"],
                },
            ],
        }
    )
    data = tmp_path_factory.mktemp("night") / "data"
    with session.start(SIM_LAB, data_dir=data, live_table=False, progress=False) as s:
        uids = s.RE(nightly_plan(s, steps, report_dir=data / "reports"))
        paddle_deg = s.lab.bob_pc.paddle1_deg.get()
        yield s.catalog, list(uids), data, paddle_deg


def test_one_plan_runs_every_step_and_ends_with_the_summary_run(night):
    catalog, uids, _, _ = night
    assert len(uids) == 5  # rates, broken twice (one retry), paddle, summary
    steps = [catalog[uid].metadata["start"].get("nightly_step") for uid in uids[:-1]]
    assert steps == ["rates", "broken", "broken", "paddle"]
    exits = [catalog[uid].metadata["stop"]["exit_status"] for uid in uids[:-1]]
    assert exits == ["success", "fail", "fail", "success"]

    from qnetlab.nightly.plan import summary_of

    summary = summary_of(catalog[uids[-1]])
    assert summary["passed"] is False
    assert summary["verdict"].startswith("FAIL: 1 failed (broken); 1 skipped (after) of 4 steps")
    assert summary["summary"][1].startswith("[FAILED ] broken") and "(2 attempts)" in summary["summary"][1]
    assert "depends on broken, which failed" in summary["summary"][3]
    assert Path(summary["report"]).is_file()


def test_the_summary_stream_holds_each_step_with_its_runs(night):
    catalog, uids, _, _ = night
    table = catalog[uids[-1]]["steps"].read()
    assert list(table["nightly_step"]) == ["rates", "broken", "paddle", "after"]
    assert list(table["nightly_status"]) == ["passed", "failed", "passed", "skipped"]
    assert [json.loads(v) for v in table["nightly_run_uids"].values] == [[uids[0]], uids[1:3], [uids[3]], []]
    assert list(table["nightly_attempts"]) == [1, 2, 1, 0]


def test_what_passed_is_stored_with_its_run_and_applied(night):
    _, uids, data, paddle_deg = night
    from qnetlab.calibration_store import CalibrationStore

    (entry,) = CalibrationStore(data).history("bob_pc.paddle1_deg")
    assert entry["value"] == 40.0 and entry["run_uid"] == uids[3] and entry["step"] == "paddle"
    assert paddle_deg == pytest.approx(40.0, abs=0.1)  # the MPC320 reads back in encoder steps (~0.05 deg)


def test_bad_arguments_of_the_queue_plan_name_the_argument(tmp_path):
    from qnetlab.nightly.config import NightlyConfigError
    from qnetlab.nightly.plan import queue_nightly
    from qnetlab.plans._arguments import PlanArgumentError

    plan = queue_nightly(session=None)
    with pytest.raises(PlanArgumentError, match=r"nightly: drift_hours: .*greater than or equal to 0 \(got -1\)"):
        plan(drift_hours=-1)
    with pytest.raises(NightlyConfigError, match="no such nightly config"):
        next(plan(config=str(tmp_path / "missing.yaml")))

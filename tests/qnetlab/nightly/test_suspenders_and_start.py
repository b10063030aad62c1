"""Suspenders on the sim lab (a latched SNSPD and a tagger overflow are recovered, the step completes),
and a session starting from the calibration store's settings."""

from __future__ import annotations

import pytest
from conftest import SIM_LAB

from qnetlab import session
from qnetlab.calibration_store import CalibrationStore, Provenance
from qnetlab.nightly.config import NightlyConfig
from qnetlab.nightly.job import run_job
from qnetlab.nightly.suspenders import LabHealthWatch


@pytest.fixture(scope="module")
def lab_session(tmp_path_factory):
    data = tmp_path_factory.mktemp("suspend") / "data"
    CalibrationStore(data).record(
        {"bob_pc.paddle2_deg": 33.0, "tagger.input3_delay_ps": -120, "snspd.ch1.bias_ua": 9.5},
        Provenance("manual", "00000000-0000-0000-0000-000000000000", 0.0),
    )
    with session.start(SIM_LAB, data_dir=data, live_table=False, progress=False) as s:
        watch = LabHealthWatch(s.lab, s.RE, poll_s=0.2)
        watch.install()
        yield s, watch
        watch.close()


def _rates_night(min_rate_hz=1.0, channels=(2, 3, 4, 5), readings=1):
    return NightlyConfig.model_validate(
        {
            "drift_hours": 0,
            "steps": [
                {
                    "name": "rates",
                    "plan": "nightly_step_plans:detector_rates",
                    "devices": ["tagger"],
                    "args": {"min_rate_hz": min_rate_hz, "channels": list(channels), "readings": readings},
                }
            ],
        }
    )


def test_session_starts_from_the_stored_calibration(lab_session):
    s, _ = lab_session
    assert s.lab.bob_pc.paddle2_deg.get() == pytest.approx(33.0, abs=0.1)
    assert s.lab.tagger.driver.set_input_delay(3, -120) == -120  # the emulator holds the stored delay
    assert s.lab.world.taggers["tagger"].channels[3].delay_ps == -120
    assert s.lab.tagger.input_delay_ps(3) == -120  # the device knows it too: a delay step starts from it
    assert s.lab.snspd.ch1.bias_ua.get() == pytest.approx(9.5)


def test_latched_snspd_suspends_resets_and_resumes(lab_session):
    s, watch = lab_session
    before = len(watch.recoveries)
    world_h = s.lab.world.detectors["pol_h"]
    world_h.latched = True
    assert s.lab.snspd.ch1.latched.get()
    job = run_job(s, _rates_night(min_rate_hz=1000.0, channels=(2,)), watch=watch)
    (step,) = job.steps
    assert step.status == "passed", step.reason  # a latched wire clicks not at all: it was recovered
    assert not world_h.latched and s.lab.snspd.ch1.bias_ua.get() == pytest.approx(9.5)
    assert watch.recoveries[before:] == ["snspd_ch1 latched: bias reset to 0 and back to 9.5 uA before the step"]


def test_snspd_latching_during_a_run_suspends_it_and_the_run_resumes(lab_session):
    s, watch = lab_session
    before = len(watch.recoveries)
    world_h = s.lab.world.detectors["pol_h"]
    events = []

    def latch_after_the_second_reading(name, doc):
        events.append(doc)
        if len(events) == 2:
            world_h.latched = True

    # by the run's progress, not a wall-clock timer: a timer raced the readings (on a quiet machine
    # all eight could end before it fired, on a loaded one the latch fell in the last reading)
    token = s.RE.subscribe(latch_after_the_second_reading, "event")
    try:
        job = run_job(s, _rates_night(min_rate_hz=1000.0, channels=(2,), readings=8), watch=watch)
    finally:
        s.RE.unsubscribe(token)
    (step,) = job.steps
    assert step.status == "passed", step.reason
    assert not world_h.latched
    assert watch.recoveries[before:] == ["snspd_ch1 latched: bias reset to 0 and back to 9.5 uA"]  # in the run


def test_tagger_overflow_suspends_lowers_the_power_and_resumes(lab_session):
    s, watch = lab_session
    before = len(watch.recoveries)
    tagger_model = s.lab.world.taggers["tagger"]
    power_dbm = s.lab.laser.power_dbm.get()
    tagger_model.max_rate_hz, tagger_model.buffer_tags = 2.0e6, 2000  # the pol link alone is ~7 MHz
    try:
        job = run_job(s, _rates_night(), watch=watch)
    finally:
        tagger_model.max_rate_hz, tagger_model.buffer_tags = 6.5e7, 64 * 2**20
    (step,) = job.steps
    assert step.status == "passed", step.reason
    lowered = [r for r in watch.recoveries[before:] if r.startswith("tagger overflow: laser power")]
    assert lowered and f"power {power_dbm:g} -> {power_dbm - 3:g} dBm" in lowered[0]
    assert s.lab.laser.power_dbm.get() == pytest.approx(power_dbm - 3 * len(lowered))


def test_bad_arguments_and_unknown_plans_fail_the_step_without_retries(lab_session):
    s, watch = lab_session
    night = NightlyConfig.model_validate(
        {
            "drift_hours": 0,
            "steps": [
                {"name": "bad", "plan": "count_rates", "devices": ["tagger"], "args": {"num": 0}, "retries": 2},
                {"name": "missing", "plan": "teleport", "devices": ["tagger"]},
                {"name": "nodevice", "plan": "count_rates", "devices": ["flux_capacitor"]},
            ],
        }
    )
    bad, missing, nodevice = run_job(s, night, watch=watch, stop_requested=lambda: None).steps
    assert (
        bad.status == "failed" and bad.attempts == 1 and "num: Input should be greater than or equal to 1" in bad.reason
    )
    assert missing.status == "failed" and "plan 'teleport' is not in qnetlab.plans" in missing.reason
    assert nodevice.status == "failed" and "the lab has no device 'flux_capacitor'" in nodevice.reason


def test_a_stop_request_skips_the_remaining_steps(lab_session):
    s, _ = lab_session
    (step,) = run_job(s, _rates_night(), stop_requested=lambda: "SIGTERM").steps
    assert step.status == "skipped" and step.reason == "job stopped: SIGTERM" and not step.run_uids

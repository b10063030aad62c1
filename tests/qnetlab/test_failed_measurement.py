"""A measurement that stops short is a failed run, with the instrument's message as reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qnetlab.cli import app

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


@pytest.fixture
def dying_acquisition(monkeypatch):
    """The world's acquisition raises after a few slices, as a tagger whose data thread dies."""
    from qnetlab.sim_backends.world import OpticalWorld

    original = OpticalWorld.acquire
    calls = {"n": 0}

    def acquire(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("USB transfer failed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(OpticalWorld, "acquire", acquire)
    return calls


def _last_stop(data_dir):
    from qnetlab.catalog import open_catalog

    return open_catalog(data_dir)[-1].metadata["stop"]


@pytest.mark.parametrize(
    ("plan", "extra"),
    [("count_rates", []), ("record_tags", ["--channels", "1,9"])],
)
def test_dead_acquisition_thread_fails_the_run(plan, extra, data_dir, dying_acquisition):
    result = CliRunner().invoke(app, ["run", plan, "--duration", "0.5", "--config", str(SIM_LAB), "-q", *extra])
    assert result.exit_code == 1, result.output
    assert "acquisition stopped early" in result.output and "of the 0.5 s requested" in result.output
    assert "Traceback" not in result.output
    stop = _last_stop(data_dir)
    assert stop["exit_status"] == "fail"
    assert stop["reason"].startswith("tagger: ") and "acquisition stopped early" in stop["reason"]
    assert "Status" not in stop["reason"]


def test_full_capture_passes_the_coverage_check(make_world):
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.drivers.swabian import SwabianTimeTagger
    from qnetlab.sim_backends.emulators.timetagger_sdk import emulated_timetagger_sdk

    world = make_world(time_scale=float("inf"))
    tagger = SwabianTimeTagger("tagger", sdk=emulated_timetagger_sdk(world))
    rates = tagger.count_rates([1, 2], 0.2)
    assert rates[0] > 0
    measurement = tagger.start_count_rates([1], 200_000_000_000)
    measurement.stop()  # stopped after at most one slice: short of the time asked for
    with pytest.raises(InstrumentError, match=r"tagger: 'Countrate': acquisition stopped early: captured"):
        tagger.check_coverage(measurement, 200_000_000_000, "Countrate")
    tagger.close()

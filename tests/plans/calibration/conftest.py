"""The sim lab for the calibration-plan tests: a bare RunEngine (fast) and a recording session."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

SIM_LAB = Path(__file__).resolve().parents[3] / "config" / "sim_lab.yaml"


class OutcomeCollector:
    """A RunEngine callback keeping each run's start document and its ``calibration`` event data."""

    def __init__(self) -> None:
        self.starts: dict[str, dict] = {}
        self.stops: dict[str, dict] = {}
        self.outcomes: dict[str, dict] = {}
        self._streams: dict[str, str] = {}

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start":
            self.starts[doc["uid"]] = doc
        elif name == "descriptor":
            self._streams[doc["uid"]] = (doc["run_start"], doc["name"])  # type: ignore[assignment]
        elif name == "event":
            run, stream = self._streams[doc["descriptor"]]
            if stream == "calibration":
                self.outcomes[run] = doc["data"]
        elif name == "stop":
            self.stops[doc["run_start"]] = doc


@pytest.fixture(scope="package")
def recording(tmp_path_factory):
    """A session on sim_lab.yaml recording into a temporary catalog (one lab for all tests: QCoDeS names are global)."""
    from qnetlab import session

    s = session.start(SIM_LAB, data_dir=tmp_path_factory.mktemp("data"), live_table=False, progress=False)
    yield s
    s.close()


@pytest.fixture(scope="package")
def bare(recording):
    """(RunEngine without catalog, the session's lab, OutcomeCollector): no catalog writes, for loops of runs."""
    from bluesky import RunEngine

    from qnetlab._failures import raise_status_cause

    RE = RunEngine({})
    RE.preprocessors.append(raise_status_cause)
    collector = OutcomeCollector()
    RE.subscribe(collector)
    return RE, recording.lab, collector


def true_polarization_qber(world, misalignment: float = 0.01) -> tuple[float, float]:
    """The world's own QBER (Z, X) of Alice's H and D at Bob's paddles now (no shot noise)."""
    link = next(link for link in world.links if type(link).__name__ == "PolarizationBB84Link")
    total = link.rotation(world)
    h, d = total @ np.array([1, 0]), total @ np.array([1, 1]) / math.sqrt(2)
    p_v = abs(h[1]) ** 2
    p_a = abs(d[0] - d[1]) ** 2 / 2
    e = misalignment
    return ((1 - e) * p_v + e * (1 - p_v), (1 - e) * p_a + e * (1 - p_a))

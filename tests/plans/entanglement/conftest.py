"""Sessions on the simulated lab with the pair source's visibility set in the world config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qnetlab import session

SIM_LAB = Path(__file__).resolve().parents[3] / "config" / "sim_lab.yaml"


def lab_with_visibility(tmp_path: Path, visibility: float, mount_zeros_deg: dict[str, float] | None = None) -> Path:
    """A copy of config/sim_lab.yaml whose entangled-pair link has ``visibility``; with ``mount_zeros_deg``
    (mount -> deg), those plates sit that far off their mounts' zero and the entries say so (calibrated)."""
    config = yaml.safe_load(SIM_LAB.read_text())
    (link,) = [link for link in config["world"]["links"] if link["kind"] == "entangled_pairs"]
    link["visibility"] = visibility
    for mount, zero in (mount_zeros_deg or {}).items():
        config["world"]["actuators"][mount].update(mount_zero_deg=zero, angle_deg=-zero)
        config["instruments"][mount]["zero_offset_deg"] = zero
    path = tmp_path / f"sim_lab_v{visibility}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class LabSessions:
    """One session at a time (instrument names are process-wide): ``get(V)`` closes another V's session."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._current = None

    def get(self, visibility: float, mount_zeros_deg: dict[str, float] | None = None):
        key = (visibility, tuple(sorted((mount_zeros_deg or {}).items())))
        if self._current is not None and self._current.key == key:
            return self._current
        self.close()
        shipped = visibility == SHIPPED_VISIBILITY and not mount_zeros_deg
        config = SIM_LAB if shipped else lab_with_visibility(self._tmp.mktemp("cfg"), visibility, mount_zeros_deg)
        s = session.start(config, data_dir=self._tmp.mktemp("data"), live_table=False, progress=False)
        s.visibility = visibility  # pyright: ignore[reportAttributeAccessIssue]
        s.key = key  # pyright: ignore[reportAttributeAccessIssue]
        self._current = s
        return s

    def close(self):
        if self._current is not None:
            self._current.close()
            self._current = None


SHIPPED_VISIBILITY = 0.95


@pytest.fixture(scope="package")
def lab_sessions(tmp_path_factory):
    config = yaml.safe_load(SIM_LAB.read_text())
    (link,) = [link for link in config["world"]["links"] if link["kind"] == "entangled_pairs"]
    assert link["visibility"] == SHIPPED_VISIBILITY  # the checks below assume the shipped Werner state
    sessions = LabSessions(tmp_path_factory)
    yield sessions
    sessions.close()


@pytest.fixture
def bell_session(lab_sessions):
    """The sim lab as shipped: Werner state of V = 0.95 (config/sim_lab.yaml)."""
    return lab_sessions.get(SHIPPED_VISIBILITY)

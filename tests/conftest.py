"""Shared fixtures: a small simulated world, the default sim lab, a temporary data directory; the pinned seed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Sessions draw a fresh seed for the simulated world unless one is pinned; the suite pins it
# (inherited by the CLI subprocesses it starts) so its numbers repeat from run to run.
os.environ.setdefault("QNETLAB_SEED", "20261123")

REPO = Path(__file__).resolve().parent.parent
SIM_LAB = REPO / "config" / "sim_lab.yaml"


@pytest.fixture
def make_world():
    """Factory of a two-detector world: laser -> fiber -> 50:50 -> two detectors -> tagger."""
    from qnetlab.sim_backends import (
        DetectorModel,
        FiberModel,
        OpticalWorld,
        TaggerChannelModel,
        TaggerModel,
        TransmitterModel,
    )
    from qnetlab.sim_backends.world.links import SplitterLink

    def make(
        *,
        power_dbm=-10.0,
        attenuation_db=73.0,
        length_km=25.0,
        dead_time_ps=1_006_250,
        dark_hz=300.0,
        seed=7,
        **world_kwargs,
    ):
        detectors = {
            "a": DetectorModel(efficiency=0.25, dark_count_hz=dark_hz, dead_time_ps=dead_time_ps, jitter_ps=60),
            "b": DetectorModel(efficiency=0.20, dark_count_hz=dark_hz, dead_time_ps=dead_time_ps, jitter_ps=60),
        }
        link = SplitterLink("alice", "fiber", {"a": "a", "b": "b"}, fractions={"a": 0.5, "b": 0.5})
        return OpticalWorld(
            transmitters={
                "alice": TransmitterModel(rep_rate_hz=80e6, power_dbm=power_dbm, attenuation_db=attenuation_db)
            },
            fibers={"fiber": FiberModel(length_km=length_km, loss_db_per_km=0.2)},
            links=[link],
            detectors=detectors,
            taggers={"tagger": TaggerModel({1: TaggerChannelModel("a"), 2: TaggerChannelModel("b")}, jitter_ps=8)},
            seed=seed,
            **world_kwargs,
        )

    return make


@pytest.fixture
def sim_lab():
    """The lab of config/sim_lab.yaml, twins running; closed afterwards."""
    from qnetlab.instruments import load_lab

    lab = load_lab(SIM_LAB)
    yield lab
    lab.close()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory, also set as $QNETLAB_DATA_DIR."""
    path = tmp_path / "data"
    monkeypatch.setenv("QNETLAB_DATA_DIR", str(path))
    return path


# The suite runs on three xdist workers (pyproject's addopts). Each test module stays on one worker
# (its module-scoped lab is built once); the folders whose conftest starts session-wide servers
# (PostgreSQL and Redis, the KME network, a shared tag file) stay together so they start once.
_ONE_WORKER_FOLDERS = ("qnetlab/served", "qnetlab/kms", "analysis/timetags")


def pytest_collection_modifyitems(config, items):
    """Give every test its xdist group: its module, or its folder for the folders above (unless it names
    one); then put the groups holding slow tests or servers first, so the workers end together
    instead of one finishing a long group alone (longest first, the order kept within a group)."""
    groups: dict[int, str] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            path = Path(str(item.fspath)).resolve().relative_to(REPO / "tests").as_posix()
            group = next((folder for folder in _ONE_WORKER_FOLDERS if path.startswith(folder + "/")), path)
            item.add_marker(pytest.mark.xdist_group(group))
        else:
            group = marker.args[0] if marker.args else marker.kwargs.get("name", "default")
        groups[id(item)] = group
    heavy = {groups[id(i)] for i in items if i.get_closest_marker("slow") or groups[id(i)] in _ONE_WORKER_FOLDERS}
    items.sort(key=lambda i: groups[id(i)] not in heavy)  # stable: collection order within each part

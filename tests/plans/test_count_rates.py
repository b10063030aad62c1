"""count_rates through a RunEngine into the embedded catalog, read back by uid."""

from __future__ import annotations

from pathlib import Path

import pytest

from qnetlab import plans, session

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


@pytest.fixture(scope="module")
def lab_session(tmp_path_factory):
    s = session.start(SIM_LAB, data_dir=tmp_path_factory.mktemp("data"), live_table=False, progress=False)
    yield s
    s.close()


def test_run_is_recorded_and_read_back(lab_session):
    s = lab_session
    documents = []
    (uid,) = s.RE(
        plans.count_rates(s.lab.tagger, duration_s=0.3, num=2), lambda name, doc: documents.append((name, doc))
    )
    events = [doc for name, doc in documents if name == "event"]
    assert len(events) == 2
    table = s.table(uid)
    assert list(table["tagger_ch1_rate_hz"]) == [e["data"]["tagger_ch1_rate_hz"] for e in events]
    assert all(table["tagger_ch2_rate_hz"] > 1e4)
    run = s.catalog[-1]
    assert run.metadata["start"]["uid"] == uid
    assert run.metadata["start"]["plan_args"]["duration_s"] == 0.3
    assert run.metadata["stop"]["exit_status"] == "success"
    config = run["primary"].metadata  # configuration of the tagger is recorded with the stream
    assert "tagger" in str(config)


def test_channel_subset(lab_session):
    s = lab_session
    (uid,) = s.RE(plans.count_rates(s.lab.tagger, duration_s=0.1, channels=[2]))
    columns = set(s.table(uid).columns)
    assert "tagger_ch2_rate_hz" in columns and "tagger_ch1_rate_hz" not in columns


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 0}, r"count_rates: duration_s: Input should be greater than 0 \(got 0\)"),
        ({"duration_s": 1, "channels": [99]}, r"count_rates: channels \[99\] are not inputs of tagger \[1, 2,"),
        ({"duration_s": 1, "num": 0}, r"count_rates: num: Input should be greater than or equal to 1 \(got 0\)"),
        ({"duration_s": "long"}, r"count_rates: duration_s: Input should be a valid number"),
    ],
)
def test_bad_arguments_are_refused_before_running(lab_session, kwargs, message):
    s = lab_session
    newest = _newest_uid(s.catalog)  # (not len(): Tiled's client caches a container's length for a second)
    with pytest.raises(plans.PlanArgumentError, match=message):
        s.RE(plans.count_rates(s.lab.tagger, **kwargs))
    assert _newest_uid(s.catalog) == newest  # no run was opened


def _newest_uid(catalog) -> str | None:
    uids = list(catalog.keys().tail(1))
    return uids[0] if uids else None


def test_alices_pattern_is_recorded_with_the_run(lab_session):
    import hashlib

    import numpy as np

    s = lab_session
    rng = np.random.default_rng(3)
    codes = (rng.integers(0, 2, 512) | rng.integers(0, 2, 512) << 1 | rng.choice([0, 1, 2], 512) << 2).astype(np.uint8)
    s.lab.laser.load_pattern(codes, decoy_ratio=0.2, vacuum_ratio=0.0).wait(5)
    s.lab.laser.pattern_running.set(True).wait(5)
    try:
        world_tx = s.lab.world.transmitters["alice"]
        assert (
            np.array_equal(world_tx.pattern, codes) and world_tx.pattern_on and world_tx.level_ratios == (1.0, 0.2, 0.0)
        )
        (uid,) = s.RE(plans.count_rates(s.lab.tagger, duration_s=0.1, channels=[1], transmitter=s.lab.laser))
        stream = s.catalog[uid]["transmitter"]
        config = stream.descriptors[0]["configuration"]["laser"]["data"]
        assert np.array_equal(np.asarray(config["laser_pattern"], np.uint8), codes)
        assert config["laser_pattern_sha256"] == hashlib.sha256(codes.tobytes()).hexdigest()
        assert config["laser_encoding"] == "POL"
    finally:
        s.lab.laser.pattern_running.set(False).wait(5)

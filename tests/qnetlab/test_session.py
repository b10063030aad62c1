"""An IPython-style session on the sim lab: reprs, ordered tables, scan ids, seeds, plans.list()."""

from __future__ import annotations

import pandas as pd
import pytest

from qnetlab import plans, session


def _rates(s):
    s.RE(plans.count_rates(s.lab.tagger, duration_s=0.05, channels=[10, 2, 3]))
    return s.table(-1)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One session that recorded a count_rates and a record_tags run, and its tables."""
    data_dir = tmp_path_factory.mktemp("session") / "data"
    with session.start(data_dir=data_dir, live_table=False, progress=False) as s:
        rates = _rates(s)
        (tags_uid,) = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.05, channels=[1, 2], transmitter=s.lab.laser))
        summary = s.table(tags_uid, "summary")
        with pytest.raises(KeyError) as missing:
            s.table(tags_uid, "primary")
        recorded = {
            "laser_repr": repr(s.lab.laser),
            "repr": repr(s),
            "lab_repr": repr(s.lab),
            "rates": rates,
            "summary": summary,
            "missing": str(missing.value),
            "start": s.catalog[tags_uid].metadata["start"],
            "data_dir": data_dir,
        }
    return recorded  # closed: one lab at a time (instrument names are unique per process)


def test_table_time_first_natural_order_datetime_index(recorded):
    rates = recorded["rates"]
    expected = ["tagger_ch2_rate_hz", "tagger_ch3_rate_hz", "tagger_ch10_rate_hz", "tagger_overflows"]
    assert list(rates.columns) == expected
    assert isinstance(rates.index, pd.DatetimeIndex) and str(rates.index.tz) == "UTC" and rates.index.name == "time"
    assert abs(rates.index[0] - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=30)


def test_every_stream_including_summary(recorded):
    summary = recorded["summary"]
    assert list(summary.columns[:2]) == ["tagger_ch1_tags", "tagger_ch2_tags"]
    assert summary["tagger_ch1_tags"].iloc[0] == 3906  # Alice's sync: 80 MHz / 1024 for 0.05 s


def test_missing_stream_lists_the_run_streams(recorded):
    message = recorded["missing"]
    assert "has no stream 'primary'" in message and "summary, timetags, transmitter" in message
    assert "record_tags" in message


def test_short_reprs(recorded):
    text = recorded["repr"]
    assert len(text) < 400 and "sim_lab" in text and "13 instruments" in text and "seed 20261123" in text
    lab = recorded["lab_repr"].splitlines()
    assert lab[1].split() == ["name", "kind", "address", "state"]
    assert lab[2].split() == ["laser", "scpi_pulsed_laser", "sim", "connected"] and len(lab) == 2 + 13
    assert recorded["laser_repr"].startswith("<PulsedLaser 'laser' over ScpiPulsedLaser: power_dbm,")


def test_seed_is_recorded_and_scan_ids_continue_across_sessions(recorded):
    start = recorded["start"]
    assert start["sim_seed"] == 20261123 and start["scan_id"] == 2
    with session.start(data_dir=recorded["data_dir"], live_table=False, progress=False) as again:
        assert "next scan id: 3" in repr(again)
        (uid,) = again.RE(plans.count_rates(again.lab.tagger, duration_s=0.05, channels=[2]))
        assert again.catalog[uid].metadata["start"]["scan_id"] == 3
        assert again.catalog[3].metadata["start"]["uid"] == uid  # a positive integer is a scan id


def test_fresh_seeds_differ_and_a_pinned_seed_repeats(tmp_path, monkeypatch):
    monkeypatch.delenv("QNETLAB_SEED")
    counts = []
    for seed in (None, None, 99, 99):
        with session.start(seed=seed, data_dir=tmp_path / "data", live_table=False, progress=False) as s:
            assert (s.seed_origin == "fresh") == (seed is None)
            counts.append((s.seed, tuple(_rates(s)["tagger_ch2_rate_hz"])))
    assert counts[0][0] != counts[1][0] and counts[0][1] != counts[1][1]
    assert counts[2] == counts[3]


def test_plans_list_names_parameters_units_and_limits():
    listed = plans.list()
    assert {"count_rates", "record_tags"} <= set(listed.names())
    count_rates = next(info for info in listed if info.name == "count_rates")
    duration = next(p for p in count_rates.parameters if p.name == "duration_s")
    assert (duration.unit, duration.limits, duration.default) == ("s", "> 0", 1.0)
    num = next(p for p in count_rates.parameters if p.name == "num")
    assert num.limits == ">= 1" and "md" not in [p.name for p in count_rates.parameters]
    assert "duration_s: float, required, unit s, > 0" in repr(listed)  # record_tags has no default

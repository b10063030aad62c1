"""A run offered more tags than the tagger's link carries: overflow recorded, only tags in the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qnetlab import plans, session
from qnetlab.analysis.timetags import read_run_tags

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"


def test_overloaded_run_records_overflow_intervals_and_missed_events(tmp_path):
    s = session.start(SIM_LAB, data_dir=tmp_path / "data", live_table=False, progress=False)
    try:
        model = s.lab.world.taggers["tagger"]
        model.max_rate_hz = 2e6  # the polarization receiver offers ~7e6 tags/s on inputs 2-5
        model.buffer_tags = 100_000
        chosen = [2, 3, 4, 5]
        (uid,) = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.3, channels=chosen))
        summary = s.table(uid, "summary").iloc[0]
        overflows = s.table(uid, "overflows")
        stamps, channels = read_run_tags(s.catalog, uid)
        assert summary["tagger_overflowed"]
        assert summary["tagger_overflow_intervals"] == len(overflows) >= 1
        assert summary["tagger_missed_events"] > 0.5 * stamps.size  # most of the offered light was lost
        assert overflows["tagger_overflow_begin_ps"].iloc[0] > 0
        ends = overflows["tagger_overflow_end_ps"].to_numpy()
        begins = overflows["tagger_overflow_begin_ps"].to_numpy()
        assert np.all((ends == -1) | (ends > begins))
        # the file holds only tags of the recorded inputs, exactly as counted
        assert set(np.unique(channels)) <= set(chosen)
        assert stamps.size == sum(summary[f"tagger_ch{c}_tags"] for c in chosen)
        assert np.all(np.diff(stamps) >= 0)
        # closed form: the link carries max_rate x T, plus at most one buffer still draining
        assert 2e6 * 0.3 - 1 <= stamps.size <= 2e6 * 0.3 + 100_000
    finally:
        s.close()

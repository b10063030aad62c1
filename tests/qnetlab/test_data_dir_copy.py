"""A data directory copied to a new place (the original deleted) still finds its tags and tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

SMALL_LAB = Path(__file__).with_name("small_lab.yaml")


def test_copied_data_directory_reads_its_tags_by_uid(tmp_path):
    import h5py
    import hdf5plugin  # noqa: F401

    from qnetlab import plans, session
    from qnetlab.catalog import open_catalog

    original = tmp_path / "lab-pc" / "data"
    with session.start(SMALL_LAB, data_dir=original, live_table=False, progress=False) as s:
        uid = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.2, channels=[1, 2]))[0]
        tags_before = s.catalog[uid]["timetags"]["tagger_tag_delta_ps"].read()
        summary_before = s.table(uid, "summary")
    assert tags_before.size > 0

    copy = tmp_path / "laptop" / "copied-data"
    shutil.copytree(original, copy)
    shutil.rmtree(original)

    run = open_catalog(copy)[uid]
    tags = run["timetags"]["tagger_tag_delta_ps"].read()
    np.testing.assert_array_equal(tags, tags_before)
    (path,) = (copy / "timetags").rglob("*.h5")
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(tags, file["timetags/timestamps_delta"][:])
    summary = run["summary"].read().to_dataframe()  # an event table in the copied tables.db
    assert summary["tagger_ch2_tags"].tolist() == summary_before["tagger_ch2_tags"].tolist()
    assert (copy / ".catalog-root").read_text() == str(copy.resolve())

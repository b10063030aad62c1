import os
import subprocess
import sys
import tempfile
import textwrap

import h5py
import hdf5plugin  # noqa: F401  (registers the filters for plain h5py reads)
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnetlab.analysis.timetags import (
    CoincidenceCounter,
    CorrelationCounter,
    RateCounter,
    TagFileWriter,
    correlation_histogram,
    count_coincidences,
    count_tags,
    feed,
    iter_tags,
    read_tags,
    tag_count,
)
from qnetlab.analysis.timetags._synthetic import lab_stream


@pytest.fixture(scope="module")
def stream():
    t, c = lab_stream(300_000, rate_hz=4e6, seed=11)
    return t + 10**12, c  # a large absolute start, as from a running tagger


def write(path, t, c, cuts, **kwargs):
    with TagFileWriter(path, **kwargs) as w:
        for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=False):
            w.append(t[lo:hi], c[lo:hi])
    return path


@pytest.mark.parametrize("swmr", [True, False])
def test_round_trip_in_chunks(tmp_path, stream, swmr):
    t, c = stream
    path = write(
        tmp_path / "tags.h5", t, c, [0, 1, 70_000, 70_000, 200_001], swmr=swmr, attrs={"instrument": "tagger1"}
    )
    got_t, got_c = read_tags(path)
    assert got_t.dtype == np.int64 and got_c.dtype == np.int32
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_c, c)
    assert tag_count(path) == len(t)
    with h5py.File(path, "r") as f:  # the documented plain decode
        g = f["timetags"]
        assert g.attrs["encoding_version"] == 1 and g.attrs["timestamps_units"] == "ps"
        assert g.attrs["instrument"] == "tagger1"
        np.testing.assert_array_equal(np.cumsum(g["timestamps_delta"][:]), t)
        np.testing.assert_array_equal(g["channels"][:], c)


def test_slices_chunks_and_several_files(tmp_path, stream):
    t, c = stream
    half = len(t) // 2
    a = write(tmp_path / "a.h5", t[:half], c[:half], [1000, 50_000])
    b = write(tmp_path / "b.h5", t[half:], c[half:], [7])
    for start, stop in [(0, 10), (999, 1001), (1000, 50_001), (half - 3, half + 3), (len(t) - 5, None), (5, 5)]:
        got_t, got_c = read_tags([a, b], start=start, stop=stop)
        np.testing.assert_array_equal(got_t, t[start:stop])
        np.testing.assert_array_equal(got_c, c[start:stop])
    chunks = list(iter_tags([a, b], chunk_tags=40_000))
    assert max(len(x) for x, _ in chunks) == 40_000
    np.testing.assert_array_equal(np.concatenate([x for x, _ in chunks]), t)
    np.testing.assert_array_equal(np.concatenate([y for _, y in chunks]), c)
    assert tag_count([a, b]) == len(t)


def test_append_mode_continues_and_adds_groups(tmp_path, stream):
    t, c = stream
    path = write(tmp_path / "tags.h5", t[:1000], c[:1000], [])
    with TagFileWriter(path, mode="a") as w:
        assert w.n_tags == 1000 and w.last_ps == t[999]
        assert w.append(t[1000:], c[1000:]) == (1000, len(t))
        assert w.append(t[:0], c[:0]) == (len(t), len(t))
    with TagFileWriter(path, group="second", mode="a", channel_dtype="int16") as w:
        w.append([5, 6], [-300, 300])
    np.testing.assert_array_equal(read_tags(path)[0], t)
    np.testing.assert_array_equal(read_tags(path, "second")[1], [-300, 300])


def test_empty_file_and_empty_appends(tmp_path):
    path = tmp_path / "empty.h5"
    with TagFileWriter(path) as w:
        w.append([], [])
    t, c = read_tags(path)
    assert len(t) == len(c) == 0 and t.dtype == np.int64
    assert list(iter_tags(path)) == []


def test_rejects_unsorted_and_out_of_range(tmp_path):
    with TagFileWriter(tmp_path / "x.h5") as w:
        w.append([10, 20], [1, 2])
        with pytest.raises(ValueError, match="sorted"):
            w.append([15], [1])
        with pytest.raises(ValueError, match="sorted"):
            w.append([30, 25], [1, 1])
        with pytest.raises(ValueError, match="int16"):
            w.append([30], [200])
        w.append([20], [3])  # equal to the last tag is fine
    np.testing.assert_array_equal(read_tags(tmp_path / "x.h5")[0], [10, 20, 20])
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("timetags")
    with pytest.raises(ValueError, match="not a qnetlab.timetags"):
        read_tags(tmp_path / "other.h5")
    with pytest.raises(KeyError, match="nope"):
        read_tags(tmp_path / "x.h5", "nope")


@pytest.mark.parametrize("swmr", [True, False])
def test_killed_writer_keeps_every_appended_chunk(tmp_path, swmr):
    path = tmp_path / "killed.h5"
    script = textwrap.dedent(f"""
        import os, signal, numpy as np
        from qnetlab.analysis.timetags import TagFileWriter
        from qnetlab.analysis.timetags._synthetic import lab_stream
        t, c = lab_stream(250_000, seed=3)
        w = TagFileWriter({str(path)!r}, swmr={swmr})
        for lo in range(0, 200_000, 50_000):
            w.append(t[lo:lo + 50_000], c[lo:lo + 50_000])
        os.kill(os.getpid(), signal.SIGKILL)      # never closed
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == -9, done.stderr.decode()
    t, c = lab_stream(250_000, seed=3)
    got_t, got_c = read_tags(path)
    np.testing.assert_array_equal(got_t, t[:200_000])
    np.testing.assert_array_equal(got_c, c[:200_000])


def test_reader_follows_a_live_writer(tmp_path, stream):
    t, c = stream
    path = tmp_path / "live.h5"
    with TagFileWriter(path) as w:
        w.append(t[:1000], c[:1000])
        np.testing.assert_array_equal(read_tags(path)[0], t[:1000])
        w.append(t[1000:3000], c[1000:3000])
        np.testing.assert_array_equal(read_tags(path, start=900)[0], t[900:3000])


def test_file_module_does_not_import_numba():
    code = (
        "import sys, analysis.timetags, analysis.timetags.tagfile; "
        "assert 'numba' not in sys.modules; "
        "from qnetlab.analysis.timetags import count_coincidences; "
        "assert 'numba' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 10**7), max_size=300),
    st.lists(st.integers(0, 300), max_size=5),
    st.integers(0, 300),
    st.integers(0, 300),
)
def test_round_trip_property(gaps, cuts, start, stop):
    t = np.cumsum(np.asarray(gaps, np.int64))
    c = (t % 7 - 3).astype(np.int32)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(os.path.join(tmp, "p.h5"), t, c, sorted(min(x, len(t)) for x in cuts))
        got_t, got_c = read_tags(path)
        np.testing.assert_array_equal(got_t, t)
        np.testing.assert_array_equal(got_c, c)
        np.testing.assert_array_equal(read_tags(path, start=start, stop=stop)[0], t[start:stop])


def test_reanalysis_of_a_file_equals_the_live_counts(tmp_path, stream):
    t, c = stream
    path = write(tmp_path / "run.h5", t, c, [100_000, 200_000])
    coinc, corr, rates = feed(
        iter_tags(path, chunk_tags=30_000),
        CoincidenceCounter((1, 2), 500, {1: 1000}),
        CorrelationCounter(1, 2, 20, 200, {1: 1000}),
        RateCounter(),
    )
    assert coinc.result() == count_coincidences(t, c, (1, 2), 500, {1: 1000}) > 0
    np.testing.assert_array_equal(corr.result(), correlation_histogram(t, c, 1, 2, 20, 200, {1: 1000}))
    assert rates.counts() == count_tags(c)

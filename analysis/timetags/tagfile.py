"""Raw time-tag files: delta-encoded, compressed HDF5, appended chunk by chunk.

Layout (encoding version 1)
---------------------------
One stream per HDF5 group (default ``/timetags``)::

    <group>/                  attrs: format = "qnetlab.timetags", encoding_version = 1,
                                     timestamps_units = "ps",
                                     decode = "timestamps_ps = numpy.cumsum(timestamps_delta)",
                                     plus the caller's attrs
    <group>/timestamps_delta  int64 (n,)   t[0], t[1] - t[0], t[2] - t[1], ... (>= 0)
    <group>/channels          int8 (n,)    channel of each tag (int16 if asked for)
    <group>/blocks            int64 (m, 2) per append: [index of its first tag, its time ps]

Both tag datasets are chunked (65536 tags) and compressed with Bitshuffle + LZ4
(hdf5plugin filter 32008): bitshuffle turns the high, always-zero bits of the deltas and
of the channel numbers into long zero runs that LZ4 removes. ``blocks`` is an index for
reading from the middle (``start``); the tag count is ``len(timestamps_delta)``.

Reading with plain h5py::

    import h5py, hdf5plugin, numpy as np
    with h5py.File(path, "r", swmr=True) as f:
        t_ps = np.cumsum(f["timetags/timestamps_delta"][:])
        channels = f["timetags/channels"][:].astype(np.int32)

The writer flushes the file after every :meth:`TagFileWriter.append`, in HDF5 SWMR mode
(``libver="latest"``), so a reader can follow a running acquisition, and a writer that
dies (kill, power cut after the flush) leaves a file holding every tag appended before.
Such a never-closed file must be opened with ``swmr=True`` (or cleaned with
``h5clear -s``); a closed file opens either way.
"""

import os
from typing import Any

import h5py
import hdf5plugin
import numpy as np

FORMAT = "qnetlab.timetags"
ENCODING_VERSION = 1
CHUNK_TAGS = 65536
DEFAULT_GROUP = "timetags"


def _compression():
    return hdf5plugin.Bitshuffle(cname="lz4")


class TagFileWriter:
    """Append a tag stream to an HDF5 file, flushed after each chunk.

    Parameters
    ----------
    path : str or os.PathLike
        File to write; created (or truncated, ``mode="w"``), or opened to add or
        continue the stream (``mode="a"``).
    group : str
        HDF5 group of the stream.
    channel_dtype : {"int8", "int16"}
        Storage type of the channel numbers; a channel outside its range is an error.
    attrs : mapping, optional
        Extra group attributes (e.g. ``{"instrument": "tagger", "resolution_ps": 8}``),
        written when the group is created.
    mode : {"w", "a"}
        ``"w"`` new file; ``"a"`` existing file, continuing `group` if it exists.
    swmr : bool
        Use HDF5 single-writer/multiple-reader mode (readers may follow the file live).
    chunk_tags : int
        HDF5 chunk length in tags.

    Examples
    --------
    >>> with TagFileWriter("run.h5") as w:
    ...     for t, c in tagger_chunks:
    ...         w.append(t, c)
    """

    def __init__(
        self, path, group=DEFAULT_GROUP, *, channel_dtype="int8", attrs=None, mode="w", swmr=True, chunk_tags=CHUNK_TAGS
    ):
        if mode not in ("w", "a"):
            raise ValueError(f"TagFileWriter mode must be 'w' or 'a', got {mode!r}")
        self.path = os.fspath(path)
        self.group = group
        self._file = h5py.File(self.path, mode, libver="latest" if swmr else "earliest", rdcc_nbytes=32 * 2**20)
        try:
            g: Any
            if group in self._file:
                g = self._file[group]
                _check_group(g, self.path)
            else:
                g = self._create(group, channel_dtype, attrs or {}, int(chunk_tags))
            self._t: Any = g["timestamps_delta"]
            self._c: Any = g["channels"]
            self._blocks: Any = g["blocks"]
            info = np.iinfo(self._c.dtype)
            self._c_range = (int(info.min), int(info.max))
            self.n_tags = min(len(self._t), len(self._c))
            self.last_ps = _last_timestamp(g, self.n_tags)
            if swmr:
                self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            raise

    def _create(self, group, channel_dtype, attrs, chunk_tags):
        if np.dtype(channel_dtype) not in (np.dtype("int8"), np.dtype("int16")):
            raise ValueError(f"channel_dtype must be int8 or int16, got {channel_dtype!r}")
        g = self._file.require_group(group)
        g.attrs.update(
            {
                "format": FORMAT,
                "encoding_version": ENCODING_VERSION,
                "timestamps_units": "ps",
                "decode": "timestamps_ps = numpy.cumsum(timestamps_delta)",
            }
        )
        g.attrs.update(attrs)
        for name, dtype in (("timestamps_delta", "int64"), ("channels", channel_dtype)):
            g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(chunk_tags,), **_compression())
        g.create_dataset("blocks", shape=(0, 2), maxshape=(None, 2), dtype="int64", chunks=(1024, 2))
        return g

    def append(self, timestamps_ps, channels):
        """Write one chunk of the stream and flush it to disk.

        Parameters
        ----------
        timestamps_ps : array of int64
            Sorted tag times, ps, >= 0 and none before the last tag already written.
        channels : array of int
            Channel of each tag.

        Returns
        -------
        (int, int)
            Index range ``[start, stop)`` of these tags in the file's stream (e.g. for
            a StreamDatum's indices).
        """
        t = np.ascontiguousarray(timestamps_ps, dtype=np.int64)
        c = np.asarray(channels)
        n = len(t)
        if t.ndim != 1 or c.shape != t.shape:
            raise ValueError(
                f"{self.path}: timestamps_ps and channels must be 1-d of equal "
                f"length, got shapes {t.shape} and {c.shape}"
            )
        if n == 0:
            return self.n_tags, self.n_tags
        delta = np.empty(n, np.int64)
        delta[0] = t[0] - self.last_ps
        np.subtract(t[1:], t[:-1], out=delta[1:])
        if delta.min() < 0:
            raise ValueError(
                f"{self.path}: timestamps must be sorted and not before the last tag written ({self.last_ps} ps)"
            )
        lo, hi = int(c.min()), int(c.max())
        if lo < self._c_range[0] or hi > self._c_range[1]:
            raise ValueError(
                f"{self.path}: channel numbers {lo}..{hi} do not fit the "
                f"file's {self._c.dtype} channels (limit {self._c_range[0]}.."
                f"{self._c_range[1]}); create it with channel_dtype='int16'"
            )
        start = self.n_tags
        self._t.resize((start + n,))
        self._t[start:] = delta
        self._c.resize((start + n,))
        self._c[start:] = c.astype(self._c.dtype, copy=False)
        m = len(self._blocks)
        self._blocks.resize((m + 1, 2))
        self._blocks[m] = (start, t[0])
        self._file.flush()
        self.n_tags = start + n
        self.last_ps = int(t[-1])
        return start, self.n_tags

    def flush(self):
        """Flush the file (``append`` already does)."""
        self._file.flush()

    def close(self):
        """Flush and close the file."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_group(g, path):
    if g.attrs.get("format") != FORMAT:
        raise ValueError(f"{path}: group {g.name} is not a {FORMAT} stream")
    version = int(g.attrs.get("encoding_version", -1))
    if version != ENCODING_VERSION:
        raise ValueError(
            f"{path}: {g.name} has encoding_version {version}; this reader knows version {ENCODING_VERSION}"
        )


def _last_timestamp(g, n):
    """Time of tag ``n - 1`` (0 when n == 0), from the nearest block."""
    if n == 0:
        return 0
    return int(_decode(g, n - 1, n)[0][0])


def _decode(g, start, stop):
    """Tags ``[start, stop)`` of group `g` as (int64 ps, int32 channels)."""
    blocks = g["blocks"][:]
    usable = blocks[blocks[:, 0] <= start]
    if len(usable):
        first, first_ps = (int(x) for x in usable[-1])
    else:
        first, first_ps = 0, None
    delta = g["timestamps_delta"][first:stop]
    t = np.cumsum(delta)
    if first_ps is not None:
        t += first_ps - t[0]
    t = t[start - first :]
    c = g["channels"][start:stop].astype(np.int32)
    return t, c


def _as_paths(paths):
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def _open(path):
    return h5py.File(path, "r", swmr=True)


def _group(f, group, path) -> Any:  # h5py's items are untyped unions: a Group here
    if group not in f:
        raise KeyError(f"{path}: no time-tag group {group!r}")
    g = f[group]
    _check_group(g, path)
    return g


def _n_tags(g):
    return min(len(g["timestamps_delta"]), len(g["channels"]))


def tag_count(paths, group=DEFAULT_GROUP):
    """Number of tags stored in the file(s)."""
    total = 0
    for path in _as_paths(paths):
        with _open(path) as f:
            total += _n_tags(_group(f, group, path))
    return total


def read_tags(paths, group=DEFAULT_GROUP, *, start=0, stop=None):
    """Read a stream back as ``(timestamps_ps int64, channels int32)``.

    Parameters
    ----------
    paths : path or sequence of paths
        One file, or several files of one acquisition in time order (concatenated).
    group : str
        HDF5 group of the stream in each file.
    start, stop : int, optional
        Tag index range ``[start, stop)`` over the whole (concatenated) stream.
    """
    ts, cs = [], []
    offset = 0
    for path in _as_paths(paths):
        with _open(path) as f:
            g = _group(f, group, path)
            n = _n_tags(g)
            lo = max(start - offset, 0)
            hi = n if stop is None else min(stop - offset, n)
            if lo < hi:
                t, c = _decode(g, lo, hi)
                ts.append(t)
                cs.append(c)
            offset += n
    if not ts:
        return np.empty(0, np.int64), np.empty(0, np.int32)
    if len(ts) == 1:
        return ts[0], cs[0]
    return np.concatenate(ts), np.concatenate(cs)


def iter_tags(paths, group=DEFAULT_GROUP, *, chunk_tags=1 << 22):
    """Yield the stream as consecutive ``(timestamps_ps, channels)`` chunks.

    Parameters
    ----------
    paths : path or sequence of paths
        One file, or several files of one acquisition in time order.
    group : str
        HDF5 group of the stream in each file.
    chunk_tags : int
        Tags per yielded chunk (the last chunk of each file may be shorter).
    """
    for path in _as_paths(paths):
        with _open(path) as f:
            g = _group(f, group, path)
            dt, ch = g["timestamps_delta"], g["channels"]
            n = _n_tags(g)
            base = np.int64(0)
            for lo in range(0, n, chunk_tags):
                hi = min(lo + chunk_tags, n)
                t = np.cumsum(dt[lo:hi])
                t += base
                base = t[-1]
                yield t, ch[lo:hi].astype(np.int32)

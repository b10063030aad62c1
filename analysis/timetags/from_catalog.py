"""Raw tags of a recorded run, found through the catalog by run uid.

The time-tagger device links each streaming run to its HDF5 file(s) with
StreamResource/StreamDatum documents; the catalog keeps those links as the data
sources of the run's ``timetags`` stream. These functions take any Tiled container of
Bluesky runs (embedded or served) and read the files with :mod:`.tagfile`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

DELTA_SUFFIX = "_tag_delta_ps"


def tag_file_paths(run, stream: str = "timetags") -> list[Path]:
    """The HDF5 files holding a run's raw tags, in time order.

    Parameters
    ----------
    run : a BlueskyRun from the catalog (``catalog[uid]``)
    stream : name of the stream the tagger recorded into
    """
    if stream not in run:
        raise KeyError(f"run {run.metadata['start']['uid']} has no stream {stream!r}; it has {sorted(run)}")
    node = run[stream]
    keys = [key for key in node if key.endswith(DELTA_SUFFIX)]
    if len(keys) != 1:
        raise KeyError(f"stream {stream!r} should hold one '*{DELTA_SUFFIX}' array, found {sorted(node)}")
    paths = []
    for source in node[keys[0]].data_sources():
        for asset in sorted(source.assets, key=lambda a: a.num or 0):
            paths.append(Path(unquote(urlparse(asset.data_uri).path)))
    return paths


def read_run_tags(catalog, uid: str, stream: str = "timetags") -> tuple[np.ndarray, np.ndarray]:
    """``(timestamps_ps int64, channels int32)`` of run ``uid``, decoded from its files."""
    from qnetlab.analysis.timetags.tagfile import read_tags

    return read_tags(tag_file_paths(catalog[uid], stream))


def iter_run_tags(catalog, uid: str, stream: str = "timetags", chunk_tags: int = 1 << 22):
    """The tags of run ``uid`` in chunks, for streams too large to hold at once."""
    from qnetlab.analysis.timetags.tagfile import iter_tags

    return iter_tags(tag_file_paths(catalog[uid], stream), chunk_tags=chunk_tags)


def read_run_tags_served(catalog, uid: str, stream: str = "timetags") -> tuple[np.ndarray, np.ndarray]:
    """``(timestamps_ps int64, channels int32)`` of run ``uid``, read through the catalog.

    For a client of a catalog server that cannot open the node's files: the server reads them
    (its readable storage holds the node's data directory) and sends the delta and channel arrays.
    """
    node = run_stream(catalog[uid], stream)
    (delta_key,) = [key for key in node if key.endswith(DELTA_SUFFIX)]
    channel_key = delta_key[: -len(DELTA_SUFFIX)] + "_tag_channel"
    delta = np.asarray(node[delta_key].read(), dtype=np.int64)
    return np.cumsum(delta), np.asarray(node[channel_key].read(), dtype=np.int32)


def run_stream(run, stream: str):
    """A run's stream node; a KeyError that lists the streams the run has."""
    if stream not in run:
        raise KeyError(f"run {run.metadata['start']['uid']} has no stream {stream!r}; it has {sorted(run)}")
    return run[stream]

"""Time-tag engine: count rates, coincidences, correlation histograms, accidentals,
exact chunked streaming, and the raw-tag HDF5 file format.

A stream is the pair ``(timestamps_ps, channels)``: int64 picosecond tags sorted by time
and an int32 channel number per tag (Swabian ``getTimestamps()``/``getChannels()``).

=============================  ==========================================
:mod:`.rates`                  ``count_tags``, ``count_rates``, ``RateCounter``
:mod:`.coincidences`           ``count_coincidences``, ``CoincidenceCounter``
:mod:`.correlation`            ``correlation_histogram``, ``CorrelationCounter``,
                               ``bin_edges_ps``, ``g2_normalize``
:mod:`.accidentals`            ``expected_accidentals``, ``offset_accidentals``,
                               ``coincidence_to_accidental_ratio``
:mod:`.stream`                 ``StreamAnalysis`` (exact chunked evaluation), ``feed``
:mod:`.tagfile`                ``TagFileWriter``, ``read_tags``, ``iter_tags``, ``tag_count``
:mod:`.from_catalog`           ``read_run_tags``, ``iter_run_tags``, ``tag_file_paths`` (by run uid)
=============================  ==========================================

Names are loaded on first use, so ``import analysis.timetags`` (or only its file
module) does not import numba.
"""

import importlib

_PUBLIC = {
    "rates": ["count_tags", "count_rates", "RateCounter"],
    "coincidences": ["count_coincidences", "CoincidenceCounter"],
    "correlation": ["correlation_histogram", "CorrelationCounter", "bin_edges_ps", "g2_normalize"],
    "accidentals": ["expected_accidentals", "offset_accidentals", "coincidence_to_accidental_ratio"],
    "stream": ["StreamAnalysis", "feed"],
    "tagfile": ["TagFileWriter", "read_tags", "iter_tags", "tag_count"],
    "from_catalog": ["read_run_tags", "iter_run_tags", "tag_file_paths"],
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))

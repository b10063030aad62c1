"""The Swabian driver over the emulated SDK; the emulated SDK against the vendor package."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from qnetlab.drivers.errors import InstrumentError
from qnetlab.drivers.swabian import SwabianTimeTagger


@pytest.fixture
def sdk_and_world(make_world):
    from qnetlab.sim_backends.emulators.timetagger_sdk import emulated_timetagger_sdk

    world = make_world(dead_time_ps=10_000)
    return emulated_timetagger_sdk(world), world


def test_settings_round_trip(sdk_and_world):
    sdk, world = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    assert tagger.serial == "SIM-0001"
    assert tagger.channel_list() == [1, 2, -1, -2]  # rising and falling edges, as the vendor's
    assert tagger.set_trigger_level(1, 0.25) == 0.25
    assert tagger.set_input_delay(2, 1500) == 1500
    assert tagger.set_dead_time(1, 500) == 2000  # rounded up to the tagger's minimum
    assert world.tagger.channels[2].delay_ps == 1500
    tagger.close()


def test_unknown_channel_names_instrument_and_call(sdk_and_world):
    sdk, _ = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    with pytest.raises(InstrumentError, match=r"tagger: 'setInputDelay\(9, 100\)': Invalid channel number 9"):
        tagger.set_input_delay(9, 100)


def test_unknown_serial(sdk_and_world):
    sdk, _ = sdk_and_world
    with pytest.raises(InstrumentError, match="No Time Tagger with serial 'XYZ'"):
        SwabianTimeTagger("tagger", serial="XYZ", sdk=sdk)


def test_count_rates_and_delay_shift_correlation(sdk_and_world):
    sdk, _world = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    rates = tagger.count_rates([1, 2], 0.2)
    assert rates.shape == (2,) and np.all(rates > 1e5)
    # both detectors click only on laser pulses (12.5 ns apart): within ±5 ns the t1 − t2
    # histogram has one peak, at the input delay of channel 1
    tagger.set_input_delay(1, 3_000)
    corr = tagger.start_correlation(1, 2, binwidth_ps=100, n_bins=100, duration_ps=int(0.05e12))
    tagger.wait(corr, 10)
    hist, index = corr.getData(), corr.getIndex()
    assert index[np.argmax(hist)] == pytest.approx(3_000, abs=200)


def test_stream_returns_every_tag_once(sdk_and_world):
    sdk, _ = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    stream = tagger.open_stream([1, 2], n_max_events=10**7)
    rate = tagger.start_count_rates([1, 2], 1)  # a second measurement, running alongside
    stream.startFor(int(0.05e12))
    tagger.wait(stream, 10)
    first = stream.getData()
    assert first.size > 0 and np.all(np.diff(first.getTimestamps()) >= 0)
    assert stream.getData().size == 0
    del rate


def _vendor_params(doc: str) -> list[str]:
    return re.findall(r":param (\w+):", doc or "")


def test_emulated_sdk_matches_vendor_names_and_signatures(sdk_and_world):
    vendor = pytest.importorskip("Swabian.TimeTagger", reason="vendor SDK (test extra) not installed")
    sdk, _ = sdk_and_world
    from qnetlab.sim_backends.emulators.timetagger_sdk import EmulatedTimeTagger

    checked = 0
    for name in ("createTimeTagger", "freeTimeTagger", "Countrate", "Correlation", "TimeTagStream", "CHANNEL_UNUSED"):
        assert hasattr(vendor, name), name
    assert sdk.CHANNEL_UNUSED == vendor.CHANNEL_UNUSED
    pairs = [(getattr(sdk, n), getattr(vendor, n)) for n in ("Countrate", "Correlation", "TimeTagStream")]
    pairs += [(sdk.createTimeTagger, vendor.createTimeTagger)]
    pairs += [
        (getattr(EmulatedTimeTagger, n), getattr(vendor.TimeTagger, n))
        for n in dir(EmulatedTimeTagger)
        if not n.startswith("_")
    ]
    for ours, theirs in pairs:
        target = ours.__init__ if inspect.isclass(ours) else ours
        doc = (theirs.__init__ if inspect.isclass(theirs) else theirs).__doc__
        params = [p for p in inspect.signature(target).parameters if p != "self"]
        documented = _vendor_params(doc)
        if documented:  # our arguments are the vendor's, in the vendor's order
            assert params == documented[: len(params)], (ours, params, documented)
            checked += 1
    for cls in ("Countrate", "Correlation", "TimeTagStream"):
        for method in dir(getattr(sdk, cls)):
            if not method.startswith("_"):
                assert hasattr(getattr(vendor, cls), method), f"{cls}.{method} is not in the vendor SDK"
    buffer_methods = ["getTimestamps", "getChannels", "size", "hasOverflows"]
    assert all(hasattr(vendor.TimeTagStreamBuffer, m) for m in buffer_methods)
    assert checked >= 10


def test_emulated_enums_and_buffer_methods_match_the_vendor(sdk_and_world):
    vendor = pytest.importorskip("Swabian.TimeTagger", reason="vendor SDK (test extra) not installed")
    sdk, _ = sdk_and_world
    for name in ("All", "Rising", "Falling"):
        assert getattr(sdk.ChannelEdge, name) == int(getattr(vendor.ChannelEdge, name))
    for name in ("TimeTag", "Error", "OverflowBegin", "OverflowEnd", "MissedEvents"):
        assert getattr(sdk.TagType, name) == int(getattr(vendor.TagType, name))
    from qnetlab.drivers.swabian import swabian_timetagger as driver

    assert (driver.TIME_TAG, driver.ERROR, driver.OVERFLOW_BEGIN, driver.OVERFLOW_END, driver.MISSED_EVENTS) == tuple(
        int(vendor.TagType.__members__[n]) for n in ("TimeTag", "Error", "OverflowBegin", "OverflowEnd", "MissedEvents")
    )
    from qnetlab.sim_backends.emulators.timetagger_sdk import TimeTagStreamBuffer

    for method in dir(TimeTagStreamBuffer):
        if not method.startswith("_"):
            assert hasattr(vendor.TimeTagStreamBuffer, method), method


def test_a_measurement_runs_from_creation_and_the_driver_stream_starts_empty(sdk_and_world):
    sdk, _ = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    bare = sdk.TimeTagStream(tagger._tagger, 10**7, [1, 2])  # what the old driver handed out
    ours = tagger.open_stream([1, 2])
    assert bare.isRunning() and not ours.isRunning()
    tagger.count_rates([1, 2], 0.02)  # another measurement moves the world
    assert bare.getData().size > 0  # the bare stream recorded it: tags from before its start
    assert ours.getData().size == 0
    tagger.close()


def _overloaded(world, buffer_tags=2_000):
    world.tagger.max_rate_hz = 2e5  # the world offers ~5e5 tags/s on two channels
    world.tagger.buffer_tags = buffer_tags
    return world


def test_overflow_markers_are_split_from_the_tags_and_never_counted(sdk_and_world):
    from qnetlab.drivers.swabian.swabian_timetagger import split_stream_buffer

    sdk, world = sdk_and_world
    _overloaded(world)
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    stream = tagger.open_stream([1, 2], n_max_events=10**7)
    stream.startFor(int(0.1e12))
    tagger.wait(stream, 20)
    buffer = stream.getData()
    types = np.asarray(buffer.getEventTypes())
    assert buffer.hasOverflows and set(np.unique(types)) == {0, 2, 3, 4}
    chunk = split_stream_buffer(buffer, 10**7)
    assert chunk.timestamps_ps.size == np.count_nonzero(types == 0) < buffer.size
    assert set(np.unique(chunk.channels)) == {1, 2}  # no marker channel (0) among the tags
    assert np.all(np.diff(np.asarray(buffer.getTimestamps())) >= 0)  # markers in time order with the tags
    # closed form: over the run the computer receives max_rate x T (+ what the buffer held)
    kept, offered = chunk.timestamps_ps.size, chunk.timestamps_ps.size + sum(chunk.missed.values())
    assert kept == pytest.approx(2e5 * 0.1, abs=2_000 + 5)
    assert offered > 4e5 * 0.1
    assert len(chunk.overflow_begin_ps) == tagger.overflows() >= len(chunk.overflow_end_ps) >= 1
    assert not chunk.buffer_full
    tagger.close()


def test_full_stream_buffer_is_size_equal_n_max_not_has_overflows(sdk_and_world):
    from qnetlab.drivers.swabian.swabian_timetagger import split_stream_buffer

    sdk, _ = sdk_and_world
    tagger = SwabianTimeTagger("tagger", sdk=sdk)
    stream = tagger.open_stream([1, 2], n_max_events=1_000)
    stream.startFor(int(0.02e12))
    tagger.wait(stream, 10)
    buffer = stream.getData()
    assert buffer.size == 1_000 and not buffer.hasOverflows
    assert split_stream_buffer(buffer, 1_000).buffer_full
    tagger.close()

"""The free-running SPAD driver against its emulator, over pyvisa-py's TCPIP socket transport.

Every test pins the exact bytes exchanged, so a change of protocol shows up here.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.spad import ScpiFreeRunningSpad
from qnetlab.sim_backends.emulators.spad_emulator import SpadEmulator
from qnetlab.sim_backends.world.detectors import SpadModel

_names = itertools.count()


@pytest.fixture
def rig():
    model = SpadModel(efficiency=0.10, dark_count_hz=300.0, dead_time_ps=10_000_000)
    emulator = SpadEmulator(model, threading.RLock())
    spad = ScpiFreeRunningSpad(f"spad{next(_names)}", emulator.address, timeout_s=0.3)
    emulator.exchanges.clear()
    yield spad, emulator, model
    spad.close()
    emulator.close()


def test_queries_pin_commands_and_replies(rig):
    spad, emulator, _ = rig
    assert spad.identify() == "QNETLAB,SIM-SPAD-NIR,SN0001,1.0"
    assert spad.efficiency() == 0.10
    assert spad.dead_time_us() == 10.0
    assert emulator.exchanges == [
        (b"*IDN?", b"QNETLAB,SIM-SPAD-NIR,SN0001,1.0\n"),
        (b"DET:EFF?", b"10\n"),
        (b"DET:DEAD?", b"10.000\n"),
    ]


def test_settings_pin_bytes_and_change_the_detector(rig):
    spad, emulator, model = rig
    spad.efficiency(0.25)
    spad.dead_time_us(20.5)
    assert emulator.exchanges == [
        (b"DET:EFF 25", None),
        (b"SYST:ERR?", b'0,"No error"\n'),
        (b"DET:DEAD 20.500", None),
        (b"SYST:ERR?", b'0,"No error"\n'),
    ]
    assert model.efficiency == 0.25 and model.dead_time_ps == 20_500_000
    assert model.dark_rate_hz() == pytest.approx(300.0 * 2.5**2)  # dark counts follow the setting


def test_only_discrete_efficiencies_are_sent(rig):
    spad, emulator, model = rig
    with pytest.raises(ValueError, match="is not in"):
        spad.efficiency(0.12)
    with pytest.raises(ValueError, match="between 0.1 and 100.0"):
        spad.dead_time_us(500)
    assert emulator.exchanges == [] and model.efficiency == 0.10


def test_instrument_refuses_other_settings_with_scpi_codes(rig):
    spad, _, model = rig
    with pytest.raises(DeviceError) as caught:
        spad.write("DET:EFF 12")
    assert caught.value.code == -224 and "DET:EFF 12" in str(caught.value)
    with pytest.raises(DeviceError, match="-222"):
        spad.write("DET:DEAD 0.01")
    assert model.efficiency == 0.10 and model.dead_time_ps == 10_000_000


def test_persistent_timeout_raises_clear_error(rig):
    spad, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(InstrumentTimeout, match=r"'DET:DEAD\?': no reply within 0.3 s"):
        spad.dead_time_us()
    assert spad.dead_time_us() == 10.0


def test_garbled_reply_raises_malformed(rig):
    spad, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="DET:EFF"):
        spad.efficiency()
    assert spad.efficiency() == 0.10


def test_non_integer_efficiency_reply_raises_malformed(rig, monkeypatch):
    spad, emulator, _ = rig
    monkeypatch.setattr(emulator, "handle", lambda line: "ten" if line == "DET:EFF?" else None)
    with pytest.raises(MalformedReply, match="expected whole percent, got 'ten'"):
        spad.efficiency()


def test_dropped_link_during_setting_is_not_resent(rig):
    spad, emulator, model = rig
    emulator.inject("drop")
    with pytest.raises(LinkDropped, match="DET:EFF 30.*may not have been applied"):
        spad.efficiency(0.30)
    assert [raw for raw, _ in emulator.exchanges].count(b"DET:EFF 30") == 1
    assert model.efficiency == 0.10
    assert spad.efficiency() == 0.10

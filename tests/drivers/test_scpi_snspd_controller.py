"""The SNSPD controller driver against its emulator, over pyvisa-py's TCPIP socket transport.

Every test pins the exact bytes exchanged, so a change of protocol shows up here.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.snspd import ScpiSnspdController
from qnetlab.sim_backends.emulators.snspd_emulator import SnspdControllerEmulator
from qnetlab.sim_backends.world.detectors import SnspdModel

_names = itertools.count()


@pytest.fixture
def rig():
    wires = {1: SnspdModel(), 2: SnspdModel(switching_current_ua=14.0)}
    emulator = SnspdControllerEmulator(wires, threading.RLock())
    controller = ScpiSnspdController(f"snspd{next(_names)}", emulator.address, channels=(1, 2), timeout_s=0.3)
    emulator.exchanges.clear()
    yield controller, emulator, wires
    controller.close()
    emulator.close()


def test_queries_pin_commands_and_replies(rig):
    controller, emulator, wires = rig
    wires[2].set_bias(9.5)
    assert controller.identify() == "QNETLAB,SIM-SNSPD-2CH,SN0001,1.0"
    assert controller.ch2.bias_ua() == 9.5
    assert controller.ch2.voltage_v() == pytest.approx(9.5e-6 * 50)
    assert controller.ch2.latched() is False
    assert emulator.exchanges == [
        (b"*IDN?", b"QNETLAB,SIM-SNSPD-2CH,SN0001,1.0\n"),
        (b"SOUR2:CURR?", b"9.500\n"),
        (b"SENS2:VOLT?", b"4.750000E-04\n"),
        (b"STAT2:LATC?", b"0\n"),
    ]


def test_bias_setting_pins_bytes_and_changes_the_wire(rig):
    controller, emulator, wires = rig
    controller.ch1.bias_ua(9.0)
    assert emulator.exchanges == [(b"SOUR1:CURR 9.000", None), (b"SYST:ERR?", b'0,"No error"\n')]
    assert wires[1].bias_ua == 9.0 and wires[2].bias_ua == 0.0
    assert wires[1].detection_efficiency() > 0.8 * wires[1].efficiency


def test_switching_latches_and_reset_recovers(rig):
    controller, emulator, wires = rig
    controller.ch1.bias_ua(12.5)  # at/above the 12 µA switching current
    assert wires[1].latched and controller.ch1.latched() is True
    assert controller.ch1.voltage_v() == pytest.approx(12.5e-6 * 5050)
    wires[1].switching_current_ua = 13.0  # e.g. the cryostat cooled further
    emulator.exchanges.clear()
    controller.ch1.reset()
    assert emulator.exchanges == [(b"SOUR1:RES", None), (b"SYST:ERR?", b'0,"No error"\n')]
    assert not wires[1].latched and wires[1].bias_ua == 12.5
    assert controller.ch1.latched() is False


def test_out_of_range_is_refused_before_sending(rig):
    controller, emulator, _ = rig
    with pytest.raises(ValueError, match="between 0.0 and 20.0"):
        controller.ch1.bias_ua(25.0)
    assert emulator.exchanges == []


def test_instrument_range_error_names_command(rig):
    controller, _emulator, wires = rig
    with pytest.raises(DeviceError) as caught:
        controller.write("SOUR1:CURR 30")
    assert caught.value.code == -222 and "SOUR1:CURR 30" in str(caught.value)
    assert wires[1].bias_ua == 0.0


def test_unknown_channel_is_refused(rig):
    controller, _emulator, _ = rig
    with pytest.raises(KeyError, match=r"no channel 3; channels are \[1, 2\]"):
        controller.channel(3)
    with pytest.raises(DeviceError, match="-114"):
        controller.write("SOUR3:CURR 1")


def test_persistent_timeout_raises_clear_error(rig):
    controller, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(InstrumentTimeout, match=r"'STAT1:LATC\?': no reply within 0.3 s"):
        controller.ch1.latched()
    assert controller.ch1.latched() is False


def test_garbled_reply_raises_malformed_then_recovers(rig):
    controller, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="SOUR1:CURR"):
        controller.ch1.bias_ua()
    assert controller.ch1.bias_ua() == 0.0


def test_one_dropped_link_during_query_is_retried(rig):
    controller, emulator, _ = rig
    emulator.inject("drop")
    assert controller.ch2.bias_ua() == 0.0


def test_dropped_link_during_setting_is_not_resent(rig):
    controller, emulator, wires = rig
    emulator.inject("drop")
    with pytest.raises(LinkDropped, match="SOUR2:CURR 8.000.*may not have been applied"):
        controller.ch2.bias_ua(8.0)
    assert [raw for raw, _ in emulator.exchanges].count(b"SOUR2:CURR 8.000") == 1
    assert wires[2].bias_ua == 0.0

"""The MDT693B/MDT694B driver against its emulator, over pyvisa-py's TCPIP socket transport.

Every test pins the exact bytes exchanged (CR-terminated commands, ``>``-terminated answers).
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.thorlabs import ThorlabsMDT693B, ThorlabsMDT694B
from qnetlab.sim_backends.emulators.piezo_emulator import MdtPiezoEmulator
from qnetlab.sim_backends.world.actuators import PhaseShifter

_names = itertools.count()


@pytest.fixture
def rig():
    shifter = PhaseShifter(v_2pi_v=60.0, voltage_range_v=(0.0, 100.0))
    emulator = MdtPiezoEmulator(shifter, threading.RLock())
    piezo = ThorlabsMDT693B(f"piezo{next(_names)}", emulator.address, timeout_s=0.3)
    emulator.exchanges.clear()
    yield piezo, emulator, shifter
    piezo.close()
    emulator.close()


def test_connect_turns_echo_off_and_reads_the_limit_switch():
    emulator = MdtPiezoEmulator(PhaseShifter(voltage_range_v=(0.0, 75.0)), threading.RLock())
    piezo = ThorlabsMDT693B(f"piezo{next(_names)}", emulator.address, timeout_s=0.3)
    try:
        assert emulator.exchanges == [(b"echo=0", b"echo=0\r>"), (b"vlimit?", b"[  75]\r>")]
        assert emulator.echo is False
        with pytest.raises(ValueError, match="between 0.0 and 75.0"):
            piezo.voltage_v(80.0)  # the driver follows the switch; nothing sent
        assert len(emulator.exchanges) == 2
    finally:
        piezo.close()
        emulator.close()


def test_queries_pin_commands_and_replies(rig):
    piezo, emulator, shifter = rig
    shifter.voltage_v = 24.68
    assert piezo.voltage_v() == 24.7  # the unit reports 0.1 V steps
    assert piezo.voltage_limit_v() == 100.0
    assert piezo.y_voltage_v() == 0.0
    assert piezo.identify().startswith("Model MDT693B Piezo Control Module; Firmware Version: ")
    assert emulator.exchanges[:3] == [
        (b"xvoltage?", b"[  24.7]\r>"),
        (b"vlimit?", b"[ 100]\r>"),
        (b"yvoltage?", b"[   0.0]\r>"),
    ]
    assert emulator.exchanges[3][0] == b"id?"


def test_setting_pins_bytes_and_moves_the_phase(rig):
    piezo, emulator, shifter = rig
    piezo.voltage_v(15.0)
    piezo.z_voltage_v(3.25)
    assert emulator.exchanges == [(b"xvoltage=15.000", b">"), (b"zvoltage=3.250", b">")]
    assert shifter.voltage_v == 15.0
    assert shifter.phase_rad() == pytest.approx(np.pi / 2)


def test_other_axis_can_drive_the_shifter():
    shifter = PhaseShifter()
    emulator = MdtPiezoEmulator(shifter, threading.RLock(), axis="y")
    piezo = ThorlabsMDT693B(f"piezo{next(_names)}", emulator.address, axis="y", timeout_s=0.3)
    try:
        piezo.voltage_v(30.0)
        piezo.x_voltage_v(10.0)
        assert shifter.voltage_v == 30.0 and piezo.x_voltage_v() == 10.0
        assert (b"yvoltage=30.000", b">") in emulator.exchanges
    finally:
        piezo.close()
        emulator.close()


def test_single_axis_model_has_only_x():
    emulator = MdtPiezoEmulator(PhaseShifter(), threading.RLock(), model="MDT694B")
    piezo = ThorlabsMDT694B(f"piezo{next(_names)}", emulator.address, timeout_s=0.3)
    try:
        assert "y_voltage_v" not in piezo.parameters
        with pytest.raises(ValueError, match="axis 'y'"):
            ThorlabsMDT694B("bad", emulator.address, axis="y")
        with pytest.raises(DeviceError, match="CMD_NOT_DEFINED"):
            piezo.write("yvoltage=1")
    finally:
        piezo.close()
        emulator.close()


def test_instrument_rejects_voltage_above_its_switch(rig):
    piezo, emulator, shifter = rig
    with pytest.raises(DeviceError) as caught:
        piezo.write("xvoltage=120")
    assert caught.value.code == 2 and "CMD_ARG_INVALID" in str(caught.value)
    assert piezo.name in str(caught.value) and "xvoltage=120" in str(caught.value)
    assert emulator.exchanges == [(b"xvoltage=120", b"CMD_ARG_INVALID>")]
    assert shifter.voltage_v == 0.0


def test_one_timeout_is_retried_after_reconnect(rig):
    piezo, emulator, _ = rig
    emulator.inject("timeout")
    assert piezo.voltage_v() == 0.0
    assert emulator.exchanges == [(b"xvoltage?", None), (b"xvoltage?", b"[   0.0]\r>")]


def test_persistent_timeout_raises_clear_error(rig):
    piezo, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(InstrumentTimeout, match=r"'xvoltage\?': no reply within 0.3 s"):
        piezo.voltage_v()
    assert piezo.voltage_v() == 0.0


def test_garbled_reply_raises_malformed(rig):
    piezo, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="xvoltage"):
        piezo.voltage_v()
    assert piezo.voltage_v() == 0.0


def test_unbracketed_reply_raises_malformed(rig, monkeypatch):
    piezo, emulator, _ = rig
    monkeypatch.setattr(emulator, "handle", lambda line: "24.7\r")
    with pytest.raises(MalformedReply, match=r"expected a bracketed number, got '24.7"):
        piezo.voltage_v()


def test_truncated_reply_does_not_poison_the_next_answer(rig):
    piezo, emulator, shifter = rig
    shifter.voltage_v = 5.0
    emulator.inject("truncate")
    assert piezo.voltage_v() == 5.0
    assert piezo.voltage_limit_v() == 100.0


def test_dropped_link_during_query_reconnects(rig):
    piezo, emulator, _ = rig
    emulator.inject("drop")
    assert piezo.voltage_v() == 0.0


def test_dropped_link_during_setting_is_not_resent(rig):
    piezo, emulator, shifter = rig
    emulator.inject("drop")
    with pytest.raises(LinkDropped, match="xvoltage=11.000.*may not have been applied"):
        piezo.voltage_v(11)
    assert [raw for raw, _ in emulator.exchanges].count(b"xvoltage=11.000") == 1
    assert shifter.voltage_v == 0.0
    assert piezo.voltage_v() == 0.0


@pytest.mark.parametrize(("firmware", "style"), [("1.09", ">"), ("1.06", "*!")])
def test_both_prompt_styles_are_detected_at_connect(firmware, style):
    shifter = PhaseShifter(voltage_range_v=(0.0, 150.0))
    emulator = MdtPiezoEmulator(shifter, threading.RLock(), firmware=firmware)
    piezo = ThorlabsMDT693B(f"piezo{next(_names)}", emulator.address, timeout_s=0.3)
    try:
        assert piezo.prompt_style == style
        piezo.voltage_v(12.5)
        assert shifter.voltage_v == 12.5 and piezo.voltage_v() == 12.5
        assert f"Firmware Version: {firmware}" in piezo.identify()
        with pytest.raises(DeviceError, match="CMD_NOT_DEFINED"):
            piezo.write("wvoltage=1")
        done, unknown = (b">", b"CMD_NOT_DEFINED>") if style == ">" else (b"*", b"!")
        assert (b"xvoltage=12.500", done) in emulator.exchanges
        assert (b"wvoltage=1", unknown) in emulator.exchanges
    finally:
        piezo.close()
        emulator.close()


def test_old_firmware_answers_end_with_star_or_bang_on_the_wire():
    """Independent of the driver: raw socket bytes of a pre-1.09 unit."""
    import socket

    emulator = MdtPiezoEmulator(PhaseShifter(), threading.RLock(), firmware="1.06")
    try:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=1) as link:
            link.sendall(b"echo=0\rvlimit?\rbogus\r")
            received = b""
            while received.count(b"*") + received.count(b"!") < 3:
                received += link.recv(100)
        assert received == b"echo=0\r*[ 150]\r*!"
    finally:
        emulator.close()

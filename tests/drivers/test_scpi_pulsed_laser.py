"""The SCPI laser driver against its emulator, over pyvisa-py's TCPIP socket transport.

Every test pins the exact bytes exchanged, so a change of protocol shows up here.
"""

from __future__ import annotations

import itertools

import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.scpi import ScpiPulsedLaser

_names = itertools.count()


@pytest.fixture
def rig(make_world):
    from qnetlab.sim_backends.emulators.laser_emulator import ScpiLaserEmulator

    world = make_world()
    emulator = ScpiLaserEmulator(world.laser, world.lock)
    laser = ScpiPulsedLaser(f"laser{next(_names)}", emulator.address, timeout_s=0.3)
    emulator.exchanges.clear()
    yield laser, emulator, world
    laser.close()
    emulator.close()


def test_address_is_a_visa_tcpip_socket(rig):
    laser, _emulator, _ = rig
    assert laser.visa_handle.resource_name.startswith("TCPIP0::127.0.0.1::")
    assert laser.visa_handle.resource_name.endswith("::SOCKET")


def test_queries_pin_commands_and_replies(rig):
    laser, emulator, _ = rig
    assert laser.identify() == "QNETLAB,SIM-PL1550,SN0001,1.0"
    assert laser.power_dbm() == -10.0
    assert laser.wavelength_nm() == 1550.0
    assert laser.rep_rate_hz() == 80e6
    assert laser.output() is True
    assert emulator.exchanges == [
        (b"*IDN?", b"QNETLAB,SIM-PL1550,SN0001,1.0\n"),
        (b"SOUR:POW?", b"-10.000\n"),
        (b"SOUR:WAV?", b"1550.000\n"),
        (b"SOUR:PULS:FREQ?", b"8.000000E+07\n"),
        (b"OUTP?", b"1\n"),
    ]


def test_settings_pin_commands_and_change_the_world(rig):
    laser, emulator, world = rig
    laser.power_dbm(-12.5)
    laser.output(False)
    laser.wavelength_nm(1549.32)
    assert emulator.exchanges == [
        (b"SOUR:POW -12.500", None),
        (b"SYST:ERR?", b'0,"No error"\n'),
        (b"OUTP 0", None),
        (b"SYST:ERR?", b'0,"No error"\n'),
        (b"SOUR:WAV 1549.320", None),
        (b"SYST:ERR?", b'0,"No error"\n'),
    ]
    assert world.laser.power_dbm == -12.5 and world.laser.output_on is False
    assert world.laser.wavelength_nm == pytest.approx(1549.32)


def test_out_of_range_is_refused_before_sending(rig):
    laser, emulator, _ = rig
    with pytest.raises(ValueError, match="between -20.0 and 10.0"):
        laser.power_dbm(15)
    assert emulator.exchanges == []


def test_device_error_code_names_instrument_and_command(rig):
    laser, emulator, _ = rig
    emulator.push_error(-350, "Queue overflow")
    with pytest.raises(DeviceError) as caught:
        laser.output(True)
    assert caught.value.code == -350
    assert laser.name in str(caught.value) and "OUTP 1" in str(caught.value)


def test_one_timeout_is_retried_after_reconnect(rig):
    laser, emulator, _ = rig
    emulator.inject("timeout")
    assert laser.power_dbm() == -10.0
    assert emulator.exchanges == [(b"SOUR:POW?", None), (b"SOUR:POW?", b"-10.000\n")]


def test_persistent_timeout_raises_clear_error(rig):
    laser, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(InstrumentTimeout, match=r"'SOUR:POW\?': no reply within 0.3 s"):
        laser.power_dbm()
    assert laser.power_dbm() == -10.0  # and the link works again afterwards


def test_garbled_reply_raises_malformed(rig):
    laser, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="SOUR:POW"):
        laser.power_dbm()
    assert laser.power_dbm() == -10.0


def test_non_numeric_reply_raises_malformed(rig, monkeypatch):
    laser, emulator, _ = rig
    monkeypatch.setattr(emulator, "handle", lambda line: "minus ten" if line == "SOUR:POW?" else None)
    with pytest.raises(MalformedReply, match="expected a number, got 'minus ten'"):
        laser.power_dbm()


def test_truncated_reply_does_not_poison_the_next_answer(rig):
    laser, emulator, _ = rig
    emulator.inject("truncate")
    assert laser.power_dbm() == -10.0  # the half reply is dropped with the old link
    assert laser.output() is True


def test_dropped_link_during_query_reconnects(rig):
    laser, emulator, _ = rig
    emulator.inject("drop")
    assert laser.power_dbm() == -10.0


def test_dropped_link_during_setting_is_not_resent(rig):
    laser, emulator, world = rig
    emulator.inject("drop")
    with pytest.raises(LinkDropped, match="SOUR:POW -11.000.*may not have been applied"):
        laser.power_dbm(-11)
    assert [raw for raw, _ in emulator.exchanges].count(b"SOUR:POW -11.000") == 1
    assert world.laser.power_dbm == -10.0
    assert laser.power_dbm() == -10.0


def test_pattern_upload_pins_bytes_and_fills_the_transmitter(rig):
    import numpy as np

    laser, emulator, world = rig
    laser.encoding("POL")
    laser.set_levels(0.25, 0.0)
    laser.upload_pattern(np.array([0, 1, 2, 3, 4, 6, 8, 11], np.uint8))
    laser.pattern_running(True)
    assert [raw for raw, _ in emulator.exchanges if not raw.startswith(b"SYST")] == [
        b"SOUR:ENC POL",
        b"SOUR:PATT:LEV 0.2500,0.0000",
        b"SOUR:PATT:DATA 0123468B",
        b"SOUR:PATT:STAT 1",
    ]
    tx = world.laser
    assert tx.encoding == "polarization" and tx.pattern_on and tx.level_ratios == (1.0, 0.25, 0.0)
    assert np.array_equal(laser.pattern(), [0, 1, 2, 3, 4, 6, 8, 11])
    assert laser.levels() == (0.25, 0.0)


def test_bad_patterns_are_refused_before_sending(rig):
    import numpy as np

    laser, emulator, _ = rig
    with pytest.raises(ValueError, match="codes must be 0..11"):
        laser.upload_pattern(np.array([0, 12]))
    with pytest.raises(ValueError, match="vacuum_ratio <= decoy_ratio"):
        laser.set_levels(0.1, 0.3)
    assert emulator.exchanges == []


def test_a_full_pattern_memory_round_trips_and_the_record_keeps_its_start_only(rig):
    import numpy as np

    from qnetlab.sim_backends.emulators.socket_server import RECORD_BYTES

    laser, emulator, world = rig
    codes = np.random.default_rng(3).integers(0, 12, 1 << 20).astype(np.uint8)
    laser.upload_pattern(codes)
    assert np.array_equal(world.laser.pattern, codes)
    assert np.array_equal(laser.pattern(), codes)
    sent, _ = emulator.exchanges[0]
    assert sent == (b"SOUR:PATT:DATA " + bytes(b"0123456789AB"[c] for c in codes[:RECORD_BYTES]))[:RECORD_BYTES]
    assert all(len(raw) <= RECORD_BYTES and len(reply or b"") <= RECORD_BYTES for raw, reply in emulator.exchanges)


def test_pattern_read_back_takes_lower_case_and_refuses_other_characters(rig, monkeypatch):
    import numpy as np

    laser, _emulator, _ = rig
    monkeypatch.setattr(laser, "ask", lambda cmd: "0a1b")
    assert np.array_equal(laser.pattern(), [0, 10, 1, 11])
    monkeypatch.setattr(laser, "ask", lambda cmd: "01C2")
    with pytest.raises(MalformedReply, match="hex digits 0-B"):
        laser.pattern()


def test_emulator_refuses_a_pattern_with_a_code_out_of_range(rig):
    laser, _emulator, world = rig
    with pytest.raises(DeviceError, match="-224"):
        laser.write("SOUR:PATT:DATA 01C")
    assert world.laser.pattern.size == 1  # unchanged


def test_messages_leave_at_once_also_after_a_reconnect(rig):
    """TCP_NODELAY: a setting and its SYST:ERR? are not held back for the instrument's delayed ACK."""
    import socket

    laser, emulator, _ = rig

    def nodelay() -> int:
        sock = laser.visa_handle.visalib.sessions[laser.visa_handle.session].interface
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

    assert nodelay() == 1
    emulator.inject("drop")
    assert laser.power_dbm() == -10.0  # reconnected and retried
    assert nodelay() == 1

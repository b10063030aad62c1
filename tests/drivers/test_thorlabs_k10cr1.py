"""The K10CR1 APT driver against its emulator, over pyserial's ``socket://`` transport.

Every test pins the exact bytes exchanged (136533 counts/deg; channel 1).
"""

from __future__ import annotations

import itertools
import threading

import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.thorlabs import ThorlabsK10CR1

_names = itertools.count()
h = bytes.fromhex

REQ_POS = h("11 04 01 00 50 01")
STOP_UPDATES = h("12 00 00 00 50 01")  # HW_STOP_UPDATEMSGS
REQ_VEL = h("14 04 01 00 50 01")
GET_VEL = h("15 04 0e 00 81 50  01 00  00 00 00 00  ac 3a 00 00  52 55 5e 04")  # accel 10 deg/s², max 10 deg/s
AT_0 = h("00 00 00 00")
AT_22_5 = h("f8 df 2e 00")  # 3071992 counts
AT_M30 = h("0a 80 c1 ff")  # -4095990 counts


def get_pos(position: bytes) -> bytes:
    return h("12 04 06 00 81 50 01 00") + position


def completed(position: bytes, status: bytes = h("00 00 00 80")) -> bytes:
    return h("64 04 0e 00 81 50 01 00") + position + h("00 00 00 00") + status


@pytest.fixture
def rig():
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
    from qnetlab.sim_backends.world.actuators import Waveplate

    plate = Waveplate(0.5)
    emulator = AptRotationMountEmulator(plate, threading.RLock(), serial="55000001")
    mount = ThorlabsK10CR1(f"k10cr1_{next(_names)}", emulator.url, timeout_s=0.2)
    emulator.exchanges.clear()
    yield mount, emulator, plate
    mount.close()
    emulator.close()


def test_connect_reads_identity_and_velocity():
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
    from qnetlab.sim_backends.world.actuators import Waveplate

    emulator = AptRotationMountEmulator(Waveplate(), threading.RLock(), serial="55000001")
    mount = ThorlabsK10CR1(f"k10cr1_{next(_names)}", emulator.url, timeout_s=0.2, serial_number="55000001")
    try:
        info_reply = (
            h("06 00 54 00 81 50  c1 3b 47 03")
            + b"K10CR1\0\0"
            + h("10 00 00 00 01 00")
            + bytes(60)
            + h("01 00 00 00 01 00")
        )
        assert emulator.exchanges == [(h("05 00 00 00 50 01"), info_reply), (STOP_UPDATES, None), (REQ_VEL, GET_VEL)]
        assert mount.info["model"] == "K10CR1" and mount.info["serial_number"] == 55000001
        assert mount.velocity_deg_s() == pytest.approx(10.0, rel=1e-6)
    finally:
        mount.close()
        emulator.close()


def test_position_pins_poscounter_request(rig):
    mount, emulator, plate = rig
    plate.angle_deg = -4095990 / 136533
    assert mount.angle_deg() == pytest.approx(-30.0, abs=1e-5)
    assert emulator.exchanges == [(REQ_POS, get_pos(AT_M30))]


def test_move_pins_bytes_and_returns_position_from_move_completed(rig):
    mount, emulator, plate = rig
    assert mount.move_to(22.5) == pytest.approx(3071992 / 136533)
    assert emulator.exchanges == [
        (REQ_POS, get_pos(AT_0)),
        (h("53 04 06 00 d0 01  01 00") + AT_22_5, completed(AT_22_5)),
    ]
    assert plate.angle_deg == pytest.approx(22.5, abs=1e-5)


def test_parameter_set_and_range(rig):
    mount, emulator, plate = rig
    mount.angle_deg(-30.0)
    assert plate.angle_deg == pytest.approx(-30.0, abs=1e-5)
    emulator.exchanges.clear()
    with pytest.raises(ValueError, match="360"):
        mount.angle_deg(400.0)
    assert emulator.exchanges == []


def test_home_writes_velocity_and_home_parameters_first(rig):
    import thorlabs_apt_protocol as apt  # independent encoder (yaq-project)

    mount, emulator, plate = rig
    plate.angle_deg = 22.5
    assert mount.home() == 0.0
    home_velocity = round(5.0 * 7329109)
    lost = h("42 04 0e 00 81 50  01 00 02 00 01 00") + bytes(8)  # direction 2, switch 1, velocity 0, offset 0
    set_home = apt.mot_set_homeparams(0x50, 0x01, 1, 2, 1, home_velocity, 0)
    assert emulator.exchanges == [
        (REQ_VEL, GET_VEL),
        (apt.mot_set_velparams(0x50, 0x01, 1, 0, 15020, 73291090), None),
        (REQ_VEL, GET_VEL),
        (apt.mot_req_homeparams(0x50, 0x01, 1), lost),
        (set_home, None),
        (apt.mot_req_homeparams(0x50, 0x01, 1), h("42 04 0e 00 81 50") + set_home[6:]),
        (apt.mot_move_home(0x50, 0x01, 1), h("44 04 01 00 01 50")),
        (REQ_POS, get_pos(AT_0)),
    ]
    assert plate.angle_deg == 0.0


def test_homing_without_home_velocity_never_ends_on_the_emulated_unit(rig):
    """The old driver's bare MOVE_HOME: at the power-up home velocity of 0 the unit never arrives."""
    from qnetlab.drivers.thorlabs.apt_messages import request

    mount, _, plate = rig
    plate.angle_deg = 22.5
    with pytest.raises(InstrumentTimeout, match="no MGMSG_MOT_MOVE_HOMED"):
        mount.move(request("MGMSG_MOT_MOVE_HOME", 1), "MGMSG_MOT_MOVE_HOMED", 1, 0.3)
    assert plate.angle_deg == 22.5


def test_stored_velocity_of_zero_is_replaced_at_connect():
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
    from qnetlab.sim_backends.world.actuators import Waveplate

    plate = Waveplate()
    emulator = AptRotationMountEmulator(plate, threading.RLock(), stored_velocity_deg_s=0.0)
    mount = ThorlabsK10CR1(f"k10cr1_{next(_names)}", emulator.url, timeout_s=0.2)
    try:
        assert mount.velocity_deg_s() == pytest.approx(10.0, rel=1e-6)
        assert mount.move_to(10.0) == pytest.approx(1365330 / 136533)
        assert plate.angle_deg == pytest.approx(10.0, abs=1e-5)
    finally:
        mount.close()
        emulator.close()


def test_unsolicited_status_updates_are_stopped_and_tolerated(monkeypatch):
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
    from qnetlab.sim_backends.world.actuators import Waveplate

    plate = Waveplate()
    emulator = AptRotationMountEmulator(plate, threading.RLock(), update_messages=True)
    mount = ThorlabsK10CR1(f"k10cr1_{next(_names)}", emulator.url, timeout_s=0.2)
    try:
        assert emulator.update_messages is False  # the driver stopped them at connect
        emulator.update_messages = True  # a unit that keeps sending them anyway
        assert mount.move_to(22.5) == pytest.approx(3071992 / 136533)
        assert mount.angle_deg() == pytest.approx(3071992 / 136533)
        sent, reply = emulator.exchanges[-1]
        assert sent == REQ_POS and reply is not None and reply[:2] == h("81 04")  # chatter came first
    finally:
        mount.close()
        emulator.close()


def test_one_timeout_is_retried_after_reconnect(rig):
    mount, emulator, _ = rig
    emulator.inject("timeout")
    assert mount.angle_deg() == 0.0
    assert emulator.exchanges == [(REQ_POS, None), (REQ_POS, get_pos(AT_0))]


def test_persistent_timeout_names_instrument_and_message(rig):
    mount, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(InstrumentTimeout, match=rf"{mount.name}: 'MGMSG_MOT_REQ_POSCOUNTER': no complete reply"):
        mount.angle_deg()
    assert mount.angle_deg() == 0.0


def test_garbled_reply_raises_malformed_then_recovers(rig):
    mount, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="'MGMSG_MOT_REQ_POSCOUNTER': reply addressed to 0x24, not the host"):
        mount.angle_deg()
    assert emulator.exchanges[0] == (REQ_POS, bytes(b ^ 0xA5 for b in get_pos(AT_0)))
    assert mount.angle_deg() == 0.0


def test_truncated_move_completion_raises_and_resynchronises(rig):
    mount, emulator, _ = rig
    emulator.inject("truncate", after=1)
    # timeout: 0.2 s + 2 x 1 deg / (10 deg/s)
    with pytest.raises(InstrumentTimeout, match="no MGMSG_MOT_MOVE_COMPLETED within 0.4 s; the move is not resent"):
        mount.move_to(1.0)
    one_deg = h("55 15 02 00")  # 136533 counts
    assert emulator.exchanges[1] == (h("53 04 06 00 d0 01 01 00") + one_deg, completed(one_deg)[:10])
    assert mount.angle_deg() == 1.0  # the half message went with the old link


def test_dropped_link_during_move_is_not_resent(rig):
    mount, emulator, plate = rig
    emulator.inject("drop", after=1)
    with pytest.raises(LinkDropped, match="'MGMSG_MOT_MOVE_ABSOLUTE'.*not resent"):
        mount.move_to(22.5)
    assert emulator.exchanges == [(REQ_POS, get_pos(AT_0)), (h("53 04 06 00 d0 01 01 00") + AT_22_5, None)]
    assert plate.angle_deg == 0.0
    assert mount.angle_deg() == 0.0


def test_dropped_link_during_query_reconnects(rig):
    mount, emulator, _ = rig
    emulator.inject("drop")
    assert mount.angle_deg() == 0.0
    assert emulator.exchanges == [(REQ_POS, None), (REQ_POS, get_pos(AT_0))]


def test_device_error_on_move_names_instrument_and_message(rig):
    mount, emulator, plate = rig
    emulator.push_error(42, "stage not homed", on=0x0453)
    with pytest.raises(
        DeviceError,
        match=rf"{mount.name}: 'MGMSG_MOT_MOVE_ABSOLUTE': device error 42 "
        r"\(about MGMSG_MOT_MOVE_ABSOLUTE\): stage not homed",
    ) as caught:
        mount.move_to(10.0)
    assert caught.value.code == 42
    _, reply = emulator.exchanges[1]
    assert reply == h("81 00 44 00 81 50  53 04 2a 00") + b"stage not homed".ljust(64, b"\0")
    assert plate.angle_deg == 0.0
    assert mount.angle_deg() == 0.0  # a device error leaves the link in step: no reconnect needed


def test_unreachable_address_names_instrument_and_address():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InstrumentError, match=rf"k10cr1_x: 'connect': cannot open socket://127.0.0.1:{port}"):
        ThorlabsK10CR1("k10cr1_x", f"socket://127.0.0.1:{port}", timeout_s=0.2)

"""The MPC320 APT driver against its emulator, over pyserial's ``socket://`` transport.

Every test pins the exact bytes exchanged (APT header ``<HHBB``: id, params or length,
destination | 0x80 with data, source; host 0x01, device 0x50).
"""

from __future__ import annotations

import io
import itertools
import threading

import pytest

from qnetlab.drivers.errors import DeviceError, InstrumentError, InstrumentTimeout, LinkDropped, MalformedReply
from qnetlab.drivers.thorlabs import ThorlabsMPC320
from qnetlab.drivers.thorlabs.apt_messages import with_data

_names = itertools.count()
h = bytes.fromhex

REQ_INFO = h("05 00 00 00 50 01")
REQ_POL = h("31 05 00 00 50 01")
GET_POL_50 = h("32 05 0c 00 81 50  00 00 32 00 00 00 0a 00 0a 00 0a 00")  # velocity 50 %, home 0, jogs 10


def req_status(bit: int) -> bytes:
    return bytes([0x90, 0x04, bit, 0x00, 0x50, 0x01])


def get_status(bit: int, position: bytes, bits: bytes = h("00 00 00 00")) -> bytes:
    return h("91 04 0e 00 81 50") + bytes([bit, 0]) + position + h("00 00 00 00") + bits


ENABLED = h("00 00 00 80")


def enable(bit: int) -> bytes:
    return bytes([0x10, 0x02, bit, 0x01, 0x50, 0x01])  # MOD_SET_CHANENABLESTATE: bitmask, 0x01


DISABLE_ALL = enable(0x00)


def moved(bit: int, start: bytes, move: bytes, target: bytes) -> list:
    """The exchanges of one move: position, enable, check, move (status at target ends it), disable."""
    return [
        (req_status(bit), get_status(bit, start)),
        (enable(bit), None),
        (req_status(bit), get_status(bit, start, ENABLED)),
        (move, get_status(bit, target, ENABLED)),
        (DISABLE_ALL, None),
        (req_status(bit), get_status(bit, target)),
    ]


ZERO = h("00 00 00 00")
AT_45 = h("6b 01 00 00")  # 363 counts = 45.04 deg


@pytest.fixture
def rig():
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    controller = PaddleController()
    emulator = AptPaddleControllerEmulator(controller, threading.RLock(), serial="38000123")
    mpc = ThorlabsMPC320(f"mpc{next(_names)}", emulator.url, timeout_s=0.2)
    emulator.exchanges.clear()
    yield mpc, emulator, controller
    mpc.close()
    emulator.close()


def test_connect_reads_identity_and_polarizer_parameters():
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    emulator = AptPaddleControllerEmulator(PaddleController(), threading.RLock(), serial="38000123")
    mpc = ThorlabsMPC320(f"mpc{next(_names)}", emulator.url, timeout_s=0.2, serial_number="38000123")
    try:
        info_reply = (
            h("06 00 54 00 81 50")
            + h("fb d5 43 02")  # serial 38000123
            + b"MPC320\0\0"
            + h("10 00")  # type 16
            + h("00 00 01 00")  # firmware minor, interim, major, unused
            + bytes(60)
            + h("01 00 00 00 03 00")  # hardware version 1, mod state 0, 3 channels
        )
        assert emulator.exchanges == [(REQ_INFO, info_reply), (REQ_POL, GET_POL_50)]
        assert mpc.get_idn() == {"vendor": "Thorlabs", "model": "MPC320", "serial": "38000123", "firmware": "1.0.0"}
        assert mpc.info["channels"] == 3
    finally:
        mpc.close()
        emulator.close()


def test_wrong_serial_number_is_refused():
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    emulator = AptPaddleControllerEmulator(PaddleController(), threading.RLock(), serial="38000123")
    try:
        with pytest.raises(InstrumentError, match="serial number 38000123, expected 38999999"):
            ThorlabsMPC320(f"mpc{next(_names)}", emulator.url, timeout_s=0.2, serial_number="38999999")
    finally:
        emulator.close()


def test_paddle_positions_pin_status_requests(rig):
    mpc, emulator, controller = rig
    controller.paddles[2].angle_deg = 45.0437956204
    assert mpc.paddle1_deg() == 0.0
    assert mpc.paddle3_deg() == pytest.approx(45.0438, abs=1e-4)
    assert emulator.exchanges == [
        (req_status(0x01), get_status(0x01, ZERO)),
        (req_status(0x04), get_status(0x04, AT_45)),
    ]


def test_move_pins_bytes_blocks_until_completed_and_turns_the_paddle(rig):
    mpc, emulator, controller = rig
    assert mpc.move_paddle(2, 45.0) == pytest.approx(363 * 170 / 1370)
    assert emulator.exchanges == moved(0x02, ZERO, h("53 04 06 00 d0 01  02 00 6b 01 00 00"), AT_45)
    assert controller.paddles[1].angle_deg == pytest.approx(363 * 170 / 1370)
    assert controller.paddles[0].angle_deg == 0.0 and controller.paddles[2].angle_deg == 0.0


def test_parameter_set_moves_the_paddle(rig):
    mpc, _, controller = rig
    mpc.paddle1_deg(100.0)
    assert controller.paddles[0].angle_deg == pytest.approx(806 * 170 / 1370)


def test_move_with_simulated_travel_time_returns_the_final_angle():
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    controller = PaddleController()
    emulator = AptPaddleControllerEmulator(controller, threading.RLock(), seconds_per_deg=0.001)
    mpc = ThorlabsMPC320(f"mpc{next(_names)}", emulator.url, timeout_s=0.2)
    try:
        assert mpc.move_paddle(3, 100.0) == pytest.approx(806 * 170 / 1370)
        assert controller.paddles[2].angle_deg == pytest.approx(806 * 170 / 1370)
    finally:
        mpc.close()
        emulator.close()


def test_out_of_travel_is_refused_before_sending(rig):
    mpc, emulator, _ = rig
    with pytest.raises(ValueError, match="170"):
        mpc.paddle2_deg(171.0)
    with pytest.raises(InstrumentError, match=r"paddle travel \[0.0, 170.0\]"):
        mpc.move_paddle(2, -1.0)
    assert emulator.exchanges == []


def test_device_refuses_position_outside_travel_with_rich_response(rig):
    mpc, emulator, controller = rig
    with pytest.raises(DeviceError) as caught:
        mpc.move(with_data("MGMSG_MOT_MOVE_ABSOLUTE", "Hl", 0x01, 1371), "MGMSG_MOT_MOVE_COMPLETED", 0x01, 0.2)
    assert caught.value.code == 101
    assert "MGMSG_MOT_MOVE_ABSOLUTE" in str(caught.value) and "outside travel 0..1370" in str(caught.value)
    sent, reply = emulator.exchanges[0]
    assert sent == h("53 04 06 00 d0 01  01 00 5b 05 00 00")
    assert reply[:10] == h("81 00 44 00 81 50  53 04 65 00")  # RICHRESPONSE: about 0x0453, code 101
    assert controller.paddles[0].angle_deg == 0.0


def test_home_pins_bytes(rig):
    mpc, emulator, controller = rig
    controller.paddles[0].angle_deg = 45.0437956204
    assert mpc.home(1) == 0.0
    assert emulator.exchanges == [
        (req_status(0x01), get_status(0x01, AT_45)),
        (enable(0x01), None),
        (req_status(0x01), get_status(0x01, AT_45, ENABLED)),
        (h("43 04 01 00 50 01"), h("44 04 01 00 01 50")),
        (DISABLE_ALL, None),
        (req_status(0x01), get_status(0x01, ZERO, h("00 04 00 00"))),  # status: homed, disabled
    ]
    assert controller.paddles[0].angle_deg == 0.0


def test_velocity_is_read_modified_written_and_read_back(rig):
    mpc, emulator, _ = rig
    mpc.velocity_pct(80)
    get_pol_80 = h("32 05 0c 00 81 50  00 00 50 00 00 00 0a 00 0a 00 0a 00")
    assert emulator.exchanges == [
        (REQ_POL, GET_POL_50),
        (h("30 05 0c 00 d0 01  00 00 50 00 00 00 0a 00 0a 00 0a 00"), None),
        (REQ_POL, get_pol_80),
    ]
    with pytest.raises(ValueError):
        mpc.velocity_pct(5)


def test_identify_and_disconnect_send_header_only_messages(rig):
    mpc, emulator, _ = rig
    mpc.identify()
    mpc.disconnect_hardware()
    mpc.paddle1_deg()  # a request after them: by its reply the emulator has seen both
    assert emulator.exchanges[:2] == [(h("23 02 01 00 50 01"), None), (h("02 00 00 00 50 01"), None)]
    assert emulator.identified == 1 and emulator.disconnects == 1


def test_status_chatter_before_the_reply_is_skipped(rig, monkeypatch):
    mpc, emulator, _ = rig
    handle = emulator.handle
    chatter = h("81 04 0e 00 81 50  01 00 00 00 00 00 00 00 00 00 00 00 00 00")  # GET_STATUSUPDATE
    monkeypatch.setattr(emulator, "handle", lambda frame: chatter + handle(frame))
    assert mpc.paddle1_deg() == 0.0


def test_one_timeout_is_retried_after_reconnect(rig):
    mpc, emulator, _ = rig
    emulator.inject("timeout")
    assert mpc.paddle1_deg() == 0.0
    assert emulator.exchanges == [(req_status(0x01), None), (req_status(0x01), get_status(0x01, ZERO))]


def test_persistent_timeout_names_instrument_and_message(rig):
    mpc, emulator, _ = rig
    emulator.inject("timeout", 2)
    with pytest.raises(
        InstrumentTimeout, match=rf"{mpc.name}: 'MGMSG_MOT_REQ_USTATUSUPDATE': no complete reply within 0.2 s"
    ):
        mpc.paddle1_deg()
    assert mpc.paddle1_deg() == 0.0  # the link works again


def test_garbled_reply_raises_malformed_then_recovers(rig):
    mpc, emulator, _ = rig
    emulator.inject("garble", 2)
    with pytest.raises(MalformedReply, match="MGMSG_MOT_REQ_USTATUSUPDATE.*reply addressed to 0x24"):
        mpc.paddle1_deg()
    assert mpc.paddle1_deg() == 0.0


def test_one_garbled_reply_is_retried(rig):
    mpc, emulator, _ = rig
    emulator.inject("garble")
    assert mpc.paddle2_deg() == 0.0
    assert [sent for sent, _ in emulator.exchanges] == [req_status(0x02), req_status(0x02)]


def test_truncated_reply_does_not_poison_the_next_answer(rig):
    mpc, emulator, controller = rig
    controller.paddles[1].angle_deg = 45.0437956204
    emulator.inject("truncate")
    assert mpc.paddle1_deg() == 0.0  # the half reply went with the old link
    assert mpc.paddle2_deg() == pytest.approx(45.0438, abs=1e-4)
    assert emulator.exchanges[0] == (req_status(0x01), get_status(0x01, ZERO)[:10])


def test_dropped_link_during_query_reconnects(rig):
    mpc, emulator, _ = rig
    emulator.inject("drop")
    assert mpc.paddle3_deg() == 0.0
    assert emulator.exchanges == [(req_status(0x04), None), (req_status(0x04), get_status(0x04, ZERO))]


def test_dropped_link_during_move_is_not_resent(rig):
    mpc, emulator, controller = rig
    emulator.inject("drop", after=3)  # position, enable and its check pass, the link drops on the move
    with pytest.raises(LinkDropped, match="'MGMSG_MOT_MOVE_ABSOLUTE': link failed during the move.*not resent"):
        mpc.move_paddle(1, 45.0)
    move = h("53 04 06 00 d0 01  01 00 6b 01 00 00")
    assert emulator.exchanges[:4] == [
        (req_status(0x01), get_status(0x01, ZERO)),
        (enable(0x01), None),
        (req_status(0x01), get_status(0x01, ZERO, ENABLED)),
        (move, None),
    ]
    assert controller.paddles[0].angle_deg == 0.0
    assert mpc.paddle1_deg() == 0.0  # reconnected
    assert emulator.exchanges[4] == (DISABLE_ALL, None)  # disabled again on the new link


def test_move_whose_end_message_is_lost_is_ended_by_polling(rig):
    mpc, emulator, controller = rig
    emulator.inject("timeout", after=3)  # the move happens, its status update is lost
    assert mpc.move_paddle(3, 45.0) == pytest.approx(363 * 170 / 1370)
    move = h("53 04 06 00 d0 01  04 00 6b 01 00 00")
    assert emulator.exchanges[3:6] == [
        (move, None),
        (req_status(0x04), get_status(0x04, AT_45, ENABLED)),  # the poll that found the target
        (DISABLE_ALL, None),
    ]
    assert controller.paddles[2].angle_deg == pytest.approx(363 * 170 / 1370)


def test_move_that_never_ends_times_out_and_is_not_resent(rig):
    mpc, emulator, controller = rig
    emulator.inject("timeout", 50, after=3)  # neither the end of the move nor any poll is answered
    # timeout: 0.2 s + 2 x 45.04 deg / (50 % of 400 deg/s)
    with pytest.raises(
        InstrumentTimeout,
        match=r"'MGMSG_MOT_MOVE_ABSOLUTE': no MGMSG_MOT_MOVE_COMPLETED within 0.65 s; the move is not resent",
    ):
        mpc.move_paddle(3, 45.0)
    move = h("53 04 06 00 d0 01  04 00 6b 01 00 00")
    sent = [frame for frame, _ in emulator.exchanges]
    assert sent[3] == move and move not in sent[4:]
    assert req_status(0x04) in sent[4:]  # it polled while waiting
    emulator._faults.clear()
    assert controller.paddles[2].angle_deg == pytest.approx(363 * 170 / 1370)
    assert mpc.paddle3_deg() == pytest.approx(363 * 170 / 1370)


@pytest.mark.parametrize("end_of_move", ["status", "completed", "none"])
def test_every_end_of_move_the_unit_may_send_is_accepted(end_of_move):
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    controller = PaddleController()
    emulator = AptPaddleControllerEmulator(controller, threading.RLock(), end_of_move=end_of_move)
    mpc = ThorlabsMPC320(f"mpc{next(_names)}", emulator.url, timeout_s=0.2)
    try:
        assert mpc.move_paddle(1, 100.0) == pytest.approx(806 * 170 / 1370)
        assert controller.paddles[0].angle_deg == pytest.approx(806 * 170 / 1370)
        assert emulator.enabled_mask == 0  # disabled after the move
    finally:
        mpc.close()
        emulator.close()


def test_a_move_without_enabling_leaves_the_paddle_but_reports_the_target(rig):
    """What the old driver did (no MOD_SET_CHANENABLESTATE): open loop, a silent failure."""
    mpc, emulator, controller = rig
    emulator.end_of_move = "completed"
    mpc.move(mpc_move(806), "MGMSG_MOT_MOVE_COMPLETED", 1, 0.3)
    assert controller.paddles[0].angle_deg == 0.0  # the world did not move
    assert mpc.paddle1_deg() == pytest.approx(806 * 170 / 1370)  # yet the counter says it did
    assert mpc.move_paddle(1, 120.0) == pytest.approx(967 * 170 / 1370)  # enabled: it turns by the difference
    assert controller.paddles[0].angle_deg == pytest.approx((967 - 806) * 170 / 1370)
    mpc.home(1)  # homing finds the true reference again
    assert mpc.move_paddle(1, 100.0) == pytest.approx(806 * 170 / 1370)
    assert controller.paddles[0].angle_deg == pytest.approx(806 * 170 / 1370)


def mpc_move(counts: int):
    return with_data("MGMSG_MOT_MOVE_ABSOLUTE", "Hl", 0x01, counts)


def test_enable_and_move_bytes_match_an_independent_encoder(rig):
    import thorlabs_apt_protocol as apt

    mpc, emulator, _ = rig
    mpc.move_paddle(3, 45.0)
    sent = [frame for frame, _ in emulator.exchanges]
    assert sent[1] == apt.mod_set_chanenablestate(0x50, 0x01, 0x04, 0x01)
    assert sent[3] == apt.mot_move_absolute(0x50, 0x01, 0x04, 363)
    assert sent[4] == apt.mod_set_chanenablestate(0x50, 0x01, 0x00, 0x01)


def test_paddle_that_does_not_enable_is_refused_before_moving(rig, monkeypatch):
    mpc, emulator, controller = rig
    monkeypatch.setattr(emulator, "set_enable_state", lambda channels, state: None)
    with pytest.raises(InstrumentError, match="paddle 2 reports disabled after enabling"):
        mpc.move_paddle(2, 45.0)
    assert h("53 04") not in b"".join(frame[:2] for frame, _ in emulator.exchanges)
    assert controller.paddles[1].angle_deg == 0.0


def test_unknown_messages_are_skipped_and_host_address_zero_accepted(rig, monkeypatch, caplog):
    import thorlabs_apt_protocol as apt

    mpc, emulator, _ = rig
    handle = emulator.handle
    unknown = h("99 09 04 00 81 50  01 02 03 04")  # an id this driver does not know, with data
    short_unknown = h("98 09 01 02 01 50")

    def noisy(frame):
        reply = handle(frame)
        if reply:
            reply = reply[:4] + bytes([reply[4] & 0x80]) + reply[5:]  # host addressed as 0x00
        return unknown + short_unknown + (reply or b"")

    monkeypatch.setattr(emulator, "handle", noisy)
    with caplog.at_level("INFO", logger="qnetlab.drivers.thorlabs.apt"):
        assert mpc.move_paddle(1, 45.0) == pytest.approx(363 * 170 / 1370)
    assert "skipped unknown message" in caplog.text
    reply = emulator.exchanges[0][1]
    unpacker = apt.Unpacker(io.BytesIO(reply))  # the independent reader agrees: one status message
    decoded = []
    for _ in range(len(reply)):  # it resynchronises byte by byte past what it does not know
        try:
            decoded.append(next(unpacker).msg)
        except StopIteration:
            pass
    assert decoded == ["mot_get_dcstatusupdate"]  # its name for 0x0491 (GET_USTATUSUPDATE)


def test_queued_device_error_names_instrument_and_message(rig):
    mpc, emulator, controller = rig
    emulator.push_error(7, "motor overload")
    with pytest.raises(
        DeviceError, match=rf"{mpc.name}: 'MGMSG_MOT_REQ_USTATUSUPDATE': device error 7 .*motor overload"
    ) as caught:
        mpc.move_paddle(1, 45.0)
    assert caught.value.code == 7
    assert len(emulator.exchanges) == 1  # a device error is an answer: no retry, no move sent
    assert controller.paddles[0].angle_deg == 0.0

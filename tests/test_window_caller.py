"""The serial window caller and 4-key rating pad, through the real serial driver, against the
strict bus simulator on a 9600-baud pty."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import HallEdgeError
from core.strings_zh import error_text
from devices.health import HealthState
from devices.open import open_window_caller
from devices.window_caller import ACTION_LABELS, RATER_PROFILES, CallerAction, WindowCaller
from drivers.caller_bus import CallerBus
from drivers.serial_port import SerialPort
from hardware_sim import simulator_of
from hardware_sim.window_caller import KEYBOARD, CallerFault, WindowCallerBusSim
from protocols.caller_frame import F_KEY, Frame, encode_frame


class Seen:
    """What a window's staff would notice: actions taken and the Chinese error sentences."""

    def __init__(self, caller: WindowCaller) -> None:
        self.presses: queue.Queue = queue.Queue()
        self.errors: queue.Queue = queue.Queue()
        caller.on_press = self.presses.put
        caller.on_error = self.errors.put
        caller.bus.on_error = self.errors.put

    def press(self, timeout: float = 3.0):  # type: ignore[no-untyped-def]
        return self.presses.get(timeout=timeout)

    def error(self, timeout: float = 3.0) -> HallEdgeError:
        return self.errors.get(timeout=timeout)


def eventually(predicate, timeout: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def caller() -> Iterator[WindowCaller]:
    device = open_window_caller("sim://window-caller?address=3", "caller-3")
    try:
        yield device
    finally:
        device.close()


@pytest.mark.parametrize(
    ("key", "action", "label"),
    [
        ("call", CallerAction.CALL, "叫号"),
        ("recall", CallerAction.RECALL, "重呼"),
        ("rate", CallerAction.RATE, "评价"),
        ("give_up", CallerAction.GIVE_UP, "弃号"),
        ("hang", CallerAction.HANG, "挂起"),
        ("call_back", CallerAction.CALL_BACK, "回呼"),
        ("pause", CallerAction.PAUSE, "暂停"),
        ("transfer", CallerAction.TRANSFER, "转移"),
        ("cancel", CallerAction.CANCEL, "取消"),
        ("one_metre", CallerAction.ONE_METRE, "一米线"),
    ],
)
def test_each_key_is_echoed_and_becomes_its_action(
    caller: WindowCaller, key: str, action: CallerAction, label: str
) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sent = sim.press(3, key)
    press = seen.press()
    assert (press.action, press.label, press.address) == (action, label, 3)
    assert sim.wait_echo(3)
    assert sim.unit(3).echoed == [sent]  # echoed byte for byte (§5.2)
    assert ACTION_LABELS[action] == label


def test_a_confirm_key_after_an_unused_digit_is_refused_in_chinese(caller: WindowCaller) -> None:
    seen = Seen(caller)
    simulator_of(caller).press_raw(3, b"\x05\x0f")
    err = seen.error()
    assert err.code == 352
    assert error_text(err) == "叫号器按键无法识别，请重新按键"
    assert seen.presses.empty()


def test_the_display_shows_the_ticket_and_the_waiting_count(caller: WindowCaller) -> None:
    sim = simulator_of(caller)
    unit = sim.unit(3)
    caller.show_ticket("A012")
    assert sim.wait_for(lambda: unit.display == "   012")
    caller.show_waiting(1234)
    assert sim.wait_for(lambda: unit.display == "999   ")
    caller.show(ticket_no="B7", waiting=5)
    assert sim.wait_for(lambda: unit.display == "005007")
    caller.beep()
    assert sim.wait_for(lambda: unit.beeps == 1)
    assert sim.rejected == []


def test_several_callers_share_one_bus_and_each_answers_its_own_address() -> None:
    sim = WindowCallerBusSim((1, 2, 9)).start()
    bus = CallerBus(SerialPort(sim.path, 9600, device_id="bus"))
    one = WindowCaller(bus, 1, "caller-1")
    two = WindowCaller(bus, 2, "caller-2")
    seen_one, seen_two = Seen(one), Seen(two)
    bus.start()
    try:
        sim.press(2, "call")
        sim.press(1, "recall")
        assert seen_two.press().action is CallerAction.CALL
        assert seen_one.press().action is CallerAction.RECALL
        one.show_ticket("A001")
        two.show_ticket("A002")
        assert sim.wait_for(lambda: sim.unit(2).display == "   002")
        assert sim.unit(1).display == "   001" and sim.unit(9).display == "      "
        # Address 9 is on the wire but configured nowhere: it is not echoed.
        sim.press(9, "call")
        assert not sim.wait_echo(9, timeout=0.5)
        assert seen_one.presses.empty() and seen_two.presses.empty()
    finally:
        bus.close()
        sim.stop()


# --- the 4-key rating pad --------------------------------------------------------------------


@pytest.mark.parametrize(("key", "level"), [(0, 2), (1, 3), (2, 4), (3, 5)])
def test_each_rating_key_gives_its_recorded_level(
    caller: WindowCaller, key: int, level: int
) -> None:
    results: queue.Queue[int] = queue.Queue()
    caller.rating_pad.request("A001", 3, results.put)
    sim = simulator_of(caller)
    assert sim.wait_for(lambda: sim.unit(3).ratings_started == 1)
    sim.rate(3, key)
    assert results.get(timeout=3) == level == RATER_PROFILES["4key"].levels[key]
    assert sim.wait_acked(3)
    assert sim.unit(3).acked == [key]
    assert caller.rating_pad.pending is None


def test_the_four_key_pad_cannot_give_very_dissatisfied_and_says_so_in_its_profile() -> None:
    assert sorted(RATER_PROFILES["4key"].levels.values()) == [2, 3, 4, 5]


def test_a_rating_with_no_request_is_acknowledged_but_never_stored(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.rate(3, 3)
    err = seen.error()
    assert err.code == 354 and error_text(err) == "当前没有待评价的业务"
    assert sim.wait_acked(3)  # the pad stops resending
    assert list(caller.rating_pad.rejected) == [err]


def test_a_key_value_outside_the_pad_is_refused_in_chinese(caller: WindowCaller) -> None:
    seen = Seen(caller)
    results: list[int] = []
    caller.rating_pad.request("A001", 3, results.append)
    simulator_of(caller).rate(3, 7)
    err = seen.error()
    assert err.code == 353 and error_text(err) == "评价器按键无法识别，请重新评价"
    assert results == []


def test_an_unacknowledged_rating_is_resent_and_stored_once() -> None:
    sim = WindowCallerBusSim((3,), resend_s=0.3, resends=3).start()
    results: list[int] = []
    bus = CallerBus(SerialPort(sim.path, 9600)).start()
    try:
        sim.rate(3, 2)
        # Nobody serves address 3 yet: the first send is heard but not acknowledged.
        assert eventually(lambda: bus.frames_received >= 1)
        caller = WindowCaller(bus, 3, "caller-3")
        caller.rating_pad.request("A001", 3, results.append)
        assert sim.wait_acked(3, timeout=3)
        time.sleep(0.4)
        assert results == [4]
        assert bus.frames_received >= 2 and sim.unit(3).acked == [2]
    finally:
        bus.close()
        sim.stop()


# --- faults ----------------------------------------------------------------------------------


def test_noise_on_the_line_is_reported_and_the_key_still_works(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.inject(CallerFault.GARBAGE)
    sim.press(3, "call")
    err = seen.error()
    assert err.code == 350 and err.details["reason"] == "length_mismatch"
    assert error_text(err) == "叫号器通信异常，请检查叫号器连线"
    assert seen.press().action is CallerAction.CALL


def test_a_bad_checksum_is_not_obeyed_nor_echoed(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.inject(CallerFault.BAD_CHECKSUM)
    sim.press(3, "call")
    err = seen.error()
    assert err.code == 351 and error_text(err) == "叫号器数据校验失败，请检查叫号器连线"
    assert not sim.wait_echo(3, timeout=0.5)
    assert seen.presses.empty()
    health = caller.health()
    assert (health.state, health.reasons, health.code) == (HealthState.UNKNOWN, ("bad_frame",), 351)
    sim.clear(CallerFault.BAD_CHECKSUM)
    sim.press(3, "call")
    assert seen.press().action is CallerAction.CALL
    assert caller.health().state is HealthState.OK


def test_a_wrong_length_byte_is_refused_in_chinese(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.inject(CallerFault.WRONG_LENGTH)
    sim.press(3, "recall")
    err = seen.error()
    assert err.code == 350 and err.details["reason"] == "length_mismatch"
    assert error_text(err) == "叫号器通信异常，请检查叫号器连线"
    assert seen.presses.empty()


def test_a_slow_sender_is_understood_until_its_frames_fall_apart(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.inject(CallerFault.SLOW)
    sim.slow_gap_s = 0.02
    sim.press(3, "pause")
    assert seen.press(timeout=5).action is CallerAction.PAUSE
    sim.slow_gap_s = caller.bus.frame_gap_s + 0.2
    sim.press(3, "pause")
    err = seen.error(timeout=5)
    assert err.code == 350 and err.details["reason"] == "truncated"
    assert error_text(err) == "叫号器通信异常，请检查叫号器连线"


def test_a_pulled_adapter_is_offline_in_chinese_and_comes_back(caller: WindowCaller) -> None:
    seen = Seen(caller)
    sim = simulator_of(caller)
    sim.inject(CallerFault.UNPLUG)
    err = seen.error()
    assert err.code == 302 and error_text(err) == "设备已断开，请联系工作人员"
    health = caller.health()
    assert health.state is HealthState.OFFLINE
    with pytest.raises(HallEdgeError) as refused:
        caller.beep()
    assert refused.value.code in (301, 302)
    sim.clear(CallerFault.UNPLUG)
    assert eventually(lambda: caller.health().state is HealthState.OK, timeout=5)
    sim.press(3, "call")
    assert seen.press().action is CallerAction.CALL


def test_a_caller_url_with_a_port_that_does_not_exist_is_offline_not_found() -> None:
    caller = open_window_caller("serial:///dev/ttyHALLEDGE-none?address=2", "caller-2")
    try:
        health = caller.health()
        assert (health.state, health.reasons, health.code) == (
            HealthState.OFFLINE,
            ("not_found",),
            301,
        )
    finally:
        caller.close()


# pyserial's spy handler never closes its trace file; that leak is pyserial's, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_spy_url_writes_a_wire_trace_without_code_changes(tmp_path: Path) -> None:
    trace = tmp_path / "caller-trace.txt"
    caller = open_window_caller(f"sim://window-caller?address=3&trace={trace}", "caller-3")
    seen = Seen(caller)
    try:
        simulator_of(caller).press(3, "call")
        assert seen.press().action is CallerAction.CALL
        assert simulator_of(caller).wait_echo(3)
    finally:
        caller.close()
    text = trace.read_text()
    # pyserial's spy hexdump: RX the key frame, TX our echo of it.
    frame = encode_frame(Frame(3, F_KEY, KEYBOARD["call"])).hex(" ").upper()
    tx = [" ".join(line.split()[3:13]) for line in text.splitlines() if " TX " in line]
    assert frame in tx
    assert " RX " in text

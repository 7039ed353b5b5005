"""The window screen protocol: exact lines, what the screen shows, refusals and faults."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.errors import DeviceRejected, DeviceUnplugged
from core.strings_zh import error_text
from devices.health import HealthState
from devices.open import open_window_screen
from devices.window_screen import WindowScreen
from hardware_sim import simulator_of
from protocols.window_screen import ScreenState, ScreenStatus, encode_show, parse_show


@pytest.fixture
def screen() -> Iterator[WindowScreen]:
    device = open_window_screen("sim://window-screen?timeout=1", "screen-3")
    try:
        yield device
    finally:
        device.close()


def test_show_lines_are_exact_and_round_trip() -> None:
    state = ScreenState(3, ScreenStatus.SERVING, "A012", "1001", "张三")
    line = encode_show(state)
    assert line == "SHOW 3 serving A012 1001 张三"
    assert parse_show(line.split(" ")) == state
    paused = ScreenState(12, ScreenStatus.PAUSED)
    assert encode_show(paused) == "SHOW 12 paused - - -"
    assert (
        len(
            encode_show(
                ScreenState(999, ScreenStatus.SERVING, "ABC12345", "A" * 16, "阿" * 8)
            ).encode()
        )
        <= 128
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ScreenState(0, ScreenStatus.IDLE), "bad_window"),
        (ScreenState(3, ScreenStatus.SERVING), "bad_status"),
        (ScreenState(3, ScreenStatus.PAUSED, "A001"), "bad_status"),
        (ScreenState(3, ScreenStatus.IDLE, None, "10 01"), "bad_staff_id"),
        (ScreenState(3, ScreenStatus.IDLE, None, "1001", "张 三"), "bad_staff_name"),
        (ScreenState(3, ScreenStatus.IDLE, None, "1001", "欧阳" * 5), "bad_staff_name"),
    ],
)
def test_the_host_refuses_what_the_protocol_cannot_carry(state: ScreenState, reason: str) -> None:
    with pytest.raises(DeviceRejected) as err:
        encode_show(state)
    assert err.value.details["reason"] == reason


def test_the_screen_shows_window_ticket_and_staff_in_chinese(screen: WindowScreen) -> None:
    screen.serving(3, "A012", "1001", "张三")
    sim = simulator_of(screen)
    assert sim.rows == ("3号窗口", "请A012号办理", "工号1001 张三")
    screen.status(3, ScreenStatus.PAUSED, "1001", "张三")
    assert sim.rows == ("3号窗口", "暂停服务", "工号1001 张三")
    screen.status(3, ScreenStatus.IDLE, "1001")
    assert sim.rows == ("3号窗口", "等待叫号", "工号1001")
    screen.status(3, ScreenStatus.CLOSED)
    assert sim.rows == ("3号窗口", "停止服务", "")


def test_a_call_flashes_like_on_the_call_display(screen: WindowScreen) -> None:
    screen.status(3, ScreenStatus.IDLE, "1001", "李四")
    call = screen.announce("B007", 3, recall=True)
    assert call.text == "请B007号到3号窗口办理（重呼）"
    sim = simulator_of(screen)
    assert sim.flash == "请B007号到3号窗口"
    assert sim.rows == ("3号窗口", "请B007号办理", "工号1001 李四")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("SHOW 3 serving - - -", "ERR 422 bad_status"),
        ("SHOW 3 idle A001 - -", "ERR 422 bad_status"),
        ("SHOW 3 busy - - -", "ERR 422 bad_status"),
        ("SHOW 03 idle - - -", "ERR 422 bad_window"),
        ("SHOW 3 idle - - 张三丰张三丰张三丰", "ERR 422 bad_staff_name"),
        ("SHOW 3 idle -", "ERR 422 bad_arguments"),
        ("CALL 3 a1 0", "ERR 422 bad_ticket"),
        ("PING", "PONG window-screen 1"),
        ("BLINK 3", "ERR 401 unknown_command"),
    ],
)
def test_the_screen_refuses_bad_lines_with_the_documented_err(
    screen: WindowScreen, line: str, reply: str
) -> None:
    with socket.create_connection(("127.0.0.1", simulator_of(screen).port), timeout=2) as sock:
        sock.sendall(line.encode() + b"\n")
        got = sock.makefile("rb").readline().decode().rstrip("\n")
    assert got == reply


def test_health_is_ok_then_offline_when_unplugged_in_chinese(screen: WindowScreen) -> None:
    assert screen.health().state is HealthState.OK
    sim = simulator_of(screen)
    sim.unplug()
    health = screen.health()
    assert health.state is HealthState.OFFLINE
    with pytest.raises(DeviceUnplugged) as err:
        screen.status(3, ScreenStatus.PAUSED)
    assert error_text(err.value) == "设备已断开，请联系工作人员"
    sim.plug()
    assert screen.health().state is HealthState.OK


def test_a_screen_answering_garbage_is_a_bad_response(screen: WindowScreen) -> None:
    simulator_of(screen).garbage = True
    health = screen.health()
    assert (health.state, health.code) == (HealthState.UNKNOWN, 304)

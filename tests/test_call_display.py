"""The hall call display as a window PAD uses it: calls reach the board and the announcer."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator

import pytest

from core.errors import BadResponse, ConfigError, DeviceRejected, DeviceTimeout, DeviceUnplugged
from core.strings_zh import ERROR_TEXT, error_text
from devices.call_display import CallDisplay
from devices.health import HealthState
from devices.open import open_call_display
from drivers.line_socket import LineSocket
from hardware_sim import simulator_of
from hardware_sim.call_display import CallDisplaySim
from hardware_sim.rating_pad import RatingPadSim

#: Generous: other test runs share the two cores. Only the timeout test waits this long.
REPLY_TIMEOUT_S = 5.0


@pytest.fixture
def display_sim() -> Iterator[CallDisplaySim]:
    with CallDisplaySim() as sim:
        yield sim


def display_on(sim: CallDisplaySim | RatingPadSim, timeout: float = REPLY_TIMEOUT_S) -> CallDisplay:
    return CallDisplay(
        LineSocket("127.0.0.1", sim.port, timeout, device_id="display-1"), "display-1"
    )


def test_a_call_is_accepted_and_described_as_shown_and_spoken(display_sim: CallDisplaySim) -> None:
    display = display_on(display_sim)
    call = display.announce("A001", 3)
    assert call.text == "请A001号到3号窗口办理"
    assert call.speech == "请A零零一号到三号窗口办理"
    assert (call.ticket_no, call.window_no, call.recall) == ("A001", 3, False)
    display.close()


def test_a_call_appears_on_the_board_with_the_same_text(display_sim: CallDisplaySim) -> None:
    seen = []
    display_sim.on_call = seen.append
    display = display_on(display_sim)
    call = display.announce("B012", 10)
    [shown] = display_sim.board
    assert (shown.ticket_no, shown.window_no, shown.text) == ("B012", 10, call.text)
    assert seen == [shown]
    assert display_sim.wait_announced(1)
    assert display_sim.announced[0].call.speech == "请B零一二号到十号窗口办理"
    display.close()


def test_the_board_lists_the_last_calls_newest_first_and_a_recall_moves_up(
    display_sim: CallDisplaySim,
) -> None:
    display = display_on(display_sim)
    for n in range(1, 8):
        display.announce(f"A{n:03d}", n % 4 + 1)
    display.announce("A004", 1, recall=True)
    board = [r.ticket_no for r in display_sim.board]
    assert board == ["A004", "A007", "A006", "A005", "A003"]
    assert display_sim.board[0].text.endswith("（重呼）")
    display.close()


def test_calls_back_to_back_from_two_windows_are_all_announced_in_order_without_overlap() -> None:
    """Two windows calling in the same instant must both be heard (FQM#138)."""
    with CallDisplaySim(speak_s=0.05) as sim:
        windows = [display_on(sim), display_on(sim)]

        def call_from(window_no: int) -> None:
            for n in range(5):
                windows[window_no - 1].announce(f"{'AB'[window_no - 1]}{n:03d}", window_no)

        threads = [threading.Thread(target=call_from, args=(w,)) for w in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sim.wait_announced(10, timeout=30)
        spoken = sim.announced
        assert [s.call for s in spoken] == sim.calls
        assert len({s.call.ticket_no for s in spoken}) == 10
        for before, after in itertools.pairwise(spoken):
            assert after.started >= before.ended
        for w in windows:
            w.close()


def test_an_unplugged_display_says_so_in_chinese_and_works_again_when_plugged(
    display_sim: CallDisplaySim,
) -> None:
    display = display_on(display_sim)
    display.announce("A001", 1)
    display_sim.unplug()
    with pytest.raises(DeviceUnplugged) as caught:
        display.announce("A002", 1)
    assert caught.value.code == 302
    assert (
        error_text(caught.value) == ERROR_TEXT["device_unplugged"] == "设备已断开，请联系工作人员"
    )
    with pytest.raises(DeviceUnplugged):
        display.announce("A002", 1)  # still refused: nothing listens
    display_sim.plug()
    assert display.announce("A002", 1).ticket_no == "A002"
    assert [c.ticket_no for c in display_sim.calls] == ["A001", "A002"]
    display.close()


def test_a_display_nobody_started_is_unplugged() -> None:
    with CallDisplaySim() as sim:
        port = sim.port
    display = CallDisplay(LineSocket("127.0.0.1", port, REPLY_TIMEOUT_S), "display-1")
    with pytest.raises(DeviceUnplugged):
        display.announce("A001", 1)
    assert display.health().state is HealthState.OFFLINE


def test_a_slow_display_times_out_and_its_late_answer_is_not_taken_for_the_next(
    display_sim: CallDisplaySim,
) -> None:
    display = display_on(display_sim, timeout=0.5)
    display_sim.reply_delay_s = 30.0
    with pytest.raises(DeviceTimeout) as caught:
        display.announce("A001", 1)
    assert error_text(caught.value) == ERROR_TEXT["device_timeout"]
    display_sim.reply_delay_s = 0.0
    display.driver.timeout = REPLY_TIMEOUT_S  # type: ignore[attr-defined]
    assert display.announce("A002", 2).ticket_no == "A002"
    display.close()


def test_a_display_answering_noise_is_a_bad_response(display_sim: CallDisplaySim) -> None:
    display = display_on(display_sim)
    display_sim.garbage = True
    with pytest.raises(BadResponse):
        display.announce("A001", 1)
    health = display.health()
    assert health.state is HealthState.UNKNOWN and health.code == 304
    display_sim.garbage = False
    assert display.health().state is HealthState.OK
    display.close()


@pytest.mark.parametrize(
    ("ticket", "window"), [("a001", 1), ("A 01", 1), ("A001", 0), ("A001", 1000)]
)
def test_numbers_the_display_cannot_show_are_refused_before_sending(
    display_sim: CallDisplaySim, ticket: str, window: int
) -> None:
    display = display_on(display_sim)
    with pytest.raises(DeviceRejected):
        display.announce(ticket, window)
    assert display_sim.calls == []
    display.close()


def test_health_notices_another_kind_of_device_on_the_address() -> None:
    with RatingPadSim() as pad:
        display = display_on(pad)
        health = display.health()
        assert health.state is HealthState.UNKNOWN
        assert health.code == BadResponse.code
        display.close()


def test_the_host_sends_exactly_the_documented_bytes() -> None:
    """Golden line: what goes on the wire for a recall of A001 at window 3."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def answer_once() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                data += conn.recv(100)
            received.append(data)
            conn.sendall(b"OK\n")

    thread = threading.Thread(target=answer_once)
    thread.start()
    display = CallDisplay(LineSocket("127.0.0.1", server.getsockname()[1], REPLY_TIMEOUT_S), "d")
    display.announce("A001", 3, recall=True)
    thread.join()
    server.close()
    display.close()
    assert received == [b"CALL 3 A001 1\n"]


# --- opened from a device URL -------------------------------------------------------------


def test_a_sim_url_starts_a_display_the_test_can_watch_and_close_stops_it() -> None:
    display = open_call_display("sim://call-display?speak_s=0.01", "display-1")
    sim = simulator_of(display)
    assert isinstance(sim, CallDisplaySim)
    display.announce("C003", 4)
    assert [r.text for r in sim.board] == ["请C003号到4号窗口办理"]
    assert sim.wait_announced(1)
    display.close()
    with pytest.raises(DeviceUnplugged):
        display.announce("C004", 4)


def test_a_sim_url_can_fix_the_port_for_a_second_process() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    display = open_call_display(f"sim://call-display?port={port}", "display-1")
    assert simulator_of(display).port == port
    other_process_view = open_call_display(f"tcp://127.0.0.1:{port}?timeout=5", "display-2")
    other_process_view.announce("A010", 2)
    assert [c.ticket_no for c in simulator_of(display).calls] == ["A010"]
    assert simulator_of(other_process_view) is None
    other_process_view.close()
    display.close()


def test_a_tcp_url_reaches_a_display_running_elsewhere(display_sim: CallDisplaySim) -> None:
    display = open_call_display(display_sim.url, "display-1")
    assert display.health().state is HealthState.OK
    display.announce("B001", 2, recall=True)
    assert display_sim.calls[0].recall
    display.close()


@pytest.mark.parametrize(
    "url",
    [
        "sim://usb-printer",
        "sim://call-display?port=x",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:0",
        "serial:///dev/ttyUSB0",
        "call-display",
    ],
)
def test_a_url_that_names_no_display_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        open_call_display(url, "display-1")

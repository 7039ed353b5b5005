"""The 好差评 rating pad as a window uses it: ask, the citizen presses, the level comes back."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from core.errors import BadResponse, ConfigError, DeviceRejected, DeviceUnplugged, HallEdgeError
from core.strings_zh import error_text
from devices.health import HealthState
from devices.open import open_rating_pad
from devices.rating_pad import RatingPad
from drivers.line_socket import LineSocket
from hardware_sim import simulator_of
from hardware_sim.rating_pad import PendingRating, RatingPadSim
from tests.test_call_display_sim import noise_or_commands

WAIT_S = 10.0


@pytest.fixture
def pad_sim() -> Iterator[RatingPadSim]:
    with RatingPadSim() as sim:
        yield sim


class Window:
    """A window's view of its pad: results and rejections arrive on the reader thread."""

    def __init__(self, sim: RatingPadSim) -> None:
        self.results: queue.Queue[int] = queue.Queue()
        self.errors: queue.Queue[HallEdgeError] = queue.Queue()
        driver = LineSocket("127.0.0.1", sim.port, WAIT_S, device_id="rater-3")
        self.pad = RatingPad(driver, "rater-3", on_error=self.errors.put)

    def ask(self, ticket_no: str, window_no: int = 3) -> None:
        self.pad.request(ticket_no, window_no, self.results.put)

    def next_result(self) -> int:
        return self.results.get(timeout=WAIT_S)

    def next_error(self) -> HallEdgeError:
        return self.errors.get(timeout=WAIT_S)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll a condition that another thread makes true; False if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def shown(sim: RatingPadSim) -> PendingRating:
    pending = sim.pending
    assert pending is not None
    return pending


def test_a_request_shows_on_the_pad_and_the_pressed_level_reaches_the_window(
    pad_sim: RatingPadSim,
) -> None:
    requests: list[PendingRating] = []
    pad_sim.on_request = requests.append
    window = Window(pad_sim)
    window.ask("A001", 3)
    assert (shown(pad_sim).ticket_no, shown(pad_sim).window_no) == ("A001", 3)
    assert [r.ticket_no for r in requests] == ["A001"]
    assert pad_sim.press(2) == "A001"
    assert window.next_result() == 2
    assert pad_sim.pending is None and window.pad.pending is None
    window.pad.close()


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_an_automatic_citizen_answers_by_itself(level: int) -> None:
    with RatingPadSim(auto_level=level, delay_s=0.05) as sim:
        window = Window(sim)
        window.ask("C007", 4)
        assert window.next_result() == level
        assert sim.results == [("C007", level)]
        window.pad.close()


def test_a_result_for_a_ticket_not_asked_for_is_rejected_and_not_passed_on(
    pad_sim: RatingPadSim,
) -> None:
    window = Window(pad_sim)
    window.ask("A001")
    pad_sim.send_raw_line("RESULT A999 5")
    err = window.next_error()
    assert isinstance(err, BadResponse) and err.details["reason"] == "not_requested"
    pad_sim.press(4)
    assert window.next_result() == 4  # the real answer still gets through
    assert window.results.empty()
    window.pad.close()


@pytest.mark.parametrize("line", ["RESULT A001 0", "RESULT A001 6", "RESULT A001 x", "RESULT A001"])
def test_a_malformed_result_is_rejected_and_the_request_stays_open(
    pad_sim: RatingPadSim, line: str
) -> None:
    window = Window(pad_sim)
    window.ask("A001")
    pad_sim.send_raw_line(line)
    assert isinstance(window.next_error(), BadResponse)
    assert window.results.empty()
    assert window.pad.pending is not None
    assert list(window.pad.rejected)[-1].code == 304
    window.pad.close()


def test_a_ticket_is_rated_once(pad_sim: RatingPadSim) -> None:
    window = Window(pad_sim)
    window.ask("A001")
    pad_sim.press(5)
    assert window.next_result() == 5
    pad_sim.send_raw_line("RESULT A001 1")  # a second answer for the same citizen
    assert isinstance(window.next_error(), BadResponse)
    assert window.results.empty()
    window.pad.close()


def test_a_cancelled_request_leaves_the_pad_idle_and_a_late_answer_is_rejected(
    pad_sim: RatingPadSim,
) -> None:
    cleared: list[str] = []
    pad_sim.on_clear = cleared.append
    window = Window(pad_sim)
    window.ask("A001")
    window.pad.cancel("A001")
    assert pad_sim.pending is None and cleared == ["A001"]
    assert pad_sim.press(5) is None  # the key does nothing on an idle pad
    pad_sim.send_raw_line("RESULT A001 5")
    assert isinstance(window.next_error(), BadResponse)
    assert window.results.empty()
    window.pad.close()


def test_a_new_citizen_replaces_an_unanswered_request(pad_sim: RatingPadSim) -> None:
    window = Window(pad_sim)
    first: list[int] = []
    window.pad.request("A001", 3, first.append)
    window.ask("A002")
    assert shown(pad_sim).ticket_no == "A002"
    pad_sim.press(3)
    assert window.next_result() == 3
    assert first == []
    window.pad.close()


def test_a_result_pressed_while_the_window_was_disconnected_arrives_on_reconnect(
    pad_sim: RatingPadSim,
) -> None:
    window = Window(pad_sim)
    window.ask("A001")
    window.pad.driver.close()
    pad_sim.press(4)
    assert window.results.empty()
    assert window.pad.health().state is HealthState.OK  # reconnects, pad hands over the result
    assert window.next_result() == 4
    window.pad.close()


def test_the_window_acknowledges_results_so_the_pad_stops_resending(pad_sim: RatingPadSim) -> None:
    window = Window(pad_sim)
    window.ask("A001")
    pad_sim.press(4)
    assert window.next_result() == 4
    assert wait_until(lambda: pad_sim.unacked == [])
    window.pad.driver.close()
    assert window.pad.health().state is HealthState.OK  # a new connection: nothing resent
    assert window.errors.empty() and window.results.empty()
    window.pad.close()


def test_an_unacknowledged_result_is_resent_and_a_duplicate_is_not_passed_on_twice(
    pad_sim: RatingPadSim,
) -> None:
    pad_sim.unacked.append("RESULT A001 2")  # as if the ACK of an earlier session was lost
    window = Window(pad_sim)
    window.ask("A001")  # the connection opens; the pad resends, the window takes it once
    assert window.next_result() == 2
    assert wait_until(lambda: pad_sim.unacked == [])
    window.pad.driver.close()
    window.pad.health()
    assert window.results.empty()
    window.pad.close()


def test_an_unplugged_pad_fails_the_request_in_chinese_and_nothing_stays_pending(
    pad_sim: RatingPadSim,
) -> None:
    window = Window(pad_sim)
    assert window.pad.health().state is HealthState.OK
    pad_sim.unplug()
    with pytest.raises(DeviceUnplugged) as caught:
        window.ask("A001")
    assert error_text(caught.value) == "设备已断开，请联系工作人员"
    assert window.pad.pending is None
    assert window.pad.health().state is HealthState.OFFLINE
    pad_sim.plug()
    window.ask("A002")
    pad_sim.press(5)
    assert window.next_result() == 5
    window.pad.close()


def test_tickets_outside_the_protocol_are_refused_before_sending(pad_sim: RatingPadSim) -> None:
    window = Window(pad_sim)
    with pytest.raises(DeviceRejected):
        window.ask("A-1")
    with pytest.raises(DeviceRejected):
        window.ask("A001", 0)
    assert pad_sim.pending is None
    window.pad.close()


def test_a_result_arriving_before_the_ok_is_still_delivered() -> None:
    """A citizen faster than the network: RESULT may overtake the OK to RATE."""
    with RatingPadSim(auto_level=5, delay_s=0.0) as sim:
        sim.reply_delay_s = 0.2
        window = Window(sim)
        window.ask("A001")
        assert window.next_result() == 5
        window.pad.close()


# --- the simulator on the wire ------------------------------------------------------------


def exchange(port: int, data: bytes, until: bytes) -> list[bytes]:
    """Send raw bytes, return reply lines up to and including ``until``."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(data)
        buf, lines = b"", []
        while not lines or lines[-1] != until:
            while b"\n" not in buf:
                chunk = sock.recv(4096)
                assert chunk, "simulator closed the connection"
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            lines.append(line + b"\n")
        return lines


@pytest.mark.parametrize(
    ("sent", "reply"),
    [
        (b"RATE A001 3\n", b"OK\n"),
        (b"CANCEL A001\n", b"OK\n"),
        (b"PING\n", b"PONG rating-pad 1\n"),
        (b"RATE A001 0\n", b"ERR 422 bad_window\n"),
        (b"RATE 001 3\n", b"ERR 422 bad_ticket\n"),
        (b"RATE A001\n", b"ERR 422 bad_arguments\n"),
        (b"CANCEL\n", b"ERR 422 bad_arguments\n"),
        (b"ACK A001\nPING\n", b"PONG rating-pad 1\n"),  # an ACK gets no reply
        (b"ACK a1\n", b"ERR 422 bad_ticket\n"),
        (b"RESULT A001 5\n", b"ERR 401 unknown_command\n"),
        (b"CALL 3 A001 0\n", b"ERR 401 unknown_command\n"),
        (b"RATE A001 3\r\n", b"ERR 400 control_character\n"),
    ],
)
def test_golden_replies(pad_sim: RatingPadSim, sent: bytes, reply: bytes) -> None:
    assert exchange(pad_sim.port, sent, reply) == [reply]


def test_the_pad_sends_the_documented_result_line(pad_sim: RatingPadSim) -> None:
    with socket.create_connection(("127.0.0.1", pad_sim.port), timeout=WAIT_S) as sock:
        sock.sendall(b"RATE B120 2\n")
        assert sock.recv(100) == b"OK\n"
        pressed = threading.Thread(target=pad_sim.press, args=(1,))
        pressed.start()
        assert sock.recv(100) == b"RESULT B120 1\n"
        pressed.join()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(noise=noise_or_commands)
def test_random_bytes_get_err_or_nothing_and_the_pad_keeps_serving(
    pad_sim: RatingPadSim, noise: bytes
) -> None:
    pong = b"PONG rating-pad 1\n"
    crashes_before = len(pad_sim.internal_errors)
    for line in exchange(pad_sim.port, noise + b"\nPING\n", pong)[:-1]:
        assert line.startswith(b"ERR ") or line == b"OK\n", line
    assert pad_sim.internal_errors[crashes_before:] == []
    assert exchange(pad_sim.port, b"PING\n", pong) == [pong]


# --- opened from a device URL -------------------------------------------------------------


def test_a_sim_url_with_auto_rates_by_itself() -> None:
    pad = open_rating_pad("sim://rating-pad?auto=5&delay=0.05", "rater-1")
    results: queue.Queue[int] = queue.Queue()
    pad.request("A001", 1, results.put)
    assert results.get(timeout=WAIT_S) == 5
    assert simulator_of(pad).results == [("A001", 5)]
    pad.close()
    assert pad.health().state is HealthState.OFFLINE


def test_a_tcp_url_reaches_a_pad_running_elsewhere(pad_sim: RatingPadSim) -> None:
    pad = open_rating_pad(pad_sim.url, "rater-1")
    results: queue.Queue[int] = queue.Queue()
    pad.request("B002", 2, results.put)
    pad_sim.press(3)
    assert results.get(timeout=WAIT_S) == 3
    assert simulator_of(pad) is None
    pad.close()


@pytest.mark.parametrize(
    "url",
    ["sim://rating-pad?auto=0", "sim://rating-pad?auto=six", "sim://call-pad", "usb://0416:5011"],
)
def test_a_url_that_names_no_pad_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        open_rating_pad(url, "rater-1")

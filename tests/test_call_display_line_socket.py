"""The line driver under the display and the rating pad, against scripted loopback peers."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from core.errors import BadResponse, DeviceTimeout, DeviceUnplugged, HallEdgeError
from drivers.line_socket import LineSocket
from protocols.hall_line import MAX_LINE_BYTES

WAIT_S = 10.0

Script = Callable[[socket.socket], None]


class ScriptedPeer:
    """A loopback device that plays one script per accepted connection, in order."""

    def __init__(self, *scripts: Script) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.scripts = list(scripts)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed before the host came: the test did not need this script
            with conn:
                script(conn)

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=WAIT_S)


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(100)
        if not chunk:
            break
        data += chunk
    return data


def replies(*chunks: bytes) -> Script:
    def script(conn: socket.socket) -> None:
        read_request(conn)
        for chunk in chunks:
            conn.sendall(chunk)
        read_request(conn)  # hold the line until the host hangs up

    return script


@pytest.fixture
def peers() -> Iterator[list[ScriptedPeer]]:
    made: list[ScriptedPeer] = []
    yield made
    for peer in made:
        peer.close()


def driver_for(peers: list[ScriptedPeer], *scripts: Script, timeout: float = WAIT_S) -> LineSocket:
    peer = ScriptedPeer(*scripts)
    peers.append(peer)
    return LineSocket("127.0.0.1", peer.port, timeout, device_id="dev-1")


def test_a_reply_split_across_packets_is_one_line(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(b"O", b"K", b"\n"))
    assert driver.request("PING") == "OK"
    driver.close()


def test_an_over_long_reply_is_a_bad_response(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(b"X" * (MAX_LINE_BYTES + 1)))
    with pytest.raises(BadResponse):
        driver.request("PING")
    driver.close()


def test_a_reply_that_is_not_utf8_is_a_bad_response(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(b"\xc7\xeb\n"))  # GB18030 请, not UTF-8
    with pytest.raises(BadResponse):
        driver.request("PING")
    driver.close()


def test_a_peer_that_hangs_up_is_unplugged_and_the_next_use_reconnects(
    peers: list[ScriptedPeer],
) -> None:
    driver = driver_for(peers, lambda conn: read_request(conn), replies(b"OK\n"))
    with pytest.raises(DeviceUnplugged) as caught:
        driver.request("PING")
    assert caught.value.details["device"] == "dev-1"
    assert not driver.connected
    assert driver.request("PING") == "OK"
    driver.close()


def test_silence_is_a_timeout(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(), timeout=0.3)
    with pytest.raises(DeviceTimeout):
        driver.request("PING")
    driver.close()


def test_a_line_the_device_would_refuse_is_not_sent(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(b"OK\n"))
    with pytest.raises(BadResponse):
        driver.send_line("CALL 1 A001 0\nCALL 2 A002 0")
    with pytest.raises(BadResponse):
        driver.send_line("X" * (MAX_LINE_BYTES + 1))
    assert not driver.connected
    driver.close()


def test_the_reader_routes_unsolicited_lines_and_pairs_replies_with_requests(
    peers: list[ScriptedPeer],
) -> None:
    driver = driver_for(peers, replies(b"EVENT one\nOK\nEVENT two\n"))
    events: queue.Queue[str] = queue.Queue()
    driver.listen(["EVENT"], events.put)
    assert driver.request("PING") == "OK"
    assert events.get(timeout=WAIT_S) == "EVENT one"
    assert events.get(timeout=WAIT_S) == "EVENT two"
    driver.close()


def test_a_failing_listener_does_not_stop_the_reader(peers: list[ScriptedPeer]) -> None:
    driver = driver_for(peers, replies(b"EVENT bad\nEVENT good\nOK\n"))
    good: queue.Queue[str] = queue.Queue()
    errors: queue.Queue[HallEdgeError] = queue.Queue()

    def take(line: str) -> None:
        if line.endswith("bad"):
            raise BadResponse("rejected")
        good.put(line)

    driver.listen(["EVENT"], take, errors.put)
    assert driver.request("PING") == "OK"
    assert good.get(timeout=WAIT_S) == "EVENT good"
    assert isinstance(errors.get(timeout=WAIT_S), BadResponse)
    driver.close()


def test_in_reader_mode_a_lost_connection_fails_the_waiting_request_as_unplugged(
    peers: list[ScriptedPeer],
) -> None:
    driver = driver_for(peers, lambda conn: read_request(conn))
    driver.listen(["EVENT"], lambda line: None)
    with pytest.raises(DeviceUnplugged):
        driver.request("PING")
    driver.close()


def test_nothing_listening_is_unplugged() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    driver = LineSocket("127.0.0.1", port, WAIT_S)
    with pytest.raises(DeviceUnplugged):
        driver.connect()

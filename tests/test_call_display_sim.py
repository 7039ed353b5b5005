"""The display simulator is at least as strict as the documented protocol, byte for byte."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware_sim.call_display import CallDisplaySim
from protocols.hall_line import MAX_LINE_BYTES, ErrCode


class RawHost:
    """A host that writes raw bytes and reads raw reply lines, bypassing the driver."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "simulator closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sim() -> Iterator[CallDisplaySim]:
    with CallDisplaySim() as display:
        yield display


@pytest.mark.parametrize(
    ("sent", "reply"),
    [
        (b"CALL 3 A001 0\n", b"OK\n"),
        (b"CALL 999 ABC12345 1\n", b"OK\n"),
        (b"PING\n", b"PONG call-display 1\n"),
        (b"CALL 0 A001 0\n", b"ERR 422 bad_window\n"),
        (b"CALL 03 A001 0\n", b"ERR 422 bad_window\n"),
        (b"CALL 1000 A001 0\n", b"ERR 422 bad_window\n"),
        (b"CALL 3 a001 0\n", b"ERR 422 bad_ticket\n"),
        (b"CALL 3 A123456 0\n", b"ERR 422 bad_ticket\n"),
        (b"CALL 3 A001 2\n", b"ERR 422 bad_recall\n"),
        (b"CALL 3 A001\n", b"ERR 422 bad_arguments\n"),
        (b"PING x\n", b"ERR 422 bad_arguments\n"),
        (b"call 3 A001 0\n", b"ERR 401 unknown_command\n"),
        (b"RATE A001 3\n", b"ERR 401 unknown_command\n"),
        (b"CALL 3 A001 0\r\n", b"ERR 400 control_character\n"),
        (b"CALL  3 A001 0\n", b"ERR 400 bad_spacing\n"),
        (b"CALL 3 A001 0 \n", b"ERR 400 bad_spacing\n"),
        (b"CALL 3 \xa3\xc1001 0\n", b"ERR 400 not_utf8\n"),
        (b"CALL 3 \xef\xbc\xa1001 0\n", b"ERR 422 bad_ticket\n"),
    ],
)
def test_golden_replies(sim: CallDisplaySim, sent: bytes, reply: bytes) -> None:
    host = RawHost(sim.port)
    host.send(sent)
    assert host.line() == reply
    host.close()
    assert len(sim.calls) == (1 if reply == b"OK\n" else 0)


def test_an_empty_line_is_a_keep_alive_and_gets_no_answer(sim: CallDisplaySim) -> None:
    host = RawHost(sim.port)
    host.send(b"\n\nPING\n")
    assert host.line() == b"PONG call-display 1\n"
    host.close()


def test_an_over_long_line_is_refused_at_once_and_the_rest_of_it_ignored(
    sim: CallDisplaySim,
) -> None:
    host = RawHost(sim.port)
    host.send(b"CALL 3 A001 0" + b" " * MAX_LINE_BYTES)
    assert host.line() == b"ERR 413 line_too_long\n"  # before any LF arrived
    host.send(b"CALL 4 A002 0\nPING\n")  # the tail of the long line is discarded
    assert host.line() == b"PONG call-display 1\n"
    assert sim.calls == []
    host.close()


def test_a_line_at_the_limit_is_read_in_full(sim: CallDisplaySim) -> None:
    host = RawHost(sim.port)
    host.send(b"X" * MAX_LINE_BYTES + b"\n")
    assert host.line() == b"ERR 401 unknown_command\n"
    host.send(b"X" * (MAX_LINE_BYTES + 1) + b"\n")
    assert host.line() == b"ERR 413 line_too_long\n"
    host.close()


def test_a_line_split_across_packets_is_one_command(sim: CallDisplaySim) -> None:
    host = RawHost(sim.port)
    for piece in (b"CA", b"LL 3 A0", b"01 0", b"\n"):
        host.send(piece)
    assert host.line() == b"OK\n"
    assert [c.ticket_no for c in sim.calls] == ["A001"]
    host.close()


def test_several_hosts_share_one_display(sim: CallDisplaySim) -> None:
    hosts = [RawHost(sim.port) for _ in range(3)]
    for n, host in enumerate(hosts, start=1):
        host.send(f"CALL {n} A00{n} 0\n".encode())
        assert host.line() == b"OK\n"
    assert sorted(c.window_no for c in sim.calls) == [1, 2, 3]
    for host in hosts:
        host.close()


#: Lines close to valid ones, so the fuzzing reaches the argument checks, not only the framing.
near_commands = st.lists(
    st.one_of(
        st.sampled_from(["CALL", "PING", "RATE", "CANCEL", "ACK", "RESULT", "OK", "3", "A001"]),
        st.text(max_size=6),
    ),
    max_size=6,
).map(lambda words: " ".join(words).encode("utf-8", "surrogatepass"))
noise_or_commands = st.one_of(
    st.binary(max_size=3 * MAX_LINE_BYTES),
    st.lists(near_commands, max_size=4).map(b"\n".join),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(noise=noise_or_commands)
def test_random_bytes_get_err_or_nothing_and_the_display_keeps_serving(
    sim: CallDisplaySim, noise: bytes
) -> None:
    crashes_before = len(sim.internal_errors)
    host = RawHost(sim.port)
    host.send(noise + b"\nPING\n")
    while (line := host.line()) != b"PONG call-display 1\n":
        assert line.startswith(b"ERR ") or line == b"OK\n", line
    host.close()
    assert sim.internal_errors[crashes_before:] == []
    again = RawHost(sim.port)
    again.send(b"PING\n")
    assert again.line() == b"PONG call-display 1\n"
    again.close()


def test_the_protocol_document_lists_every_error_code_and_the_line_limit() -> None:
    doc = (Path(__file__).parent.parent / "docs/devices/hall-display-protocol.md").read_text(
        encoding="utf-8"
    )
    for code in ErrCode:
        assert f"| {int(code)} |" in doc, code
    assert f"At most **{MAX_LINE_BYTES} bytes**" in doc

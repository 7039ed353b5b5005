"""The simulated SAM module is as strict as the module: raw frames in over the pty, raw frames out.

These tests bypass the reader class and talk to the simulator through the serial driver alone,
so a lenient simulator cannot hide a sloppy driver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.errors import ConfigError
from devices.health import HealthState
from devices.open import open_id_card_reader
from drivers.serial_port import SerialPort
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import BAUD, SAMPLE_CARDS, TIMINGS, IdCardReaderSim
from protocols.sam_frame import PREAMBLE, Cmd, encode_command

#: The simulator and a bare serial port onto it.
Line = tuple[IdCardReaderSim, SerialPort]


@pytest.fixture
def line() -> Iterator[Line]:
    sim = IdCardReaderSim(SAMPLE_CARDS["resident"], timing=TIMINGS["instant"]).start()
    port = SerialPort(sim.path, BAUD, device_id="raw")
    yield sim, port
    port.close()
    sim.stop()


def exchange(port: SerialPort, request: bytes, timeout_s: float = 2.0) -> bytes:
    """Send raw bytes; return the first whole frame that comes back, checksum included."""
    port.write(request)
    raw, deadline = b"", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        raw += port.read_available(0.2)
        at = raw.find(PREAMBLE)
        if at >= 0 and len(raw) >= at + 7:
            end = at + 7 + int.from_bytes(raw[at + 5 : at + 7], "big")
            if len(raw) >= end:
                return raw[at:end]
    raise AssertionError(f"no whole frame in {raw.hex()}")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_find_select_read_answer_with_the_published_frames(line: Line) -> None:
    _, port = line
    assert exchange(port, encode_command(Cmd.FIND_CARD)) == h(
        "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"
    )
    assert exchange(port, encode_command(Cmd.SELECT_CARD)) == h(
        "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"
    )
    read = exchange(port, encode_command(Cmd.READ_TEXT_PHOTO))
    assert len(read) == 1295 and read[:14] == h("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")


def test_select_without_find_and_read_without_select_fail_as_on_the_module(line: Line) -> None:
    _, port = line
    assert exchange(port, encode_command(Cmd.SELECT_CARD)) == h("AA AA AA 96 69 00 04 00 00 81 85")
    assert exchange(port, encode_command(Cmd.READ_TEXT_PHOTO)) == h(
        "AA AA AA 96 69 00 04 00 00 41 45"
    )


def test_no_card_answers_80(line: Line) -> None:
    sim, port = line
    sim.lift()
    assert exchange(port, encode_command(Cmd.FIND_CARD)) == h("AA AA AA 96 69 00 04 00 00 80 84")


def test_a_bad_checksum_from_the_host_is_answered_10(line: Line) -> None:
    sim, port = line
    # The checksum a widely copied libusb test program sends for find card (reference §1.3).
    assert exchange(port, h("AA AA AA 96 69 00 03 20 01 21")) == h(
        "AA AA AA 96 69 00 04 00 00 10 14"
    )
    assert Cmd.FIND_CARD not in sim.commands


@pytest.mark.parametrize(
    "request_hex",
    [
        "AA AA AA 96 69 00 04 20 01 00 25",  # find with a stray data byte: Len 4, not 3
        "AA AA AA 96 69 00 04 20 01 22",  # Len promises a byte that never comes
        "AA AA AA 96 69 00 40 20 01 22",  # longer than any host frame
    ],
)
def test_a_wrong_length_from_the_host_is_answered_11(line: Line, request_hex: str) -> None:
    _, port = line
    assert exchange(port, h(request_hex)) == h("AA AA AA 96 69 00 04 00 00 11 15")


def test_an_unknown_command_is_answered_21(line: Line) -> None:
    _, port = line
    assert exchange(port, h("AA AA AA 96 69 00 03 55 01 57")) == h(
        "AA AA AA 96 69 00 04 00 00 21 25"
    )


def test_the_module_answers_after_noise_from_the_host(line: Line) -> None:
    _, port = line
    answer = exchange(port, b"\x00\xaa\x13" + encode_command(Cmd.STATUS))
    assert answer == h("AA AA AA 96 69 00 04 00 00 90 94")


def test_a_read_takes_at_least_its_wire_time(line: Line) -> None:
    sim, port = line
    exchange(port, encode_command(Cmd.FIND_CARD))
    exchange(port, encode_command(Cmd.SELECT_CARD))
    start = time.monotonic()
    read = exchange(port, encode_command(Cmd.READ_TEXT_PHOTO))
    elapsed = time.monotonic() - start
    assert len(read) == 1295
    assert elapsed >= sim.link.byte_time(1295 + 10) * 0.95


def test_garbage_before_answers_carries_partial_preambles(line: Line) -> None:
    sim, port = line
    sim.inject("garbage")
    port.write(encode_command(Cmd.STATUS))
    raw = b""
    deadline = time.monotonic() + 2
    while len(raw) < 24 and time.monotonic() < deadline:
        raw += port.read_available(0.2)
    assert raw.index(PREAMBLE) > 0 and b"\xaa\xaa\xaa\x96" in raw[: raw.index(PREAMBLE)]


@pytest.mark.parametrize(
    "url",
    [
        "sim://id-reader?card=passport",
        "sim://id-reader?timing=warp",
        "sim://id-reader?faults=on_fire",
        "sim://id-reader?profile=nfc-cloud",
        "sim://usb-printer",
        "tcp://127.0.0.1:7600",
    ],
)
def test_a_bad_reader_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        open_id_card_reader(url, "id-reader-1")
    assert err.value.code == 100


@pytest.mark.parametrize("url", ["serial:///dev/ttyNOSUCH9?baud=115200", "hwgrep://ffff:fffe"])
def test_a_serial_port_that_is_not_there_reports_offline_without_raising(url: str) -> None:
    reader = open_id_card_reader(url, "id-reader-1")
    try:
        health = reader.health()
    finally:
        reader.close()
    assert (health.state, health.reasons, health.code) == (HealthState.OFFLINE, ("not_found",), 301)


def test_faults_can_be_present_from_the_url() -> None:
    reader = open_id_card_reader("sim://id-reader?card=resident&timing=instant&faults=garbage", "r")
    try:
        assert reader.read_card().name == "测试甲"
        assert simulator_of(reader).faults == {"garbage"}
    finally:
        reader.close()

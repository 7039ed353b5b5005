"""The serial driver against a paced pty link: bytes both ways, pacing, unplug and replug."""

from __future__ import annotations

import time

import pytest

from core.errors import DeviceNotFound, DeviceUnplugged
from drivers.serial_port import SerialPort
from hardware_sim.pty_link import PtyLink


def echo_link(baud: int) -> PtyLink:
    link: PtyLink

    def echo(data: bytes) -> None:
        link.send(data.upper())

    link = PtyLink(baud, echo, name="ttyECHO")
    return link.start()


def test_bytes_go_both_ways_through_the_real_driver() -> None:
    link = echo_link(115200)
    port = SerialPort(link.path, 115200, device_id="echo")
    try:
        port.write(b"hello")
        assert port.read(5, timeout_s=2) == b"HELLO"
    finally:
        port.close()
        link.stop()


def test_the_link_is_no_faster_than_its_baud_rate() -> None:
    link = echo_link(9600)
    port = SerialPort(link.path, 9600)
    payload = b"x" * 480  # 0.5 s each way at 9600 baud
    try:
        start = time.monotonic()
        port.write(payload)
        got = b""
        while len(got) < len(payload):
            chunk = port.read(len(payload) - len(got), timeout_s=3)
            assert chunk, "the echo stopped"
            got += chunk
        elapsed = time.monotonic() - start
    finally:
        port.close()
        link.stop()
    assert got == payload.upper()
    assert elapsed >= 2 * link.byte_time(len(payload)) * 0.95


def test_a_pulled_cable_is_unplugged_then_not_found_then_back() -> None:
    link = echo_link(115200)
    port = SerialPort(link.path, 115200, timeout_s=0.5, device_id="echo")
    try:
        port.write(b"a")
        assert port.read(1, timeout_s=2) == b"A"
        link.unplug()
        with pytest.raises(DeviceUnplugged) as err:
            port.write(b"b")
            port.read(1, timeout_s=1)
        assert err.value.details["device"] == "echo"
        with pytest.raises(DeviceNotFound):
            port.write(b"c")
        link.plug()
        port.write(b"d")
        assert port.read(1, timeout_s=2) == b"D"
    finally:
        port.close()
        link.stop()

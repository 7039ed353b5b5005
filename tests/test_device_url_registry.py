"""Device URLs resolve through an open registry; the product opens hardware without ever
loading a simulator, and ``sim://`` works only where a composition root registered them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.device_url import DeviceUrl
from core.errors import ConfigError
from devices.call_display import CallDisplay
from devices.open import CALL_DISPLAY, open_call_display, open_device
from devices.url_registry import register, unregister
from hardware_sim import register_simulators, simulator_of
from hardware_sim.call_display import CallDisplaySim
from protocols.escpos import DLE, EOT, STATUS_BASE

ROOT = Path(__file__).resolve().parent.parent

#: Every product package: none of them may pull in a simulator or a simulated person.
PRODUCT_PACKAGES = (
    "core", "protocols", "devices", "drivers", "flows", "agent", "collector", "kiosk",
    "docscan", "provisioning",
)  # fmt: skip


def _fresh_python(script: str) -> dict[str, Any]:
    """Run ``script`` in a new interpreter from the repository root; its last stdout line."""
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_FILELOG="1")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_sim_url_opens_a_simulator_under_the_real_driver_once_registered() -> None:
    register_simulators()  # again: registering twice changes nothing
    display = open_device(CALL_DISPLAY, "sim://call-display", "display-1")
    try:
        assert isinstance(display, CallDisplay)
        sim = simulator_of(display)
        assert isinstance(sim, CallDisplaySim)
        display.announce("A001", 3)
        assert [c.ticket_no for c in sim.calls] == ["A001"]
    finally:
        display.close()
    with pytest.raises(OSError):  # closing the display stopped its simulator
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()


@pytest.fixture
def display_server() -> Iterator[tuple[int, list[str]]]:
    """A bare hall-line call display: a socket that answers PING and CALL; the lines it got."""
    server = socket.create_server(("127.0.0.1", 0))
    lines: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as wire:
                for raw in wire:
                    line = raw.decode().rstrip("\n")
                    lines.append(line)
                    wire.write(b"PONG call-display 1\n" if line == "PING" else b"OK\n")
                    wire.flush()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1], lines
    finally:
        server.close()


@pytest.fixture
def printer_pty() -> Iterator[tuple[str, bytearray]]:
    """A pty whose far end answers every ESC/POS status query (DLE EOT n) with "all well"."""
    master, slave = os.openpty()
    tty.setraw(slave)
    received = bytearray()

    def answer() -> None:
        while True:
            try:
                chunk = os.read(master, 256)
            except OSError:
                return
            received.extend(chunk)
            queries = chunk.count(bytes((DLE, EOT)))
            if queries:
                os.write(master, bytes((STATUS_BASE,)) * queries)

    threading.Thread(target=answer, daemon=True).start()
    try:
        yield os.ttyname(slave), received
    finally:
        os.close(slave)
        os.close(master)


def test_the_product_opens_hardware_urls_without_loading_any_simulator(
    display_server: tuple[int, list[str]], printer_pty: tuple[str, bytearray]
) -> None:
    port, display_lines = display_server
    pty_path, printer_bytes = printer_pty
    seen = _fresh_python(
        f"""
        import importlib, json, pkgutil, sys
        for package in {PRODUCT_PACKAGES!r}:
            module = importlib.import_module(package)
            for info in pkgutil.walk_packages(module.__path__, package + "."):
                importlib.import_module(info.name)
        from devices.open import open_call_display, open_ticket_printer
        display = open_call_display("tcp://127.0.0.1:{port}?timeout=5", "display-1")
        shown = display.announce("A001", 3).text
        display_state = display.health().state.value
        display.close()
        printer = open_ticket_printer("serial://{pty_path}?baud=9600", "printer-1")
        printer_state = printer.health().state.value
        printer.close()
        print(json.dumps({{
            "shown": shown,
            "display": display_state,
            "printer": printer_state,
            "loaded": sorted(
                m for m in sys.modules if m.split(".")[0] in ("hardware_sim", "simulation")
            ),
        }}))
        """
    )
    assert seen == {"shown": "请A001号到3号窗口办理", "display": "ok", "printer": "ok", "loaded": []}
    assert display_lines == ["CALL 3 A001 0", "PING"]
    assert bytes((DLE, EOT)) in printer_bytes


def test_a_simulator_url_without_registered_simulators_is_config_error_100() -> None:
    seen = _fresh_python(
        """
        import json
        from core.errors import ConfigError
        from devices.open import open_call_display, open_ticket_printer
        refused = []
        for opener, url in ((open_call_display, "sim://call-display"),
                            (open_ticket_printer, "serial://sim?baud=9600")):
            try:
                opener(url, "device-1").close()
            except ConfigError as err:
                refused.append([url, err.code, str(err)])
        print(json.dumps(refused))
        """
    )
    assert [(url, code) for url, code, _ in seen] == [
        ("sim://call-display", 100),
        ("serial://sim?baud=9600", 100),
    ]
    assert all("simulators are not registered" in message for _, _, message in seen)


def test_a_registered_simulator_refuses_a_target_it_does_not_have() -> None:
    with pytest.raises(ConfigError, match="no call display simulator") as err:
        open_call_display("sim://led-wall", "display-1")
    assert err.value.code == 100


def test_a_third_party_scheme_is_registered_and_used() -> None:
    opened: list[tuple[DeviceUrl, str]] = []

    def open_acme(parsed: DeviceUrl, device_id: str) -> CallDisplay:
        opened.append((parsed, device_id))
        return open_call_display(f"tcp://127.0.0.1:{parsed.option('port')}", device_id)

    register(CALL_DISPLAY, "acme", open_acme)
    try:
        display = open_call_display("acme://lobby?port=7999", "display-1")
        display.close()
        with pytest.raises(ValueError):  # a built-in scheme is not silently taken over
            register(CALL_DISPLAY, "tcp", open_acme)
    finally:
        unregister(CALL_DISPLAY, "acme")
    assert isinstance(display, CallDisplay) and display.driver.port == 7999
    assert [(p.scheme, p.target, d) for p, d in opened] == [("acme", "lobby", "display-1")]
    with pytest.raises(ConfigError, match="cannot be opened from acme://"):
        open_call_display("acme://lobby", "display-1")

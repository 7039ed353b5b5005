"""Device discovery on this machine and ``python main.py devices``: shape, health, Chinese."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import DEFAULT_CONFIG
from provisioning import discovery
from provisioning.cli import check_device

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {"serial_ports", "usb", "cameras", "print_queues"}


def test_discovery_lists_what_this_machine_has_without_failing() -> None:
    found = discovery.discover()
    assert set(found) == SECTIONS
    for section in found.values():
        assert section.status in ("ok", "unavailable")
        assert section.status == "ok" or section.reason
    from serial.tools import list_ports

    serial = found["serial_ports"]
    assert [p["device"] for p in serial.items] == sorted(p.device for p in list_ports.comports())
    for port in serial.items:
        assert set(port) >= {"device", "vid", "pid", "serial", "description"}
    assert [c["device"] for c in found["cameras"].items] == sorted(glob.glob("/dev/video*"))
    for dev in found["usb"].items if found["usb"].status == "ok" else []:
        assert len(dev["vid"]) == len(dev["pid"]) == 4 and dev["class"]


def test_a_missing_cups_is_unavailable_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cups", None)  # pycups not installed
    monkeypatch.setenv("PATH", "/nonexistent")  # nor lpstat
    section = discovery.print_queues()
    assert (section.status, section.reason) == (
        "unavailable",
        "neither pycups nor lpstat is installed",
    )


def test_a_missing_pyusb_leaves_the_other_sections_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usb.core", None)
    found = discovery.discover()
    assert found["usb"].status == "unavailable" and "usb.core" in found["usb"].reason
    assert found["serial_ports"].status == "ok"


def test_a_role_without_an_opener_is_unknown() -> None:
    report = check_device("time_machine", "sim://flux")
    assert (report.health.state.value, report.health.reasons) == ("unknown", ("no_opener",))


def _config_with_devices(tmp_path: Path, devices: str) -> Path:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    head = text[: text.index("[devices]")]
    path = tmp_path / "hall.toml"
    path.write_text(head + "[devices]\n" + devices, encoding="utf-8")
    return path


def _devices_json(*args: str) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "main.py", "devices", "--json", *args],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == "" or "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def test_devices_json_reports_every_configured_device_and_the_discovery() -> None:
    code, report = _devices_json()
    assert code == 0
    assert report["hall"] == "hall-demo"
    roles = [d["role"] for d in report["configured"]]
    assert {
        "ticket_printer",
        "call_display",
        "rating_pad",
        "window_caller",
        "window_screen",
    } <= set(roles)
    for dev in report["configured"]:
        assert set(dev) == {"role", "url", "device", "state", "reasons", "code", "message"}
        assert dev["state"] == "ok" and dev["message"] == "正常"
    assert set(report["discovered"]) == SECTIONS
    for section in report["discovered"].values():
        assert set(section) == {"status", "source", "items", "reason"}


def test_devices_reports_a_missing_caller_port_in_chinese_and_fails(tmp_path: Path) -> None:
    config = _config_with_devices(
        tmp_path,
        'window_caller = "serial:///dev/ttyHALLEDGE-none?address=2"\n'
        'window_screen = "sim://window-screen"\n',
    )
    code, report = _devices_json("--config", str(config))
    assert code == 1
    caller, screen = report["configured"]
    assert (caller["state"], caller["reasons"], caller["code"]) == ("offline", ["not_found"], 301)
    assert caller["message"] == "未找到设备，请联系工作人员"
    assert screen["state"] == "ok"


def test_devices_prints_a_table_for_people() -> None:
    done = subprocess.run(
        [sys.executable, "main.py", "devices"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["role", "state", "code", "message", "url"]
    assert any(line.startswith("window_caller") and "正常" in line for line in lines)
    assert any(line.startswith("serial_ports") for line in lines)

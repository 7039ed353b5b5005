"""Remote commands reach the kiosk and the window PAD themselves, in real windows (Xvfb):
``main.py kiosk|pad --mqtt`` against a real Mosquitto, commanded as a technician at the
collector would, with ``python main.py collector command … --device kiosk-1``.

Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.commands import RESTART_EXIT_CODE
from collector.commands import CommandSender
from core.config import DEFAULT_CONFIG
from tests.brokers import MosquittoUnderTest, wait_until
from tests.collector_cli import collector_command
from tests.ui.fixtures import ROOT, UiLauncher

pytestmark = pytest.mark.ui

HALL = "hall-demo"
TAX_SERVICE = '\n[[services]]\ncode = "tax"\nname = "税务"\nprefix = "D"\naht_s = 360\n'
#: An app process starts Kivy and its window first; a ceiling on a shared machine.
APP_START_TIMEOUT_S = 120


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hall.toml"
    shutil.copy(DEFAULT_CONFIG, path)
    return path


@pytest.fixture
def sender(mosquitto: MosquittoUnderTest) -> Iterator[CommandSender]:
    commands = CommandSender(mosquitto.host, mosquitto.port)
    commands.start()
    assert commands.subscribed.wait(30)
    try:
        yield commands
    finally:
        commands.stop()


def ask(sender: CommandSender, device: str, name: str, timeout: float = 30) -> dict | None:
    return sender.wait_ack(sender.send(HALL, device, name), timeout)


def listening(sender: CommandSender, device: str, log: Path | None = None) -> dict[str, Any]:
    """The app's diagnostics, once its remote control answers (a command sent before its
    subscription took is lost: clean session)."""
    acks: list[dict] = []

    def answered() -> bool:
        ack = ask(sender, device, "upload_diagnostics", timeout=2)
        if ack is not None:
            acks.append(ack)
        return ack is not None

    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    assert wait_until(answered, APP_START_TIMEOUT_S), f"{device} never answered\n{tail}"
    assert acks[-1]["outcome"] == "ok", acks[-1]
    return acks[-1]["result"]["diagnostics"]


def start_app(xvfb: dict[str, str], argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``python main.py <app> …`` in a real window, as a supervisor would start it."""
    return subprocess.Popen(
        [sys.executable, "main.py", *argv],
        cwd=ROOT,
        env=xvfb,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_the_kiosk_shows_the_refreshed_catalog_the_next_time_a_citizen_chooses(
    ui: UiLauncher,
    tmp_path: Path,
    config: Path,
    mosquitto: MosquittoUnderTest,
    sender: CommandSender,
) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    run = ui.start(
        [
            "kiosk",
            "--config",
            str(config),
            "--hall-db",
            str(tmp_path / "hall.db"),
            "--device-id",
            "kiosk-1",
            "--printer",
            f"sim://usb-printer?record={tmp_path / 'tickets.jsonl'}",
            "--mqtt",
            f"{mosquitto.host}:{mosquitto.port}",
        ],
        [
            {"op": "tap", "id": "take_button"},
            {"op": "wait", "id": "service_business"},
            {"op": "snapshot", "name": "before"},
            {"op": "tap", "id": "home_button"},
            {"op": "wait", "id": "take_button"},
            {"op": "touch_file", "path": str(ready)},
            {"op": "wait_file", "path": str(go), "timeout": 150},
            {"op": "tap", "id": "take_button"},
            {"op": "wait", "id": "service_tax"},
            {"op": "snapshot", "name": "after"},
            {"op": "screenshot", "name": "refreshed-services"},
            {"op": "tap", "id": "service_tax"},
            {"op": "wait_text", "id": "ticket_no", "match": r"^D\d{3}$"},
            {"op": "snapshot", "name": "ticket"},
        ],
    )
    run.wait_for_file(ready)
    listening(sender, "kiosk-1")
    text = config.read_text(encoding="utf-8").replace(
        'config_version = "1"', 'config_version = "2"'
    )
    config.write_text(text + TAX_SERVICE, encoding="utf-8")

    status, ack = collector_command(mosquitto, HALL, "refresh_catalog", device="kiosk-1")
    assert (status, ack["outcome"]) == (0, "ok"), ack
    assert (ack["device"], ack["result"]["added"], ack["result"]["services"]) == (
        "kiosk-1",
        ["tax"],
        4,
    )
    go.touch()
    result = run.result()

    before, after = result["snapshots"]["before"], result["snapshots"]["after"]
    assert not any(key.startswith("service_tax") for key in before)
    assert "税务" in after["service_tax"] and "等候0人" in after["service_tax"]
    assert "社保医保" in after["service_social"]
    assert result["snapshots"]["ticket"]["ticket_no"] == "D001"
    assert result["snapshots"]["ticket"]["ticket_service"] == "税务"


def test_restart_app_closes_the_kiosk_with_exit_status_75_after_its_ack(
    xvfb: dict[str, str],
    tmp_path: Path,
    config: Path,
    mosquitto: MosquittoUnderTest,
    sender: CommandSender,
) -> None:
    log = tmp_path / "kiosk.log"
    kiosk = start_app(
        xvfb,
        [
            "kiosk",
            "--config",
            str(config),
            "--hall-db",
            str(tmp_path / "hall.db"),
            "--device-id",
            "kiosk-2",
            "--printer",
            "sim://usb-printer?faults=paper_out",
            "--mqtt",
            f"{mosquitto.host}:{mosquitto.port}",
        ],
        log,
    )
    try:
        diag = listening(sender, "kiosk-2", log)
        assert (diag["device"], diag["app"], diag["services"]) == ("kiosk-2", "kiosk", 3)
        [printer] = diag["peripherals"]
        assert (printer["device"], printer["state"]) == ("kiosk-2-printer", "error")
        assert "paper_out" in printer["reasons"]

        status, ack = collector_command(mosquitto, HALL, "restart_app", device="kiosk-2")
        assert (status, ack["outcome"], ack["device"]) == (0, "ok", "kiosk-2"), ack
        assert kiosk.wait(timeout=60) == RESTART_EXIT_CODE, log.read_text(errors="replace")
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait()


def test_the_pad_takes_its_own_commands_and_keeps_its_catalog_when_its_window_is_gone(
    xvfb: dict[str, str],
    tmp_path: Path,
    config: Path,
    mosquitto: MosquittoUnderTest,
    sender: CommandSender,
) -> None:
    log = tmp_path / "pad.log"
    pad = start_app(
        xvfb,
        [
            "pad",
            "--config",
            str(config),
            "--hall-db",
            str(tmp_path / "hall.db"),
            "--window",
            "4",
            "--device-id",
            "pad-4",
            "--display",
            "sim://call-display",
            "--rating-pad",
            "sim://rating-pad",
            "--mqtt",
            f"{mosquitto.host}:{mosquitto.port}",
        ],
        log,
    )
    try:
        diag = listening(sender, "pad-4", log)
        assert (diag["device"], diag["app"]) == ("pad-4", "pad")
        assert [(p["device"], p["state"]) for p in diag["peripherals"]] == [
            ("call-display", "ok"),
            ("rating-pad-4", "ok"),
        ]
        assert "staff" not in json.dumps(diag)

        # A file without window 4 would leave this PAD serving nothing: refused, kept.
        original = config.read_text(encoding="utf-8")
        window_4 = original.index("[[windows]]\nno = 4")
        config.write_text(
            original[:window_4] + original[original.index("\n\n", window_4) :], "utf-8"
        )
        status, ack = collector_command(mosquitto, HALL, "refresh_catalog", device="pad-4")
        assert (status, ack["outcome"], ack["code"]) == (1, "failed", 202), ack
        assert ask(sender, "pad-4", "upload_diagnostics")["result"]["diagnostics"]["services"] == 3

        config.write_text(original + TAX_SERVICE, "utf-8")
        status, ack = collector_command(mosquitto, HALL, "refresh_catalog", device="pad-4")
        assert (status, ack["outcome"], ack["result"]["added"]) == (0, "ok", ["tax"]), ack

        refused = sender.wait_ack(
            sender.send(HALL, "pad-4", "restart_app", addressed_to="pad-3"), 30
        )
        assert refused is not None and refused["reason"] == "wrong_device"
        assert "result" not in refused

        status, ack = collector_command(mosquitto, HALL, "restart_app", device="pad-4")
        assert (status, ack["outcome"]) == (0, "ok"), ack
        assert pad.wait(timeout=60) == RESTART_EXIT_CODE, log.read_text(errors="replace")
    finally:
        if pad.poll() is None:
            pad.kill()
            pad.wait()

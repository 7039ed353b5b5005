"""The call display and rating pad windows are devices: the real drivers reach them over TCP.

Each window embeds its device simulator on a loopback port; this test process plays the window
PAD with :func:`devices.open.open_call_display` / :func:`devices.open.open_rating_pad`.
Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.broker import free_port
from devices.health import HealthState
from devices.open import open_call_display, open_rating_pad
from tests.brokers import wait_until
from tests.ui.fixtures import UiLauncher, UiRun

pytestmark = pytest.mark.ui


def _wait_healthy(device: object, run: UiRun) -> None:
    """Until the window's device answers PING (it starts listening after the window opens)."""
    ok = wait_until(lambda: not run.alive() or device.health().state is HealthState.OK, 90, 0.2)
    assert ok and run.alive(), f"the window's device never answered: {run.error()}\n{run.tail()}"


def test_call_display_window_shows_the_latest_call_big_and_the_last_called(
    ui: UiLauncher, tmp_path: Path
) -> None:
    port = free_port()
    welcomed = tmp_path / "welcomed"
    run = ui.start(
        ["display", "--port", str(port)],
        [
            {"op": "wait_text", "id": "latest_call", "match": "欢迎光临示范区政务服务中心"},
            # Calls go out only after the welcome was seen, or a fast PAD would overtake it.
            {"op": "touch_file", "path": str(welcomed)},
            {"op": "wait_text", "id": "latest_call", "match": "^请A001号到3号窗口办理$"},
            {"op": "wait_text", "id": "board_1", "match": "B002"},
            {"op": "snapshot", "name": "board"},
            {"op": "screenshot", "name": "display"},
        ],
        name="display",
    )
    display = open_call_display(f"tcp://127.0.0.1:{port}", "call-display")
    try:
        _wait_healthy(display, run)
        assert wait_until(lambda: welcomed.exists() or not run.alive(), 90), run.tail()
        display.announce("B002", 2)
        shown = display.announce("A001", 3)
        result = run.result()
    finally:
        display.close()

    board = result["snapshots"]["board"]
    assert board["latest_call"] == shown.text
    assert board["board_0"].split() == ["A001", "3号窗口"]
    assert board["board_1"].split() == ["B002", "2号窗口"]
    assert board["board_2"] == ""


def test_rating_pad_window_shows_the_request_and_a_tap_sends_the_level_to_the_window(
    ui: UiLauncher, tmp_path: Path
) -> None:
    port = free_port()
    asked = tmp_path / "asked"
    run = ui.start(
        ["rating-pad", "--port", str(port)],
        [
            {"op": "wait_text", "id": "pad_message", "match": "欢迎"},
            {"op": "touch_file", "path": str(asked)},
            {"op": "wait", "id": "rate_4"},
            {"op": "snapshot", "name": "asked"},
            {"op": "screenshot", "name": "1-asked"},
            {"op": "tap", "id": "rate_4"},
            {"op": "wait_text", "id": "pad_message", "match": "^感谢您的评价$"},
            {"op": "snapshot", "name": "thanked"},
            {"op": "screenshot", "name": "2-thanked"},
        ],
        name="rating",
    )
    pad = open_rating_pad(f"tcp://127.0.0.1:{port}", "rating-pad-2")
    levels: list[int] = []
    rated = threading.Event()
    try:
        run.wait_for_file(asked)
        _wait_healthy(pad, run)
        pad.request("A007", 2, lambda level: (levels.append(level), rated.set()))
        result = run.result()
        assert rated.wait(30), "the window's RESULT never reached the driver"
    finally:
        pad.close()

    asked_screen = result["snapshots"]["asked"]
    assert asked_screen["pending_ticket"] == "A007号 · 2号窗口"
    assert [asked_screen[f"rate_{lv}"] for lv in (5, 4, 3, 2, 1)] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert levels == [4]
    assert "rate_4" not in result["snapshots"]["thanked"]

"""The window PAD's daily operations in a real window (Xvfb): the waiting list says how many are
not on screen, a 绿色通道 ticket is called first and the PAD says why, 过号 asks first and can be
undone, 暂停 with a reason and 恢复, 签退. The call display is a simulator in this process.
Screenshots: ``test-artifacts/ui/<test name>/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SystemClock
from core.config import load_hall_config
from core.events import Kind
from flows.queue import HallQueue
from hallstore import journal
from hardware_sim.call_display import CallDisplaySim
from tests.ui.fixtures import UiLauncher

pytestmark = pytest.mark.ui


@pytest.fixture
def display() -> Iterator[CallDisplaySim]:
    sim = CallDisplaySim(0).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_staff_skip_undo_pause_resume_and_sign_out_with_priority_shown(
    ui: UiLauncher, tmp_path: Path, display: CallDisplaySim
) -> None:
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    queue = HallQueue(conn, load_hall_config(), SystemClock())
    for _ in range(9):
        queue.issue("social", "kiosk-1")
    queue.issue("social", "guide-1", priority="green")  # A010, 绿色通道
    result = ui.run(
        [
            "pad", "--hall-db", str(db), "--window", "3", "--device-id", "pad-3",
            "--staff", "007", "--display", f"tcp://127.0.0.1:{display.port}",
            "--rating-pad", "sim://rating-pad",
        ],
        [
            {"op": "tap", "id": "sign_in_button"},
            {"op": "wait_text", "id": "waiting_count", "match": "等候 10 人"},
            {"op": "snapshot", "name": "list"},
            {"op": "tap", "id": "call_button"},
            {"op": "wait_text", "id": "current_ticket", "match": "^A010$"},
            {"op": "snapshot", "name": "green"},
            {"op": "screenshot", "name": "1-green-called"},
            {"op": "tap", "id": "skip_button"},
            {"op": "wait", "id": "confirm_skip_button"},
            {"op": "snapshot", "name": "confirm"},
            {"op": "screenshot", "name": "2-confirm-skip"},
            {"op": "tap", "id": "confirm_skip_button"},
            {"op": "wait", "id": "undo_skip_button"},
            {"op": "snapshot", "name": "skipped"},
            {"op": "tap", "id": "undo_skip_button"},
            {"op": "wait_text", "id": "current_ticket", "match": "^A010$"},
            {"op": "tap", "id": "finish_button"},
            {"op": "wait_text", "id": "current_ticket", "match": "^—$"},
            {"op": "tap", "id": "pause_button"},
            {"op": "wait", "id": "pause_reason_0"},
            {"op": "tap", "id": "pause_reason_0"},
            {"op": "wait", "id": "resume_button"},
            {"op": "snapshot", "name": "paused"},
            {"op": "screenshot", "name": "3-paused"},
            {"op": "tap", "id": "resume_button"},
            {"op": "wait", "id": "call_button"},
            {"op": "tap", "id": "sign_out_button"},
            {"op": "wait", "id": "staff_input"},
            {"op": "snapshot", "name": "out"},
        ],
        name="pad",
    )
    snaps = result["snapshots"]
    assert snaps["list"]["waiting_0"].startswith("A010")
    assert "绿色通道" in snaps["list"]["waiting_0"]
    assert snaps["list"]["waiting_more"] == "…… 另有 3 人未显示"
    assert snaps["green"]["current_priority"] == "优先呼叫：绿色通道"
    assert snaps["confirm"]["dialog_title"].startswith("确认 A010 过号？")
    assert snaps["confirm"]["current_ticket"] == "A010"  # nothing skipped before confirming
    assert "A010 已过号" in snaps["skipped"]["message_line"]
    assert snaps["paused"]["current_ticket"] == "暂停服务"
    assert "临时离开" in snaps["paused"]["current_detail"]
    assert snaps["out"]["desk_status"] == "未签到"
    kinds = [p.event.kind for p in journal.pending(conn, 1000)]
    conn.close()
    for kind in (Kind.TICKET_SKIPPED, Kind.TICKET_SKIP_UNDONE, Kind.WINDOW_PAUSED,
                 Kind.WINDOW_RESUMED, Kind.WINDOW_CLOSED):
        assert kind in kinds
    assert [c.ticket_no for c in display.calls] == ["A010"]

"""The window PAD in a real window: staff taps reach the display, the rating pad and the journal.

The call display and the rating pad are simulators in this test process, reached by the PAD
process over loopback TCP through the real device drivers; tidal-window warnings come from a
real Mosquitto. Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SystemClock
from core.config import load_hall_config
from core.events import Kind
from core.strings_zh import error_text
from core.topics import warnings_topic
from flows.queue import HallQueue
from hallstore import journal
from hardware_sim.call_display import CallDisplaySim
from hardware_sim.rating_pad import RatingPadSim
from tests.brokers import MosquittoUnderTest
from tests.ui.fixtures import UiLauncher

pytestmark = pytest.mark.ui


RED_WARNING = {
    "v": 1,
    "hall": "hall-demo",
    "at": 1795399200.0,
    "warnings": [
        {
            "hall": "hall-demo",
            "service": "social",
            "level": "red",
            "metric": "wait_s",
            "value": 1930.0,
            "threshold": 1800.0,
            "at": 1795399200.0,
            "recommendation": {"action": "open", "windows": 2, "text": "建议增开2个窗口"},
        },
        {
            "hall": "hall-demo",
            "service": "business",
            "level": "valley",
            "metric": "wait_s",
            "value": 20.0,
            "threshold": 60.0,
            "at": 1795399200.0,
            "recommendation": {"action": "merge", "windows": 1, "text": "建议合并1个窗口"},
        },
    ],
}


@pytest.fixture
def display() -> Iterator[CallDisplaySim]:
    sim = CallDisplaySim(0).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def rating_pad() -> Iterator[RatingPadSim]:
    sim = RatingPadSim(0).start()
    try:
        yield sim
    finally:
        sim.stop()


def _publish_retained(broker: MosquittoUnderTest, topic: str, payload: dict) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        info = client.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1, retain=True)
        info.wait_for_publish(timeout=30)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def test_staff_signs_in_calls_finishes_and_the_citizen_rates_while_warnings_show(
    ui: UiLauncher,
    tmp_path: Path,
    display: CallDisplaySim,
    rating_pad: RatingPadSim,
    mosquitto: MosquittoUnderTest,
) -> None:
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    queue = HallQueue(conn, load_hall_config(), SystemClock())
    queue.issue("social", "kiosk-1")
    queue.issue("household", "kiosk-1")
    _publish_retained(mosquitto, warnings_topic("hall-demo"), RED_WARNING)
    asked = tmp_path / "rating-asked"

    run = ui.start(
        [
            "pad",
            "--hall-db",
            str(db),
            "--window",
            "3",
            "--device-id",
            "pad-3",
            "--display",
            f"tcp://127.0.0.1:{display.port}",
            "--rating-pad",
            f"tcp://127.0.0.1:{rating_pad.port}",
            "--mqtt",
            f"{mosquitto.host}:{mosquitto.port}",
        ],
        [
            {"op": "wait", "id": "staff_input"},
            {"op": "type", "id": "staff_input", "text": "007"},
            {"op": "screenshot", "name": "1-sign-in"},
            {"op": "tap", "id": "sign_in_button"},
            {"op": "wait", "id": "call_button"},
            {"op": "wait_text", "id": "waiting_count", "match": "等候 2 人"},
            {"op": "wait_text", "id": "warning_0", "match": "建议增开2个窗口"},
            {"op": "tap", "id": "call_button"},
            {"op": "wait_text", "id": "current_ticket", "match": "^A001$"},
            {"op": "snapshot", "name": "called"},
            {"op": "screenshot", "name": "2-called"},
            {"op": "tap", "id": "finish_button"},
            {"op": "wait_text", "id": "rating_state", "match": "等待群众评价"},
            {"op": "touch_file", "path": str(asked)},
            {"op": "wait_text", "id": "rating_state", "match": "评价结果：非常满意"},
            {"op": "snapshot", "name": "rated"},
            {"op": "screenshot", "name": "3-rated"},
        ],
        name="pad",
    )
    run.wait_for_file(asked)
    pending = rating_pad.pending
    assert pending is not None and (pending.ticket_no, pending.window_no) == ("A001", 3)
    rating_pad.press(5)
    result = run.result()

    assert [(c.window_no, c.ticket_no, c.recall) for c in display.calls] == [(3, "A001", False)]
    called = result["snapshots"]["called"]
    assert called["desk_status"] == "工号 007 · 已签到"
    assert called["waiting_count"] == "等候 1 人"
    assert called["waiting_0"].startswith("B001")
    assert "红色预警" in called["warning_0"] and "社保医保" in called["warning_0"]
    assert "低谷提示" in called["warning_1"] and "建议合并1个窗口" in called["warning_1"]
    events = [p.event for p in journal.pending(conn, 1000)]
    conn.close()
    ratings = [e for e in events if e.kind == Kind.RATING_SUBMITTED]
    assert [(e.data["ticket_no"], e.data["level"], e.data["label"]) for e in ratings] == [
        ("A001", 5, "非常满意")
    ]
    opened = [e for e in events if e.kind == Kind.WINDOW_OPENED]
    assert [(e.data["window"], e.data["staff_id"]) for e in opened] == [(3, "007")]


def test_pad_refuses_a_missing_staff_id_and_a_finish_with_nobody_called_in_chinese(
    ui: UiLauncher, tmp_path: Path, display: CallDisplaySim
) -> None:
    result = ui.run(
        [
            "pad",
            "--hall-db",
            str(tmp_path / "hall.db"),
            "--window",
            "2",
            "--staff",
            "",
            "--display",
            f"tcp://127.0.0.1:{display.port}",
            "--rating-pad",
            "sim://rating-pad",
        ],
        [
            {"op": "tap", "id": "sign_in_button"},
            {"op": "wait_text", "id": "message_line", "match": "."},
            {"op": "snapshot", "name": "no_staff"},
            {"op": "type", "id": "staff_input", "text": "005"},
            {"op": "tap", "id": "sign_in_button"},
            {"op": "tap", "id": "finish_button"},
            {"op": "wait_text", "id": "message_line", "match": "."},
            {"op": "snapshot", "name": "nobody_called"},
            {"op": "screenshot", "name": "nobody-called"},
        ],
        name="pad",
    )
    no_staff = result["snapshots"]["no_staff"]
    assert no_staff["message_line"] == error_text("staff_id_required")
    assert no_staff["desk_status"] == "未签到"
    nobody = result["snapshots"]["nobody_called"]
    assert nobody["message_line"] == error_text("no_current_ticket")
    assert nobody["desk_status"] == "工号 005 · 已签到"
    assert nobody["current_ticket"] == "—"
    assert display.calls == []

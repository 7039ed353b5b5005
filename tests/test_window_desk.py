"""The window PAD flow as staff use it: the call reaches the hall display, 办结 invites a
rating, warnings arrive from the collector. Real simulators on loopback, a real broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from agent.warnings_listener import WarningsListener
from core.events import Kind
from core.topics import warnings_topic
from devices.call_display import CallDisplay
from devices.open import open_call_display, open_rating_pad
from devices.rating_pad import RatingPad
from flows.window_desk import WindowDesk
from hallstore import journal
from hardware_sim import simulator_of
from tests.brokers import MosquittoUnderTest, wait_until
from tests.conftest import HallDb


@pytest.fixture
def display() -> Iterator[CallDisplay]:
    d = open_call_display("sim://call-display", "display-1")
    yield d
    d.close()


@pytest.fixture
def pad() -> Iterator[RatingPad]:
    p = open_rating_pad("sim://rating-pad", "rating-3")
    yield p
    p.close()


@pytest.fixture
def desk(hall_db: HallDb, display: CallDisplay, pad: RatingPad) -> WindowDesk:
    return WindowDesk(hall_db.queue, 3, "pad-3", display, pad, hall_db.clock)


def kinds(hall_db: HallDb) -> list[str]:
    return [p.event.kind for p in journal.pending(hall_db.conn, 10_000)]


def test_calling_before_signing_in_is_refused(desk: WindowDesk, hall_db: HallDb) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    screen = desk.call()
    assert screen.error_key == "window_not_open"
    assert screen.error_text == "本窗口尚未签到，请先签到"


def test_a_call_reaches_the_hall_display(
    desk: WindowDesk, hall_db: HallDb, display: CallDisplay
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    hall_db.queue.issue("household", "kiosk-1")
    assert desk.sign_in("003").data["waiting_count"] == 2
    hall_db.clock.advance(90)
    screen = desk.call()
    assert screen.error_key is None
    assert screen.data["current"]["ticket_no"] == "A001"
    assert screen.data["current"]["waited_s"] == pytest.approx(90)
    assert [w["ticket_no"] for w in screen.data["waiting"]] == ["B001"]
    sim = simulator_of(display)
    assert [c.text for c in sim.calls] == ["请A001号到3号窗口办理"]
    desk.recall()
    assert sim.calls[-1].recall is True
    assert desk.view().data["current"]["call_count"] == 2


def test_a_broken_display_loses_no_call(
    desk: WindowDesk, hall_db: HallDb, display: CallDisplay
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("003")
    simulator_of(display).unplug()
    screen = desk.call()
    assert screen.data["current"]["ticket_no"] == "A001"
    assert "叫号屏未响应" in screen.data["notice"] and "设备已断开" in screen.data["notice"]
    assert Kind.TICKET_CALLED in kinds(hall_db)
    health = [
        p.event.data
        for p in journal.pending(hall_db.conn, 100)
        if p.event.kind == Kind.DEVICE_HEALTH
    ]
    assert health[-1]["device"] == "display-1" and health[-1]["state"] == "offline"


def test_finishing_invites_a_rating_and_records_it(
    desk: WindowDesk, hall_db: HallDb, pad: RatingPad
) -> None:
    changed = threading.Event()
    desk.on_change = changed.set
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("003")
    desk.call()
    screen = desk.finish()
    assert screen.data["rating"]["state"] == "pending"
    sim = simulator_of(pad)
    assert wait_until(lambda: sim.pending is not None, 10)
    assert sim.pending.ticket_no == "A001"
    sim.press(4)
    assert changed.wait(10)
    assert desk.view().data["rating"] == {
        "ticket_no": "A001",
        "state": "done",
        "level": 4,
        "label": "满意",
    }
    rating = [
        p.event for p in journal.pending(hall_db.conn, 100) if p.event.kind == Kind.RATING_SUBMITTED
    ]
    assert [(e.data["level"], e.data["window"], e.device_id) for e in rating] == [
        (4, 3, "rating-3")
    ]


def test_no_one_waiting_is_a_notice_not_an_error(desk: WindowDesk) -> None:
    desk.sign_in("003")
    screen = desk.call()
    assert screen.error_key is None and screen.data["notice"] == "当前无人等候"


def test_finish_needs_a_current_ticket(desk: WindowDesk) -> None:
    desk.sign_in("003")
    assert desk.finish().error_text == "当前没有正在办理的号码"


def test_retained_warnings_reach_the_desk_for_its_services(
    desk: WindowDesk, hall_db: HallDb, mosquitto: MosquittoUnderTest
) -> None:
    payload = {
        "v": 1,
        "hall": "hall-demo",
        "at": 0.0,
        "warnings": [
            {
                "hall": "hall-demo",
                "service": "social",
                "level": "red",
                "metric": "wait_s",
                "value": 1930.0,
                "threshold": 1800.0,
                "at": 0.0,
                "recommendation": {"action": "open", "windows": 2, "text": "建议增开2个窗口"},
            },
            {
                "hall": "hall-demo",
                "service": "business",
                "level": "yellow",
                "metric": "wait_s",
                "value": 950.0,
                "threshold": 900.0,
                "at": 0.0,
            },
        ],
    }
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    # Published before the PAD starts: the retained list is what a late PAD must see.
    pub.publish(
        warnings_topic("hall-demo"), json.dumps(payload), qos=1, retain=True
    ).wait_for_publish(10)
    listener = WarningsListener(mosquitto.host, mosquitto.port, "hall-demo", desk.on_warnings)
    listener.start()
    try:
        assert wait_until(lambda: desk.view().data["warnings"], 15)
        warnings = desk.view().data["warnings"]
        # Window 3 serves all three services; both warnings are its business.
        assert {(w["service_name"], w["level"]) for w in warnings} == {
            ("社保医保", "red"),
            ("企业开办", "yellow"),
        }
        assert [w["recommendation_text"] for w in warnings if w["level"] == "red"] == [
            "建议增开2个窗口"
        ]
        # A malformed message is dropped and counted; the desk keeps what it had.
        pub.publish(warnings_topic("hall-demo"), b"not json", qos=1).wait_for_publish(10)
        assert wait_until(lambda: listener.rejected == 1, 15)
        assert len(desk.view().data["warnings"]) == 2
    finally:
        listener.stop()
        pub.loop_stop()


def test_a_window_ignores_warnings_for_services_it_does_not_serve(hall_db: HallDb) -> None:
    desk = WindowDesk(hall_db.queue, 1, "pad-1", None, None, hall_db.clock)
    desk.on_warnings({"v": 1, "warnings": [{"service": "business", "level": "red"}]})
    assert desk.view().data["warnings"] == []


def test_calling_while_serving_is_refused_and_a_no_show_is_skipped(
    desk: WindowDesk, hall_db: HallDb, display: CallDisplay
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("003")
    desk.call()
    refused = desk.call()
    assert refused.error_text == "请先办结或过号当前号码"
    assert refused.data["current"]["ticket_no"] == "A001"
    skipped = desk.skip()
    assert skipped.error_key is None and skipped.data["current"] is None
    assert Kind.TICKET_SKIPPED in kinds(hall_db)
    assert desk.call().data["current"]["ticket_no"] == "A002"
    assert [c.ticket_no for c in simulator_of(display).calls] == ["A001", "A002"]


def test_signing_out_waits_for_the_citizen_at_the_window(desk: WindowDesk, hall_db: HallDb) -> None:
    hall_db.queue.issue("household", "kiosk-1")
    desk.sign_in("003")
    desk.call()
    assert desk.sign_out().error_key == "ticket_in_service"
    desk.finish()
    screen = desk.sign_out()
    assert screen.error_key is None and screen.data["signed_in"] is False
    assert kinds(hall_db)[-1] == Kind.WINDOW_CLOSED


def test_an_unplugged_rating_pad_still_finishes_the_case(
    desk: WindowDesk, hall_db: HallDb, pad: RatingPad
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("003")
    desk.call()
    simulator_of(pad).unplug()
    screen = desk.finish()
    assert screen.error_key is None and screen.data["current"] is None
    assert "评价器未响应" in screen.data["notice"]
    assert screen.data["rating"] is None
    assert Kind.TICKET_FINISHED in kinds(hall_db)
    health = [
        p.event.data
        for p in journal.pending(hall_db.conn, 100)
        if p.event.kind == Kind.DEVICE_HEALTH
    ]
    pad_health = [h for h in health if h["device"] == "rating-3"]
    assert len(pad_health) == 1 and pad_health[0]["state"] != "ok"

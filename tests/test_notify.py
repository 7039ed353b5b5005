"""Warnings and 差评 reach people: the collector, a real broker, real hall events, and the
notification gateway simulator over real HTTP on loopback."""

from __future__ import annotations

import time

import pytest

from collector.notify import GatewayClient
from collector.service import CollectorService
from collector.tidal_config import parse_collector_settings
from tests.brokers import wait_until
from tests.hall_events import RecordedHall
from tests.test_warnings_service import HallSender
from upstream_sim.notify_gateway import notify_gateway_server

TIMEOUT = 60
OFFICE_LEAD, SOCIAL_LEAD, BUSINESS_LEAD, DUTY = (
    "13800000001", "13800000002", "13800000003", "13800000004",
)  # fmt: skip


@pytest.fixture
def gateway():
    server, state = notify_gateway_server()
    server.start()
    yield server, state
    server.stop()


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


@pytest.fixture
def sender(mosquitto):
    client = HallSender(mosquitto.host, mosquitto.port)
    yield client
    client.close()


def settings_for(gateway_url: str):
    return parse_collector_settings({"notify": {"gateway": gateway_url, "recipients": [
        {"role": "office_lead", "name": "王主任", "phone": OFFICE_LEAD},
        {"role": "window_lead", "name": "李科长", "phone": SOCIAL_LEAD, "department": "人社局",
         "services": ["social"]},
        {"role": "window_lead", "name": "赵科长", "phone": BUSINESS_LEAD,
         "department": "市场监管局", "services": ["business"]},
        {"role": "duty_manager", "name": "周经理", "phone": DUTY},
    ]}})  # fmt: skip


@pytest.fixture
def service(tmp_path, mosquitto, hall, gateway):
    server, _ = gateway
    collector = CollectorService(
        tmp_path / "collector.db", mosquitto.host, mosquitto.port, {hall.hall_id: hall.config},
        settings={hall.hall_id: settings_for(server.url)}, baseline_check_s=None,
    )  # fmt: skip
    collector.notifier.retry_delays_s = (0.2, 0.2, 0.2, 0.2)
    collector.start()
    assert collector.wait_ready(TIMEOUT), mosquitto.log_text()
    yield collector
    collector.stop()


def test_a_red_warning_and_a_bad_rating_each_reach_the_right_people_once(
    hall, sender, service, gateway
):
    server, inbox = gateway
    # 25 citizens wait for social security at one window: red (more than 20) after 2 min.
    hall.open(1)
    for _ in range(25):
        hall.issue("social")
    first = hall.take()
    sender.send(hall.hall_id, first)
    hall.advance(150)
    hall.issue("business")
    second = hall.take()
    sender.send(hall.hall_id, second)
    assert wait_until(lambda: len(inbox.delivered) == 2, TIMEOUT), inbox.delivered

    # The first citizen is served and presses 不满意 on the rating pad; the gateway fails
    # twice before it takes the message.
    server.fault("error500", count=2)
    hall.call(1)
    hall.advance(300)
    served = hall.finish(1)
    hall.queue.record_rating(served, 2, "rating-pad-1")
    rated = hall.take()
    sender.send(hall.hall_id, rated)
    assert wait_until(lambda: len(inbox.delivered) == 3, TIMEOUT), inbox.delivered

    # The hall resends everything (a lost acknowledgement): nobody is told twice.
    sender.send(hall.hall_id, first + second + rated)
    assert wait_until(
        lambda: service.ingestor.duplicates == len(first) + len(second) + len(rated), TIMEOUT
    )
    time.sleep(1.0)  # time enough for a wrong second message to go out

    red = [d for d in inbox.delivered if d.tag == "warning"]
    assert sorted(d.to for d in red) == [OFFICE_LEAD, SOCIAL_LEAD]  # not the business lead
    assert all(d.text.startswith("【红色预警】示范区政务服务中心 社保医保等候人数25人") for d in red)
    assert all("建议增开" in d.text for d in red)
    (sms,) = [d for d in inbox.delivered if d.tag == "bad_rating"]
    assert sms.to == DUTY and sms.channel == "sms"
    assert f"1号窗口 社保医保 {served.ticket_no}号" in sms.text and "“不满意”" in sms.text
    assert len(inbox.delivered) == 3

    audit = service.notifier.audit(hall.hall_id)
    assert sorted((m["subject"], m["name"], m["status"], m["attempts"]) for m in audit) == [
        ("bad_rating", "周经理", "sent", 3),
        ("warning", "李科长", "sent", 1),
        ("warning", "王主任", "sent", 1),
    ]
    assert {m["gateway_id"] for m in audit} == {d.message_id for d in inbox.delivered}
    state = service.dashboard_state()["halls"][0]
    assert [r["state_text"] for r in state["bad_ratings"]] == ["待核实"]
    assert state["notifications"][0]["address"] == "138****0004"


def test_a_retried_message_is_delivered_once_by_its_idempotency_key(gateway):
    server, inbox = gateway
    client = GatewayClient(server.url)
    try:
        first = client.send("warning|hall-demo|x|13800000001", OFFICE_LEAD, "测试", "warning")
        again = client.send("warning|hall-demo|x|13800000001", OFFICE_LEAD, "测试", "warning")
    finally:
        client.close()

    assert first == again and len(inbox.delivered) == 1


def test_a_number_the_gateway_refuses_is_not_retried(gateway):
    from core.errors import NotifyRefused

    server, inbox = gateway
    client = GatewayClient(server.url)
    try:
        with pytest.raises(NotifyRefused) as refused:
            client.send("k", "12345", "测试", "warning")
    finally:
        client.close()
    assert refused.value.code == 511 and refused.value.details["upstream_code"] == "INVALID_RECIPIENT"
    assert server.log == [("POST", "/api/v1/messages", 400)] and inbox.delivered == []


"""The collector service end to end: real Mosquitto, real hall events, retained warnings."""

from __future__ import annotations

import json

import pytest

from collector.service import CollectorService
from core.clock import SimClock
from core.events import encode_batch
from core.topics import warnings_topic
from tests.brokers import Subscriber, wait_until
from tests.hall_events import RecordedHall

TIMEOUT = 60  # generous: the machine is shared


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


class HallSender:
    """Publishes event batches the way a hall agent does (QoS 1, one topic per hall)."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.connect(host, port)
        self._client.loop_start()

    def send(self, hall_id: str, events) -> None:
        info = self._client.publish(f"halledge/v1/{hall_id}/events", encode_batch(events), qos=1)
        info.wait_for_publish(TIMEOUT)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def sender(mosquitto):
    client = HallSender(mosquitto.host, mosquitto.port)
    yield client
    client.close()


def start_service(tmp_path, mosquitto, hall, name="collector.db") -> CollectorService:
    service = CollectorService(
        tmp_path / name, mosquitto.host, mosquitto.port, {hall.hall_id: hall.config}
    )
    service.start()
    assert service.wait_ready(TIMEOUT), mosquitto.log_text()
    return service


def crowd(hall: RecordedHall, people: int) -> None:
    hall.open(1)
    for _ in range(people):
        hall.issue("social")


def folded(service: CollectorService, hall: RecordedHall) -> bool:
    """Wait until the hall's events so far are folded in and evaluated: the warning machines
    sample at each evaluation, so a later batch must not be folded together with this one."""
    return wait_until(lambda: service.state(hall.hall_id)["totals"], TIMEOUT)


def warning_lists(subscriber: Subscriber) -> list[dict]:
    return [json.loads(m.payload) for m in subscriber.received()]


def test_a_crowd_raises_a_retained_red_warning_that_a_late_pad_sees(
    tmp_path, mosquitto, hall, sender
):
    service = start_service(tmp_path, mosquitto, hall)
    try:
        crowd(hall, 25)  # red is more than 20 waiting
        sender.send(hall.hall_id, hall.take())
        assert folded(service, hall)
        hall.advance(150)  # longer than pending_s (120 s) on the hall clock
        hall.issue("business")
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: service.transitions, TIMEOUT)
        assert service.wait_folded(TIMEOUT)  # the list is published after the transition

        late_pad = Subscriber(mosquitto.host, mosquitto.port, warnings_topic(hall.hall_id))
        try:
            assert wait_until(lambda: late_pad.received(), TIMEOUT)
            (message,) = late_pad.received()
        finally:
            late_pad.close()
    finally:
        service.stop()

    assert message.retain
    body = json.loads(message.payload)
    assert body["v"] == 1 and body["hall"] == hall.hall_id
    red = [w for w in body["warnings"] if w["level"] == "red"]
    assert [(w["service"], w["metric"], w["value"]) for w in red] == [
        ("social", "waiting_count", 25)
    ]
    assert red[0]["recommendation"]["action"] == "open"
    assert red[0]["recommendation"]["text"].startswith("建议增开")
    assert [(t.level, t.metric) for t in service.transitions] == [("red", "waiting_count")]


def test_a_resent_batch_raises_nothing_new(tmp_path, mosquitto, hall, sender):
    watcher = Subscriber(mosquitto.host, mosquitto.port, warnings_topic(hall.hall_id))
    service = start_service(tmp_path, mosquitto, hall)
    try:
        crowd(hall, 25)
        first = hall.take()
        hall.advance(150)
        hall.issue("business")
        second = hall.take()
        sender.send(hall.hall_id, first)
        assert folded(service, hall)
        sender.send(hall.hall_id, second)
        assert wait_until(lambda: service.transitions, TIMEOUT)
        assert service.wait_folded(TIMEOUT)  # the list published after the transition too
        published = service.published

        sender.send(hall.hall_id, first + second)  # a lost acknowledgement: all of it again
        assert wait_until(lambda: service.ingestor.duplicates == len(first) + len(second), TIMEOUT)
        assert service.wait_folded(TIMEOUT)
    finally:
        service.stop()
        watcher.close()

    assert len(service.transitions) == 1
    assert service.published == published
    lists = warning_lists(watcher)
    assert [len(b["warnings"]) for b in lists] == [0, 1]  # start-up list, then the red one


def test_a_warning_clears_and_the_retained_list_empties(tmp_path, mosquitto, hall, sender):
    service = start_service(tmp_path, mosquitto, hall)
    watcher = Subscriber(mosquitto.host, mosquitto.port, warnings_topic(hall.hall_id))
    try:
        crowd(hall, 25)
        sender.send(hall.hall_id, hall.take())
        assert folded(service, hall)
        hall.advance(150)
        hall.issue("business")
        sender.send(hall.hall_id, hall.take())
        # Three more windows take the crowd down below yellow, and it stays there.
        hall.open(2, 3)
        for window in (1, 2, 3):
            hall.call(window)
        for _ in range(9):
            hall.advance(60)
            for window in (1, 2, 3):
                if hall.queue.window_view(window).current is not None:
                    hall.finish(window)
                hall.call(window)
            sender.send(hall.hall_id, hall.take())
        for _ in range(4):
            hall.advance(200)
            hall.issue("business")
            sender.send(hall.hall_id, hall.take())
        assert wait_until(
            lambda: (
                [t.level for t in service.transitions if t.metric == "waiting_count"]
                == ["red", "clear"]
            ),
            TIMEOUT,
        ), service.transitions
        assert wait_until(lambda: warning_lists(watcher)[-1]["warnings"] == [], TIMEOUT), (
            service.transitions
        )
        assert service.state(hall.hall_id)["totals"]["waiting_count"] < 10
    finally:
        watcher.close()
        service.stop()


def test_a_restarted_collector_rebuilds_the_warning_from_its_store(
    tmp_path, mosquitto, hall, sender
):
    service = start_service(tmp_path, mosquitto, hall)
    try:
        crowd(hall, 25)
        sender.send(hall.hall_id, hall.take())
        assert folded(service, hall)
        hall.advance(150)
        hall.issue("business")
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: service.transitions, TIMEOUT)
    finally:
        service.stop()

    restarted = start_service(tmp_path, mosquitto, hall)
    try:
        active = restarted.monitor.active(hall.hall_id)
        state = restarted.state(hall.hall_id)
    finally:
        restarted.stop()

    assert [(t.level, t.metric) for t in active] == [("red", "waiting_count")]
    assert state["totals"]["waiting_count"] == 26  # 25 for social security, 1 business
    assert restarted.transitions == []  # rebuilt state, not a second announcement


def test_with_a_live_clock_a_quiet_queue_still_ages_into_a_warning(
    tmp_path, mosquitto, hall, sender
):
    clock = SimClock(hall.now())
    service = CollectorService(
        tmp_path / "collector.db",
        mosquitto.host,
        mosquitto.port,
        {hall.hall_id: hall.config},
        clock=clock,
        eval_interval_s=0.2,
    )
    service.start()
    try:
        assert service.wait_ready(TIMEOUT)
        crowd(hall, 25)
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: service.ingestor.events_ingested == 26, TIMEOUT)
        assert service.wait_folded(TIMEOUT)
        assert service.transitions == []

        clock.advance(150)  # no event comes in; only the clock moves

        assert wait_until(lambda: service.transitions, TIMEOUT)
    finally:
        service.stop()
    (red,) = service.transitions
    assert (red.level, red.metric) == ("red", "waiting_count")
    assert red.at >= hall.now() + 120


def test_with_the_ingest_in_its_own_process_nothing_changes_but_the_core(
    tmp_path, mosquitto, hall, sender
):
    """``ingest_process=True``: the child stores and acknowledges, the service folds what the
    store shows it. The same red warning, every event folded once, the ingest's counters
    (dead letters included) read over the pipe, and a restart folds nothing twice."""
    service = CollectorService(
        tmp_path / "collector.db", mosquitto.host, mosquitto.port,
        {hall.hall_id: hall.config}, ingest_process=True,
    )
    service.start()
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        assert type(service.ingestor).__name__ == "IngestProcess"
        crowd(hall, 25)
        first = hall.take()
        sender.send(hall.hall_id, first)
        sender._client.publish(f"halledge/v1/{hall.hall_id}/events", b"not json",
                               qos=1).wait_for_publish(TIMEOUT)  # fmt: skip
        assert folded(service, hall)
        hall.advance(150)
        hall.issue("business")
        second = hall.take()
        sender.send(hall.hall_id, second)
        assert wait_until(lambda: service.transitions, TIMEOUT)
        assert wait_until(
            lambda: service.ingestor.events_ingested == len(first) + len(second), TIMEOUT)
        assert service.wait_folded(TIMEOUT)
        state = service.dashboard_state()
        assert state["ingest"]["rejected_reasons"] == {"not_json": 1}
        (shown,) = [h for h in state["halls"] if h["hall"] == hall.hall_id]
        assert shown["ingest"]["stored"] == service.ingestor.watermarks(hall.hall_id)
        assert shown["totals"]["waiting_count"] == 26
    finally:
        service.stop()
    assert [(t.level, t.metric) for t in service.transitions] == [("red", "waiting_count")]

    again = CollectorService(
        tmp_path / "collector.db", mosquitto.host, mosquitto.port,
        {hall.hall_id: hall.config}, ingest_process=True,
    )
    again.start()
    try:
        assert again.wait_ready(TIMEOUT)
        hall.issue("business")
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: again.ingestor.events_ingested == 1, TIMEOUT)
        assert again.wait_folded(TIMEOUT)
        # The replay rebuilt the morning; the tail added only the new ticket.
        assert again.state(hall.hall_id)["totals"]["waiting_count"] == 27
        assert again.transitions == []
    finally:
        again.stop()

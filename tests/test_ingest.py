"""The collector stores each event once, refuses malformed batches, and reports missing seqs."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from collector.ingest import Ingestor
from collector.store import EventStore, Gap
from core.events import Event, Kind, encode_batch
from tests.brokers import MosquittoUnderTest, wait_until

HALL = "hall-demo"
TOPIC = f"halledge/v1/{HALL}/events"


def event(device: str, seq: int, hall: str = HALL) -> Event:
    return Event(Kind.WINDOW_OPENED, hall, device, seq, 1795395600.0 + seq,
                 {"window": 1, "staff_id": "s1", "services": ["social"]})


class RawPublisher:
    """A bare paho client that publishes exactly the bytes a test gives it, with QoS 1."""

    def __init__(self, broker: MosquittoUnderTest) -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def collector(tmp_path: Path, mosquitto: MosquittoUnderTest):
    batches: list[list[Event]] = []
    lock = threading.Lock()

    def on_events(new: list[Event]) -> None:
        with lock:
            batches.append(new)

    ing = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port, on_events=on_events)
    ing.start()
    assert ing.wait_subscribed(30)
    raw = RawPublisher(mosquitto)
    try:
        yield ing, raw, batches
    finally:
        raw.close()
        ing.stop()
        ing.store.close()


def test_resent_batch_is_stored_once(collector):
    """A batch sent twice (the agent never saw the PUBACK) is stored once; the hook sees it once."""
    ing, raw, handed_over = collector
    batch = [event("pad-1", 1), event("pad-1", 2), event("kiosk-1", 1)]
    raw.send(TOPIC, encode_batch(batch))
    raw.send(TOPIC, encode_batch(batch))
    assert wait_until(lambda: ing.events_ingested + ing.duplicates >= 6, 30)
    assert ing.events_ingested == 3
    assert ing.duplicates == 3
    assert ing.store.count(HALL) == 3
    assert [[e.event_id for e in b] for b in handed_over] == [[e.event_id for e in batch]]


def test_overlapping_batch_hands_only_new_events_to_the_hook(collector):
    """When a re-sent batch overlaps new events, metrics get only the new ones."""
    ing, raw, handed_over = collector
    a, b, c = event("pad-1", 1), event("pad-1", 2), event("pad-1", 3)
    raw.send(TOPIC, encode_batch([a, b]))
    raw.send(TOPIC, encode_batch([b, c]))
    assert wait_until(lambda: ing.events_ingested + ing.duplicates >= 4, 30)
    # The hook is called once per committed group, however the messages fell into groups.
    handed = [e.event_id for x in handed_over for e in x]
    assert handed == [a.event_id, b.event_id, c.event_id]
    assert [e.seq for e in ing.store.all_events(HALL)] == [1, 2, 3]


def _malformed() -> list[tuple[str, str, bytes]]:
    good = event("pad-1", 1).to_dict()
    missing = {k: v for k, v in good.items() if k != "seq"}
    return [
        ("not_json", TOPIC, b"\xff\xfe not json"),
        ("version", TOPIC, json.dumps({"v": 2, "events": [good]}).encode()),
        ("missing_field", TOPIC, json.dumps({"v": 1, "events": [missing]}).encode()),
        ("wrong_type", TOPIC, json.dumps({"v": 1, "events": [good | {"seq": "1"}]}).encode()),
        ("non_finite", TOPIC, json.dumps({"v": 1, "events": [good | {"at": math.nan}]}).encode()),
        ("too_deep", TOPIC, b"[" * 200_000 + b"]" * 200_000),
        ("empty", TOPIC, json.dumps({"v": 1, "events": []}).encode()),
        ("wrong_hall", "halledge/v1/other-hall/events", encode_batch([event("pad-1", 1)])),
    ]


def test_malformed_messages_are_rejected_and_ingestion_goes_on(collector, caplog):
    """Each kind of malformed message (or malformed event) is refused with its reason and
    code 501 and kept as a dead letter; the valid batch after them is stored."""
    ing, raw, handed_over = collector
    cases = _malformed()
    with caplog.at_level(logging.WARNING, logger="collector.ingest"):
        for _, topic, payload in cases:
            raw.send(topic, payload)
        valid = event("kiosk-2", 1)
        raw.send(TOPIC, encode_batch([valid]))
        assert wait_until(lambda: ing.events_ingested == 1, 30)
    assert ing.rejected == len(cases)
    assert ing.seq_conflicts == 0  # a NaN time is refused for what it is, not as a conflict
    assert dict(ing.rejected_reasons) == {reason: 1 for reason, _, _ in cases}
    assert [e.event_id for e in ing.store.all_events(HALL)] == [valid.event_id]
    assert ing.store.count() == 1
    kept = ing.store.dead_letter_counts()
    assert sum(sum(reasons.values()) for reasons in kept.values()) == len(cases)
    logged = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(logged) == len(cases)
    assert all("code=501" in m for m in logged)


def test_gaps_report_missing_seq_runs_per_device(tmp_path: Path):
    """Seqs 1,2,5,6,9 of a device leave gaps 3–4 and 7–8; filling a gap moves the
    contiguous mark."""
    store = EventStore(tmp_path / "c.db")
    try:
        store.add([event("pad-1", s) for s in (1, 2, 5, 6, 9)] + [event("pad-2", 3)])
        assert store.gaps() == [
            Gap(HALL, "pad-1", 3, 4),
            Gap(HALL, "pad-1", 7, 8),
            Gap(HALL, "pad-2", 1, 2),
        ]
        assert store.contiguous_seq(HALL, "pad-1") == 2
        assert store.contiguous_seq(HALL, "pad-2") == 0
        store.add([event("pad-1", 3), event("pad-1", 4)])
        assert store.contiguous_seq(HALL, "pad-1") == 6
        assert store.gaps()[0] == Gap(HALL, "pad-1", 7, 8)
    finally:
        store.close()


def test_same_device_name_in_two_halls_is_two_devices(tmp_path: Path):
    """Device ids repeat across halls; gaps and order are kept per (hall, device)."""
    store = EventStore(tmp_path / "c.db")
    try:
        store.add([event("pad-1", 1), event("pad-1", 2, hall="hall-b")])
        assert store.gaps() == [Gap("hall-b", "pad-1", 1, 1)]
        assert store.count(HALL) == 1 and store.count("hall-b") == 1
    finally:
        store.close()


def test_add_returns_only_new_events_even_within_one_batch(tmp_path: Path):
    """A batch that repeats an event stores and returns it once."""
    store = EventStore(tmp_path / "c.db")
    try:
        e = event("pad-1", 1)
        assert store.add([e, e]) == [e]
        assert store.add([e]) == []
        assert store.count() == 1
    finally:
        store.close()


def test_event_ids_are_random_version_4_uuids():
    import uuid

    from core.events import new_event_id

    ids = [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    for event_id in ids:
        parsed = uuid.UUID(hex=event_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert parsed.hex == event_id


def test_acknowledgements_of_a_group_reach_the_broker(tmp_path: Path, mosquitto):
    """A burst is stored in groups and each group's PUBACKs go out in one write: the broker
    takes every one of them, so a collector started again on the same session gets nothing
    delivered a second time."""
    path = tmp_path / "collector.db"
    first = Ingestor(path, mosquitto.host, mosquitto.port, client_id="acks-collector")
    first.start()
    assert first.wait_subscribed(30)
    first.stop()  # the session stays: the broker queues what comes meanwhile
    raw = RawPublisher(mosquitto)
    try:
        for seq in range(1, 61):
            raw.send(TOPIC, encode_batch([event("pad-1", seq)]))
    finally:
        raw.close()

    second = Ingestor(first.store, mosquitto.host, mosquitto.port, client_id="acks-collector")
    groups: list[int] = []
    acked = second._ack

    def ack(messages: list) -> None:
        groups.append(len(messages))
        acked(messages)

    second._ack = ack  # type: ignore[method-assign]
    second.start()
    assert wait_until(lambda: second.events_ingested == 60, 30), second.counters()
    second.stop()
    assert max(groups) > 1  # the queued burst came in groups, acknowledged together

    third = Ingestor(first.store, mosquitto.host, mosquitto.port, client_id="acks-collector")
    third.start()
    try:
        assert third.wait_subscribed(30)
        assert not wait_until(lambda: third.duplicates > 0, 2.0), third.counters()
    finally:
        third.stop()
        first.store.close()


def test_a_message_whose_commit_failed_is_stored_once_the_database_works_again(
    tmp_path: Path, mosquitto
):
    """A failed commit leaves its message unacknowledged and uncounted, and the broker
    delivers again only on a new connection: the ingest connects again, and the message is
    stored (and counted once) without a restart of the collector."""
    ing = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                   client_id="redeliver-collector")
    real, failures = ing.store.transaction, [sqlite3.OperationalError("disk I/O error")]

    @contextmanager
    def failing_once():
        with real():
            yield
            if failures:
                raise failures.pop()

    ing.store.transaction = failing_once  # type: ignore[method-assign]
    ing.start()
    raw = RawPublisher(mosquitto)
    try:
        assert ing.wait_subscribed(30)
        raw.send(TOPIC, encode_batch([event("pad-1", 1)]))
        assert wait_until(lambda: ing.store.count(HALL) == 1, 30), ing.counters()
        assert (ing.store_failures, ing.events_ingested, ing.duplicates) == (1, 1, 0)
    finally:
        raw.close()
        ing.stop()
        ing.store.close()

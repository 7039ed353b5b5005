"""Must show: an event leaves the hall journal only when the collector says it stored it.

A broker's PUBACK only says the broker took a batch. With no collector session yet, or a
broker restarted without its store, a batch the broker acknowledged is gone for good; so the
publisher deletes rows only by the collector's stored-watermark (``halledge/v1/<hall>/stored``,
``core/stored_acks.py``), and sends again what no watermark covers after a while. Real
Mosquitto, real collector ingest.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.publisher import Publisher
from collector.ingest import Ingestor
from core.events import Event
from core.stored_acks import StoredWatermarks
from core.topics import events_topic, stored_topic
from hallstore import journal
from tests.brokers import MosquittoUnderTest, Subscriber, wait_until
from tests.conftest import HallDb
from tests.test_broker_outage import busy_minutes, produced, record_produced_events


def hall_backlog(hall_db: HallDb, at_least: int) -> int:
    """Open every window and run the hall until ``at_least`` events are journaled (kiosks
    and PADs: several devices). Returns the number journaled."""
    for w in hall_db.hall.windows:
        hall_db.queue.open_window(w.no, f"pad-{w.no}", f"staff-{w.no}")
    counter = itertools.count()
    while journal.backlog(hall_db.conn) < at_least:
        busy_minutes(hall_db, 1, counter)
    return journal.backlog(hall_db.conn)


def publisher_for(hall_db: HallDb, broker: MosquittoUnderTest, **kw) -> Publisher:
    """A publisher that re-sends after 1 s (at most 2 s apart) instead of 20 s (300 s)."""
    kw = {"resend_after": 1.0, "resend_max": 2.0, "backoff_max": 0.5} | kw
    return Publisher(
        hall_db.path, hall_db.hall.hall_id, broker.host, broker.port, "agent-e2e", **kw
    )


def restart_without_persistence(broker: MosquittoUnderTest) -> None:
    """Stop the broker and start it again with an empty store: no sessions, no queued
    messages, no retained messages (a broker run without persistence, or its disk lost)."""
    broker.stop()
    for saved in broker.data_dir.glob("mosquitto.db*"):
        saved.unlink()
    broker.start()


def publish_retained(broker: MosquittoUnderTest, topic: str, payload: bytes) -> None:
    """Publish one retained QoS 1 message and wait for the broker's PUBACK."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def sent_events(sub: Subscriber) -> list[dict]:
    return [e for m in sub.received() for e in json.loads(m.payload)["events"]]


def outbox_rows(hall_db: HallDb) -> list[tuple[str, int]]:
    return [
        tuple(r)
        for r in hall_db.conn.execute("SELECT device_id, seq FROM outbox ORDER BY rowid_")
    ]


@pytest.fixture
def collectors(tmp_path: Path) -> Iterator[list[Ingestor]]:
    """Ingestors a test starts; each is stopped and its stores closed afterwards."""
    started: list[Ingestor] = []
    yield started
    for ingestor in started:
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()


def start_collector(
    started: list[Ingestor], tmp_path: Path, broker: MosquittoUnderTest
) -> Ingestor:
    ingestor = Ingestor(tmp_path / "collector.db", broker.host, broker.port)
    ingestor.start()
    started.append(ingestor)
    assert ingestor.wait_subscribed(30)
    return ingestor


def assert_exactly_once(hall_db: HallDb, ingestor: Ingestor) -> None:
    """The collector holds every journaled event once, each device's seqs 1..n, no gap."""
    expected = produced(hall_db)
    stored = ingestor.store.all_events(hall_db.hall.hall_id)
    ids = [e.event_id for e in stored]
    assert len(ids) == len(set(ids)) == len(expected), "an event was stored twice or lost"
    assert set(ids) == expected
    per_device: dict[str, list[int]] = {}
    for e in stored:
        per_device.setdefault(e.device_id, []).append(e.seq)
    last_seq = dict(hall_db.conn.execute("SELECT device_id, last_seq FROM device_seq"))
    assert set(per_device) == set(last_seq)
    for device, seqs in per_device.items():
        assert sorted(seqs) == list(range(1, last_seq[device] + 1)), device
    assert ingestor.store.gaps() == []
    assert ingestor.counters()["seq_conflicts"] == 0


def test_backlog_acked_by_a_broker_with_no_collector_survives_its_restart_without_store(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path, collectors: list[Ingestor]
):
    """The issue's case: the agent drains a backlog to a fresh broker before any collector has
    ever connected. The broker acknowledges every batch, but nothing is deleted. The broker
    then restarts with an empty store; the collector starts for the first time; it ends with
    every event exactly once and the hall journal ends empty."""
    record_produced_events(hall_db)
    made = hall_backlog(hall_db, 421)
    publisher = publisher_for(hall_db, mosquitto)
    publisher.start()
    try:
        assert wait_until(lambda: publisher.events_published >= made, 30)
        time.sleep(0.5)
        assert journal.backlog(hall_db.conn) == made
        assert publisher.events_stored == 0

        restart_without_persistence(mosquitto)
        assert wait_until(lambda: publisher.reconnects >= 1, 30)
        # Sent again on the new connection, still to nobody.
        assert wait_until(lambda: publisher.events_published >= 2 * made, 30)
        assert journal.backlog(hall_db.conn) == made

        ingestor = start_collector(collectors, tmp_path, mosquitto)
        assert publisher.wait_drained(60), (publisher.counters(), ingestor.counters())
        assert publisher.resends >= 1
    finally:
        publisher.stop()
    assert journal.backlog(hall_db.conn) == 0
    assert publisher.events_stored == made
    assert_exactly_once(hall_db, ingestor)


def test_a_puback_alone_deletes_nothing(hall_db: HallDb, mosquitto: MosquittoUnderTest):
    """No collector at all: the broker acknowledges and even delivers every batch (to a plain
    subscriber), and the journal keeps every row."""
    made = hall_backlog(hall_db, 120)
    sub = Subscriber(mosquitto.host, mosquitto.port, events_topic(hall_db.hall.hall_id))
    publisher = publisher_for(hall_db, mosquitto, resend_after=60.0, resend_max=60.0)
    publisher.start()
    try:
        assert wait_until(lambda: publisher.events_published >= made, 30)
        assert wait_until(lambda: len(sent_events(sub)) >= made, 30)
        assert not publisher.wait_drained(1.0)
        assert journal.backlog(hall_db.conn) == made
        assert publisher.counters()["events_unstored"] == made
    finally:
        publisher.stop()
        sub.close()
    assert publisher.events_stored == 0
    assert journal.backlog(hall_db.conn) == made


def test_at_most_max_unstored_rows_are_out_and_they_are_sent_again(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path, collectors: list[Ingestor]
):
    """With no watermark coming, publishing pauses at ``max_unstored`` rows out; the same rows
    go out again after ``resend_after``; once a collector runs, everything drains."""
    record_produced_events(hall_db)
    made = hall_backlog(hall_db, 200)
    publisher = publisher_for(hall_db, mosquitto, batch_size=10, max_unstored=50)
    publisher.start()
    try:
        assert wait_until(lambda: publisher.events_published >= 50, 30)
        time.sleep(0.5)
        assert publisher.events_published == 50  # paused at the cap
        assert wait_until(lambda: publisher.resends >= 1, 30)
        assert wait_until(lambda: publisher.events_published >= 100, 30)
        assert journal.backlog(hall_db.conn) == made

        ingestor = start_collector(collectors, tmp_path, mosquitto)
        assert publisher.wait_drained(60), (publisher.counters(), ingestor.counters())
    finally:
        publisher.stop()
    assert journal.backlog(hall_db.conn) == 0
    assert_exactly_once(hall_db, ingestor)


def test_a_watermark_of_another_hall_or_malformed_deletes_nothing(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, caplog: pytest.LogCaptureFixture
):
    """Watermarks that name another hall, are not JSON or have another version are ignored
    (logged once per reason with code 501); a well-formed one deletes exactly what it
    covers."""
    hall = hall_db.hall.hall_id
    made = hall_backlog(hall_db, 60)
    everything = {d: 10**6 for d, _ in outbox_rows(hall_db)}
    bad = [
        StoredWatermarks("hall-other", everything).encode(),
        b"not json",
        json.dumps({"v": 2, "hall_id": hall, "stored": everything}).encode(),
        json.dumps({"v": 1, "hall_id": hall, "stored": {"kiosk-1": "all"}}).encode(),
    ]
    publisher = publisher_for(hall_db, mosquitto, resend_after=60.0, resend_max=60.0)
    caplog.set_level(logging.DEBUG, logger="agent.publisher")
    publisher.start()
    try:
        assert wait_until(lambda: publisher.events_published >= made, 30)
        # Another hall's real watermark on its own topic never reaches this box at all.
        publish_retained(mosquitto, stored_topic("hall-other"), bad[0])
        for payload in [*bad, bad[1]]:
            publish_retained(mosquitto, stored_topic(hall), payload)
        assert wait_until(lambda: publisher.watermarks_ignored == 5, 30)
        time.sleep(0.3)
        assert journal.backlog(hall_db.conn) == made
        assert publisher.events_stored == 0

        # A good one deletes kiosk-1's rows up to seq 3 and nothing else.
        rows = outbox_rows(hall_db)
        publish_retained(
            mosquitto, stored_topic(hall), StoredWatermarks(hall, {"kiosk-1": 3}).encode()
        )
        assert wait_until(lambda: publisher.events_stored == 3, 30)
    finally:
        publisher.stop()
    assert outbox_rows(hall_db) == [r for r in rows if not (r[0] == "kiosk-1" and r[1] <= 3)]
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # Once per reason: the second "not json" is logged at DEBUG only.
    assert len(warned) == 4, [r.getMessage() for r in warned]
    assert all("code=501" in r.getMessage() for r in warned)
    reasons = {r.getMessage().split("(")[1].split(")")[0] for r in warned}
    assert reasons == {"wrong_hall", "not_json", "version", "field"}


def test_a_retained_watermark_deletes_stored_rows_before_anything_is_sent(
    hall_db: HallDb, mosquitto: MosquittoUnderTest
):
    """An agent that died after the collector stored its events but before it deleted them:
    on the next connection the retained watermark arrives first, the rows it covers are
    deleted, and only the rest go out."""
    hall = hall_db.hall.hall_id
    made = hall_backlog(hall_db, 80)
    rows = outbox_rows(hall_db)
    covered = {d: max(s for dd, s in rows[:40] if dd == d) for d, _ in rows[:40]}
    left = [r for r in rows if r[1] > covered.get(r[0], 0)]
    publish_retained(mosquitto, stored_topic(hall), StoredWatermarks(hall, covered).encode())
    sub = Subscriber(mosquitto.host, mosquitto.port, events_topic(hall))
    publisher = publisher_for(hall_db, mosquitto, resend_after=60.0, resend_max=60.0)
    publisher.start()
    try:
        assert wait_until(lambda: publisher.events_published >= len(left), 30)
        assert wait_until(lambda: journal.backlog(hall_db.conn) == len(left), 30)
    finally:
        publisher.stop()
        sub.close()
    assert publisher.events_stored == made - len(left)
    assert publisher.events_published == len(left)
    sent = [(e["device_id"], e["seq"]) for e in sent_events(sub)]
    assert sorted(sent) == sorted(left)


def test_a_journal_whose_oldest_events_are_gone_still_drains(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path, collectors: list[Ingestor]
):
    """Floors: the oldest events were deleted long ago (by an older agent that trusted the
    PUBACK), so each device's journal starts above seq 1. The batches say so, the collector's
    watermark passes the missing seqs, and the journal drains."""
    hall = hall_db.hall.hall_id
    hall_backlog(hall_db, 150)
    gone = hall_db.conn.execute(
        "SELECT rowid_ FROM outbox ORDER BY rowid_ LIMIT 60"
    ).fetchall()
    journal.delete_stored(hall_db.conn, [row for (row,) in gone])
    kept: list[Event] = [p.event for p in journal.pending(hall_db.conn, 10_000)]
    lowest = {}
    for e in kept:
        lowest.setdefault(e.device_id, e.seq)
    assert any(seq > 1 for seq in lowest.values())
    highest = {e.device_id: e.seq for e in kept}
    marks = Subscriber(mosquitto.host, mosquitto.port, stored_topic(hall))
    ingestor = start_collector(collectors, tmp_path, mosquitto)
    publisher = publisher_for(hall_db, mosquitto, resend_after=60.0, resend_max=60.0)
    publisher.start()
    try:
        assert publisher.wait_drained(60), (publisher.counters(), ingestor.counters())
        assert publisher.resends == 0
        last = lambda: StoredWatermarks.decode(marks.received()[-1].payload).stored  # noqa: E731
        assert wait_until(lambda: marks.received() and last() == highest, 30)
    finally:
        publisher.stop()
        marks.close()
    assert journal.backlog(hall_db.conn) == 0
    stored = ingestor.store.all_events(hall)
    assert sorted(e.event_id for e in stored) == sorted(e.event_id for e in kept)


def test_a_hall_database_older_than_the_collectors_record_is_reported(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, caplog: pytest.LogCaptureFixture
):
    """The collector has stored seqs this hall database never allocated (a database restored
    from an older copy reuses them): the covered rows are deleted as any covered row, and the
    publisher says why at ERROR, once."""
    hall = hall_db.hall.hall_id
    made = hall_backlog(hall_db, 30)
    allocated = dict(hall_db.conn.execute("SELECT device_id, last_seq FROM device_seq"))
    ahead = {"kiosk-1": allocated["kiosk-1"] + 500}
    publish_retained(mosquitto, stored_topic(hall), StoredWatermarks(hall, ahead).encode())
    publisher = publisher_for(hall_db, mosquitto, resend_after=60.0, resend_max=60.0)
    caplog.set_level(logging.WARNING, logger="agent.publisher")
    publisher.start()
    try:
        kiosk_rows = sum(1 for d, _ in outbox_rows(hall_db) if d == "kiosk-1")
        assert wait_until(lambda: publisher.events_stored == kiosk_rows, 30)
        assert wait_until(lambda: publisher.events_published == made - kiosk_rows, 30)
    finally:
        publisher.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "never allocated" in errors[0], errors
    assert f"kiosk-1: {ahead['kiosk-1']} > {allocated['kiosk-1']}" in errors[0]

"""The publisher drains the hall journal through a real Mosquitto to the real collector ingest,
deleting rows only when the collector's stored-watermark covers them
(``tests/test_end_to_end_ack.py`` has what happens without a collector)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.publisher import Publisher
from collector.ingest import Ingestor
from core.topics import events_topic
from hallstore import journal
from tests.brokers import MosquittoUnderTest, Subscriber, wait_until
from tests.conftest import HallDb


@pytest.fixture
def collector(tmp_path: Path, mosquitto: MosquittoUnderTest) -> Iterator[Ingestor]:
    """The collector's ingest, subscribed: it stores the batches and publishes the
    watermarks that let the journal drain."""
    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    ingestor.start()
    try:
        assert ingestor.wait_subscribed(30)
        yield ingestor
    finally:
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()


def make_activity(hall_db: HallDb, tickets: int) -> int:
    """Open window 1, then issue, call and finish ``tickets`` tickets. Returns events made."""
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    for _ in range(tickets):
        q.issue("social", "kiosk-1")
        hall_db.clock.advance(30)
        q.call_next(1, "pad-1")
        hall_db.clock.advance(120)
        q.finish(1, "pad-1")
    return 1 + 3 * tickets


def received_events(sub: Subscriber) -> list[dict]:
    return [e for m in sub.received() for e in json.loads(m.payload)["events"]]


def publisher_for(hall_db: HallDb, broker: MosquittoUnderTest, **kw) -> Publisher:
    return Publisher(
        hall_db.path, hall_db.hall.hall_id, broker.host, broker.port, "test-agent",
        backoff_max=1.0, **kw,
    )


def test_journal_drains_to_broker_in_journal_order(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, collector: Ingestor
):
    """Every journaled event reaches a subscriber once, per device in seq order, and the
    journal empties once the collector stored them."""
    made = make_activity(hall_db, tickets=20)
    sub = Subscriber(mosquitto.host, mosquitto.port, events_topic(hall_db.hall.hall_id))
    pub = publisher_for(hall_db, mosquitto)
    pub.start()
    try:
        assert pub.wait_drained(60), mosquitto.log_text()
        assert journal.backlog(hall_db.conn) == 0
        assert pub.events_published == pub.events_stored == made
        assert wait_until(lambda: len(received_events(sub)) >= made, 30)
    finally:
        pub.stop()
        sub.close()
    assert collector.store.count() == made
    events = received_events(sub)
    assert len({e["event_id"] for e in events}) == len(events) == made
    for device in {e["device_id"] for e in events}:
        seqs = [e["seq"] for e in events if e["device_id"] == device]
        assert seqs == list(range(1, len(seqs) + 1))


def test_batches_carry_up_to_batch_size_events(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, collector: Ingestor
):
    """N journaled events go out in ceil(N / batch_size) messages, none larger than the batch."""
    made = make_activity(hall_db, tickets=40)
    sub = Subscriber(mosquitto.host, mosquitto.port, events_topic(hall_db.hall.hall_id))
    pub = publisher_for(hall_db, mosquitto, batch_size=25)
    pub.start()
    try:
        assert pub.wait_drained(60)
        assert wait_until(lambda: len(received_events(sub)) >= made, 30)
    finally:
        pub.stop()
        sub.close()
    sizes = [len(json.loads(m.payload)["events"]) for m in sub.received()]
    assert max(sizes) == 25
    assert len(sizes) == pub.messages_sent == math.ceil(made / 25)


def test_rows_stay_until_acknowledged_and_are_resent_after_a_crash(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, collector: Ingestor
):
    """A frozen broker gets at most max_inflight batches and acknowledges none: every row stays
    in the journal. After the broker crashes and comes back, the journal drains completely."""
    # The crash may take the collector's session with it (Mosquitto saves every 5 s); the
    # batches sent before the collector is back are then re-sent after 2 s.
    pub = publisher_for(hall_db, mosquitto, batch_size=5, max_inflight=3, resend_after=2.0)
    pub.start()
    try:
        assert wait_until(lambda: pub.connected, 30)
        mosquitto.freeze()
        made = make_activity(hall_db, tickets=15)
        assert wait_until(lambda: pub.messages_sent >= 3, 30)
        # The window is full; give the publisher time to (wrongly) send more or delete rows.
        time.sleep(1.0)
        assert pub.messages_sent == 3
        assert pub.events_published == 0
        assert journal.backlog(hall_db.conn) == made

        mosquitto.kill()
        assert wait_until(lambda: not pub.connected, 60)
        assert journal.backlog(hall_db.conn) == made

        mosquitto.start()
        assert pub.wait_drained(60), mosquitto.log_text()
    finally:
        pub.stop()
    assert journal.backlog(hall_db.conn) == 0
    assert pub.events_stored == made
    assert pub.reconnects == 1
    # The three unacknowledged batches went out again: the new connection started over from
    # the oldest row in the journal.
    if pub.resends == 0:
        assert pub.events_published == made
        assert pub.messages_sent == 3 + math.ceil(made / 5)
    else:
        assert pub.messages_sent > 3 + math.ceil(made / 5)


def test_stop_keeps_unsent_rows_for_the_next_start(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, collector: Ingestor
):
    """Events journaled while no publisher runs are sent by the next one (the agent restarted)."""
    first = publisher_for(hall_db, mosquitto)
    first.start()
    assert wait_until(lambda: first.connected, 30)
    first.stop()
    made = make_activity(hall_db, tickets=3)
    assert journal.backlog(hall_db.conn) == made
    second = publisher_for(hall_db, mosquitto)
    second.start()
    try:
        assert second.wait_drained(60)
    finally:
        second.stop()
    assert second.events_published == second.events_stored == made
    assert journal.backlog(hall_db.conn) == 0


def test_events_journaled_after_a_full_drain_are_sent_too(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, collector: Ingestor
):
    """Once the outbox is drained empty, new rows get low row ids again (no AUTOINCREMENT);
    the same connection must still send them, however far its cursor had got."""
    sub = Subscriber(mosquitto.host, mosquitto.port, events_topic(hall_db.hall.hall_id))
    pub = publisher_for(hall_db, mosquitto, batch_size=10)
    pub.start()
    try:
        first = make_activity(hall_db, tickets=30)
        assert pub.wait_drained(60)
        assert journal.backlog(hall_db.conn) == 0
        hall_db.queue.issue("social", "kiosk-1")
        hall_db.queue.issue("social", "kiosk-2")
        rows = [p.row for p in journal.pending(hall_db.conn, 10)]
        assert rows and max(rows) < first  # the ids really restarted below the cursor
        assert pub.wait_drained(60)
        assert wait_until(lambda: len(received_events(sub)) >= first + 2, 30)
        reconnects = pub.reconnects
    finally:
        pub.stop()
        sub.close()
    assert reconnects == 0
    assert len({e["event_id"] for e in received_events(sub)}) == first + 2

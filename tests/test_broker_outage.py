"""Must show: a broker outage in the middle of a busy morning loses nothing and duplicates nothing.

The hall keeps issuing, calling and finishing tickets while the broker is down; the journal
holds the events; when the broker is back, the collector ends with exactly the events the
hall produced: the same event ids, each once, every device's seqs contiguous from 1.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from agent.publisher import Publisher
from collector.ingest import Ingestor
from hallstore import journal
from tests.brokers import MosquittoUnderTest, wait_until
from tests.conftest import HallDb

SERVICES = ("social", "household", "business")


def record_produced_events(hall_db: HallDb) -> None:
    """Copy every journaled event id into a side table, as ground truth independent of the
    outbox (whose rows the publisher deletes)."""
    hall_db.conn.executescript(
        """
        CREATE TEMP TABLE produced (event_id TEXT PRIMARY KEY, device_id TEXT, seq INTEGER);
        CREATE TEMP TRIGGER produced_copy AFTER INSERT ON main.outbox BEGIN
            INSERT INTO produced VALUES (new.event_id, new.device_id, new.seq);
        END;
        """
    )


def produced(hall_db: HallDb) -> set[str]:
    return {r[0] for r in hall_db.conn.execute("SELECT event_id FROM temp.produced")}


def busy_minutes(hall_db: HallDb, minutes: int, counter: itertools.count) -> None:
    """A hall minute: two citizens take tickets at two kiosks, every window calls or finishes."""
    q = hall_db.queue
    for _ in range(minutes):
        n = next(counter)
        q.issue(SERVICES[n % 3], f"kiosk-{n % 2 + 1}")
        q.issue(SERVICES[(n + 1) % 3], f"kiosk-{(n + 1) % 2 + 1}")
        for w in hall_db.hall.windows:
            pad = f"pad-{w.no}"
            if q.window_view(w.no).current is not None:
                q.finish(w.no, pad)
            else:
                q.call_next(w.no, pad)
        hall_db.clock.advance(60)


def test_outage_mid_morning_loses_and_duplicates_nothing(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path
):
    record_produced_events(hall_db)
    for w in hall_db.hall.windows:
        hall_db.queue.open_window(w.no, f"pad-{w.no}", f"staff-{w.no}")

    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    ingestor.start()
    publisher = Publisher(
        hall_db.path, hall_db.hall.hall_id, mosquitto.host, mosquitto.port, "hall-demo-agent",
        batch_size=10, max_inflight=5, backoff_max=1.0,
    )
    counter = itertools.count()
    try:
        assert ingestor.wait_subscribed(30)
        publisher.start()

        # Morning starts: events flow.
        busy_minutes(hall_db, 20, counter)
        assert wait_until(lambda: ingestor.events_ingested > 0, 30)

        # The broker goes away while the hall keeps working.
        mosquitto.stop()
        assert wait_until(lambda: not publisher.connected, 30)
        busy_minutes(hall_db, 30, counter)
        assert wait_until(lambda: publisher.connect_failures > 0, 30)
        held = journal.backlog(hall_db.conn)
        assert held > 0, "events made during the outage must wait in the journal"

        # It comes back on the same port; more work happens while the backlog drains.
        mosquitto.start()
        busy_minutes(hall_db, 20, counter)

        assert publisher.wait_drained(120), mosquitto.log_text()
        expected = produced(hall_db)
        assert wait_until(lambda: ingestor.store.count() >= len(expected), 60), (
            ingestor.counters(), len(expected)
        )
    finally:
        publisher.stop()
        ingestor.stop()

    stored = ingestor.store.all_events(hall_db.hall.hall_id)
    ids = [e.event_id for e in stored]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert set(ids) == expected
    assert journal.backlog(hall_db.conn) == 0
    assert ingestor.store.gaps() == []
    per_device: dict[str, list[int]] = {}
    for e in stored:
        per_device.setdefault(e.device_id, []).append(e.seq)
    last_seq = dict(hall_db.conn.execute("SELECT device_id, last_seq FROM device_seq"))
    assert set(per_device) == set(last_seq)
    for device, seqs in per_device.items():
        assert seqs == list(range(1, last_seq[device] + 1)), device
    assert publisher.reconnects >= 1
    assert ingestor.rejected == 0
    ingestor.store.close()

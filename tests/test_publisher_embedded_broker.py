"""The embedded broker: mosquitto when installed, amqtt in-process otherwise. Both must carry
the publisher's QoS 1 batches to a subscriber and to the collector, and the collector's
retained stored-watermarks back to the publisher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.broker import start_embedded_broker
from agent.publisher import Publisher
from collector.ingest import Ingestor
from core.topics import events_topic
from hallstore import journal
from tests.brokers import Subscriber, wait_until
from tests.conftest import HallDb


def _issue_tickets(hall_db: HallDb, n: int) -> int:
    for _ in range(n):
        hall_db.queue.issue("household", "kiosk-1")
        hall_db.clock.advance(45)
    return n


@pytest.mark.parametrize("prefer", ["mosquitto", "amqtt"])
def test_embedded_broker_delivers_and_acknowledges(hall_db: HallDb, prefer: str, tmp_path: Path):
    """Events journaled in the hall reach a paho subscriber and the collector through the
    embedded broker, and the collector's watermarks empty the journal."""
    broker = start_embedded_broker(prefer=prefer)
    ingestor = Ingestor(tmp_path / "collector.db", broker.host, broker.port)
    try:
        assert broker.kind == prefer
        ingestor.start()
        assert ingestor.wait_subscribed(30)
        made = _issue_tickets(hall_db, 30)
        sub = Subscriber(broker.host, broker.port, events_topic(hall_db.hall.hall_id))
        pub = Publisher(hall_db.path, hall_db.hall.hall_id, broker.host, broker.port, "agent",
                        batch_size=7)
        pub.start()
        try:
            assert pub.wait_drained(60)
            got = lambda: [e for m in sub.received() for e in json.loads(m.payload)["events"]]
            assert wait_until(lambda: len(got()) >= made, 30)
        finally:
            pub.stop()
            sub.close()
        assert all(m.qos == 1 for m in sub.received())
        assert sorted(e["seq"] for e in got()) == list(range(1, made + 1))
        assert journal.backlog(hall_db.conn) == 0
        assert pub.events_published == pub.events_stored == made
        assert ingestor.store.count() == made
    finally:
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()
        broker.close()


def test_embedded_broker_stops_and_frees_its_port():
    """After stop(), nothing listens on the broker's port any more."""
    from agent.broker import wait_listening

    for prefer in ("mosquitto", "amqtt"):
        broker = start_embedded_broker(prefer=prefer)
        assert wait_listening(broker.host, broker.port, 10)
        broker.close()
        assert not wait_listening(broker.host, broker.port, 0.5)

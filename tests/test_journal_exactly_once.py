"""The collector keeps each event once by event id and by (hall, device, seq), and says when
a device's seqs have a hole: a log line with the missing range and a ``gaps`` entry."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from collector.ingest import Ingestor
from core.events import Event, Kind, encode_batch

HALL = "hall-demo"
TOPIC = f"halledge/v1/{HALL}/events"


def event(device: str, seq: int) -> Event:
    return Event(
        Kind.WINDOW_OPENED,
        HALL,
        device,
        seq,
        1795395600.0 + seq,
        {"window": 1, "staff_id": "s1", "services": ["social"]},
    )


def send(ingestor: Ingestor, events: list[Event]) -> None:
    assert ingestor.ingest(TOPIC, encode_batch(events))


@pytest.fixture
def ingestor(tmp_path: Path) -> Ingestor:
    # Never started: ingest() is the same path the MQTT callback takes.
    ing = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    yield ing
    ing.store.close()


def gap(device: str, first: int, last: int) -> dict:
    return {"hall_id": HALL, "device_id": device, "first": first, "last": last}


def test_a_seq_jump_is_logged_and_listed_until_filled(ingestor: Ingestor, caplog):
    caplog.set_level(logging.INFO, logger="collector.ingest")
    send(ingestor, [event("pad-1", 1), event("pad-1", 2), event("pad-1", 6)])
    assert ingestor.counters()["gaps"] == [gap("pad-1", 3, 5)]
    assert "gap: hall hall-demo device pad-1 missing seq 3-5" in caplog.text

    send(ingestor, [event("pad-1", 4)])
    assert ingestor.counters()["gaps"] == [gap("pad-1", 3, 3), gap("pad-1", 5, 5)]
    assert "gap closed" not in caplog.text

    send(ingestor, [event("pad-1", 3), event("pad-1", 5)])
    counters = ingestor.counters()
    assert counters["gaps"] == [] and counters["gaps_opened"] == 1
    assert "gap closed: hall hall-demo device pad-1 seq 3-5 arrived" in caplog.text
    assert ingestor.store.gaps() == []


def test_a_device_first_seen_past_seq_1_has_a_gap_from_1(ingestor: Ingestor):
    send(ingestor, [event("kiosk-2", 4)])
    assert ingestor.counters()["gaps"] == [gap("kiosk-2", 1, 3)]


def test_a_restarted_collector_still_reports_old_gaps(ingestor: Ingestor, tmp_path: Path):
    send(ingestor, [event("pad-1", 1), event("pad-1", 4)])
    again = Ingestor(ingestor.store, "127.0.0.1", 1)
    assert again.counters()["gaps"] == [gap("pad-1", 2, 3)]
    send(again, [event("pad-1", 5)])
    assert again.counters()["gaps"] == [gap("pad-1", 2, 3)]
    assert again.counters()["gaps_opened"] == 0


def test_resent_events_count_as_duplicates(ingestor: Ingestor):
    batch = [event("pad-1", 1), event("pad-1", 2)]
    send(ingestor, batch)
    send(ingestor, batch + [event("pad-1", 3)])
    counters = ingestor.counters()
    assert (counters["events_ingested"], counters["duplicates"]) == (3, 2)
    assert counters["seq_conflicts"] == 0
    assert ingestor.store.count() == 3


def test_a_reused_seq_under_a_new_event_id_is_refused_and_logged(ingestor: Ingestor, caplog):
    """A hall database restored from an old copy repeats seqs with new event ids: the first
    event keeps its place; the second is not stored beside it, and the collector says so."""
    first = event("kiosk-1", 1)
    send(ingestor, [first])
    impostor = dataclasses.replace(event("kiosk-1", 1), data={"window": 9})
    assert impostor.event_id != first.event_id
    send(ingestor, [impostor, event("kiosk-1", 2)])
    counters = ingestor.counters()
    assert counters["seq_conflicts"] == 1
    assert counters["events_ingested"] == 2 and counters["duplicates"] == 0
    assert ingestor.store.all_events(HALL)[0].event_id == first.event_id
    logged = f"seq 1 arrived again as event {impostor.event_id}; refused"
    assert f"seq conflict: hall hall-demo device kiosk-1 {logged}" in caplog.text


def test_publisher_batch_from_stored_json_is_the_encoded_batch(tmp_path: Path):
    """The publisher sends journal rows without re-encoding them; the bytes are exactly what
    encoding the events would give, so the collector cannot tell the difference."""
    from agent.publisher import batch_payload
    from hallstore import journal

    conn = journal.connect(tmp_path / "hall.db")
    try:
        events = [event("pad-1", 1), dataclasses.replace(event("叫号屏", 2), data={"文": "号"})]
        conn.execute("BEGIN IMMEDIATE")
        for e in events:
            journal.append(conn, e)
        conn.execute("COMMIT")
        stored = [p for *_, p in journal.pending_rows(conn, 10)]
    finally:
        conn.close()
    assert batch_payload(stored) == encode_batch(events)
    # With the floors each batch carries (the lowest seq the journal holds per device).
    floors = {"pad-1": 1, "叫号屏": 2}
    assert batch_payload(stored, floors) == encode_batch(events, floors)


def test_journal_stores_the_event_text_to_json_would_give():
    from hallstore import journal

    e = dataclasses.replace(
        event("叫号屏", 7), data={"窗口": [1, 2], "nested": {"a": None, "b": 1.5}, "ok": True}
    )
    assert journal.event_json(e) == e.to_json()

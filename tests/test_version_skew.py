"""Must show: a hall newer than its collector loses nothing.

A newer hall adds event kinds and optional fields (a minor version, ``docs/topics.md``,
"Versions"). Its batches reach an older collector mixed with known kinds; before, one unknown
kind failed validation for the whole batch, the batch was acknowledged, and the hall deleted
all of it. Now known kinds are used, unknown ones are stored as received and counted, a
malformed event is dead-lettered alone, and the stored-watermark covers the whole batch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from collector.ingest import Ingestor
from collector.service import CollectorService
from collector.store import EventStore
from core.events import SCHEMA_MINOR, Event, Kind, TimeWindow, encode_batch
from core.stored_acks import StoredWatermarks
from core.topics import stored_topic
from tests.brokers import MosquittoUnderTest, Subscriber, wait_until
from tests.hall_events import RecordedHall

TIMEOUT = 60
ROOT = Path(__file__).resolve().parent.parent
#: The minor version of a hall one release ahead of this collector.
NEWER = SCHEMA_MINOR + 1


def newer_hall_batch(hall: RecordedHall) -> tuple[list[dict], dict, list[dict]]:
    """A real morning's events as a hall one minor ahead sends them: an optional top-level field on
    every event, a kind this collector has never heard of, and one broken event.

    Returns:
        every event dict of the batch in order, the broken one, and the unknown-kind ones.
    """
    hall.open(1)
    for _ in range(3):
        hall.issue("social")
    hall.call(1)
    events = [e.to_dict() | {"minor": NEWER, "origin": "kiosk-v1.4"} for e in hall.take()]
    pad = 1 + max(e["seq"] for e in events if e["device_id"] == "pad-1")
    kiosk = 1 + max(e["seq"] for e in events if e["device_id"] == "kiosk-1")
    t = hall.now()
    unknown = [
        Event("queue.transferred", hall.hall_id, "pad-1", pad, t,
              {"ticket_id": events[1]["data"]["ticket_id"], "to_window": 3}).to_dict()
        | {"minor": NEWER},
        Event("appointment.checked_in", hall.hall_id, "kiosk-1", kiosk, t,
              {"booking": "B-17"}).to_dict() | {"minor": NEWER},
    ]
    broken = Event(Kind.TICKET_FINISHED, hall.hall_id, "pad-1", pad + 1, t,
                   {"ticket_id": "x", "ticket_no": "A001", "service": "social",
                    "issued_at": t - 300, "called_at": t - 100, "finished_at": t - 200}
                   ).to_dict()
    return events + unknown + [broken], broken, unknown


def send(mosquitto: MosquittoUnderTest, topic: str, body: dict) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    try:
        client.publish(topic, json.dumps(body).encode(), qos=1).wait_for_publish(TIMEOUT)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_newer_halls_batch_is_stored_counted_and_acknowledged_whole(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    hall = RecordedHall(tmp_path / "hall.db")
    service = CollectorService(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                               {hall.hall_id: hall.config}, client_id="skew")
    marks = Subscriber(mosquitto.host, mosquitto.port, stored_topic(hall.hall_id))
    service.start()
    events, broken, unknown = newer_hall_batch(hall)
    valid = [e for e in events if e is not broken]
    topic = f"halledge/v1/{hall.hall_id}/events"
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        send(mosquitto, topic, {"v": 1, "minor": NEWER, "events": events})
        send(mosquitto, topic, {"v": 1, "minor": NEWER, "events": events})  # a re-send
        ingest = service.ingestor
        assert wait_until(lambda: ingest.duplicates == len(valid), TIMEOUT), ingest.counters()

        # The hall's journal would end empty: the last watermark covers every event sent.
        highest: dict[str, int] = {}
        for e in events:
            highest[e["device_id"]] = max(highest.get(e["device_id"], 0), e["seq"])
        last = lambda: StoredWatermarks.decode(marks.received()[-1].payload)  # noqa: E731
        assert wait_until(lambda: marks.received() and last().stored == highest, TIMEOUT)
        assert all(e["seq"] <= last().stored[e["device_id"]] for e in events)

        state = service.dashboard_state()
        (shown,) = [h for h in state["halls"] if h["hall"] == hall.hall_id]
        waiting = service.state(hall.hall_id)["totals"]["waiting_count"]
    finally:
        marks.close()
        service.stop()

    store = EventStore(tmp_path / "collector.db")
    assert ingest.events_ingested == len(valid)  # each valid event once
    assert store.count(hall.hall_id) == len(valid)
    assert {e.kind for e in store.all_events(hall.hall_id)} >= {
        "queue.transferred", "appointment.checked_in"
    }
    # Stored as received: the optional fields of the newer minor are kept.
    stored_text = [json.loads(p) for p in store.stored_payloads(hall.hall_id)]
    assert all(p.get("minor") == NEWER for p in stored_text)
    assert sum(p.get("origin") == "kiosk-v1.4" for p in stored_text) == len(valid) - 2
    # Counted per kind, and on the dashboard.
    assert shown["ingest"]["unknown_kinds"] == {"appointment.checked_in": 1,
                                                "queue.transferred": 1}
    assert shown["ingest"]["newer_minor"]["ticket.issued"] == 3
    assert shown["ingest"]["dead_letter_reasons"] == {"ticket_order": 1}
    # Metrics ignore the kinds they do not know and use the ones they do.
    assert waiting == 2  # three issued, one called
    (letter,) = store.dead_letters(hall.hall_id)
    assert (letter.device_id, letter.seq, letter.reason) == ("pad-1", broken["seq"], "ticket_order")
    assert json.loads(letter.payload) == broken
    store.close()
    hall.close_db()


# --- python main.py collector dead-letters --------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: PLW1510 - the exit status is checked by the caller
        [sys.executable, "main.py", "collector", "dead-letters", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_cli_lists_dead_letters_and_replays_those_an_upgrade_now_accepts(tmp_path: Path):
    """A collector that believed only a day of backlog dead-lettered a 3-day-old event (an
    event a wider window now accepts), a NaN one and a garbage message. The listing shows all
    three; the replay stores the old event, removes its letter, and keeps the other two."""
    path = tmp_path / "collector.db"
    hall = "hall-demo"
    topic = f"halledge/v1/{hall}/events"
    now = time.time()
    good = Event(Kind.WINDOW_OPENED, hall, "pad-1", 1, now - 60, {"window": 1})
    old = replace(good, seq=2, at=now - 3 * 86400, event_id="e" * 32)
    nan = replace(good, seq=3, event_id="f" * 32).to_dict() | {"at": float("nan")}
    narrow = Ingestor(path, "127.0.0.1", 1, window=TimeWindow(past_s=86400))
    try:
        batch = json.loads(encode_batch([good, old]))
        batch["events"].append(nan)
        assert narrow.ingest(topic, json.dumps(batch).encode())
        assert narrow.ingest(topic, b"\x00\xffgarbage")
        assert narrow.watermarks(hall) == {"pad-1": 3}
    finally:
        narrow.store.close()
        narrow.telemetry.close()

    listed = [json.loads(line) for line in cli("--store", str(path), "--json").stdout.splitlines()]
    assert [(r["hall"], r["device"], r["seq"], r["reason"]) for r in listed] == [
        (hall, "pad-1", 2, "time_past"),
        (hall, "pad-1", 3, "non_finite"),
        (hall, None, None, "not_json"),
    ]
    assert all(r["size"] > 0 and r["received"].startswith("20") for r in listed)
    table = cli("--store", str(path)).stdout
    assert "原因 reason" in table and "time_past" in table and "共 3 条死信" in table

    replayed = json.loads(cli("--store", str(path), "--replay", "--json").stdout)
    assert replayed == {"resolved": 1, "kept": 2, "events_stored": 1}
    after = [json.loads(line) for line in cli("--store", str(path), "--json").stdout.splitlines()]
    assert [r["reason"] for r in after] == ["non_finite", "not_json"]
    again = Ingestor(path, "127.0.0.1", 1)
    try:
        assert again.store.stored_ids([old.event_id]) == {old.event_id}
        assert again.watermarks(hall) == {"pad-1": 3}  # still covered, now by the event
    finally:
        again.store.close()
        again.telemetry.close()

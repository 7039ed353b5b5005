"""The collector's stored-watermarks: per device, the highest seq up to which everything is
stored or dead-lettered, published retained on ``halledge/v1/<hall>/stored``.

The ingest is driven directly (``Ingestor.ingest`` is the path the MQTT callback takes) where
only the numbers matter, and through a real Mosquitto with a plain paho subscriber where the
messages themselves are the point.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from collector.ingest import Ingestor
from core.events import Event, Kind, encode_batch
from core.stored_acks import StoredWatermarks
from core.topics import stored_topic
from tests.brokers import MosquittoUnderTest, Subscriber, wait_until

HALL = "hall-demo"
TOPIC = f"halledge/v1/{HALL}/events"
NOW = time.time()


def event(device: str, seq: int) -> Event:
    return Event(Kind.WINDOW_OPENED, HALL, device, seq, NOW - 3600 + seq,
                 {"window": 1, "staff_id": "s1", "services": ["social"]})


def send(ingestor: Ingestor, events: list[Event], floors: dict[str, int] | None = None) -> None:
    assert ingestor.ingest(TOPIC, encode_batch(events, floors))


def seqs(device: str, *numbers: int) -> list[Event]:
    return [event(device, n) for n in numbers]


@pytest.fixture
def ingestor(tmp_path: Path):
    # Never started: ingest() is the same path the MQTT callback takes.
    ing = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    yield ing
    ing.store.close()
    ing.telemetry.close()


def test_a_contiguous_run_is_acknowledged_up_to_its_last_seq(ingestor: Ingestor):
    send(ingestor, seqs("kiosk-1", 1, 2, 3) + seqs("pad-1", 1, 2))
    send(ingestor, seqs("kiosk-1", 4, 5))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 5, "pad-1": 2}


def test_a_gap_holds_the_watermark_back_until_it_is_filled(ingestor: Ingestor):
    send(ingestor, seqs("kiosk-1", 1, 2, 5, 6))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 2}
    send(ingestor, seqs("kiosk-1", 4))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 2}
    send(ingestor, seqs("kiosk-1", 3))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 6}


def test_a_device_first_seen_past_seq_1_is_acknowledged_from_nothing(ingestor: Ingestor):
    send(ingestor, seqs("kiosk-1", 4, 5))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 0}


def test_a_floor_lets_the_watermark_pass_seqs_the_hall_no_longer_holds(ingestor: Ingestor):
    """Seqs below a floor can never arrive: counted as lost, and passed."""
    send(ingestor, seqs("kiosk-1", 10, 11, 12), floors={"kiosk-1": 10})
    assert ingestor.watermarks(HALL) == {"kiosk-1": 12}
    assert ingestor.hall_counters(HALL)["lost_seqs"] == 9
    assert ingestor.counters()["gaps"] == []


def test_a_floor_inside_a_gap_passes_only_what_lies_below_it(ingestor: Ingestor):
    send(ingestor, seqs("kiosk-1", 1, 2, 6))
    send(ingestor, seqs("kiosk-1", 6), floors={"kiosk-1": 4})
    assert ingestor.watermarks(HALL) == {"kiosk-1": 3}
    assert ingestor.hall_counters(HALL)["lost_seqs"] == 1  # seq 3
    send(ingestor, seqs("kiosk-1", 4, 5))
    assert ingestor.watermarks(HALL) == {"kiosk-1": 6}
    assert ingestor.store.gaps() == []


def test_a_lower_floor_later_changes_nothing(ingestor: Ingestor):
    send(ingestor, seqs("kiosk-1", 10), floors={"kiosk-1": 10})
    send(ingestor, seqs("kiosk-1", 11), floors={"kiosk-1": 3})
    assert ingestor.watermarks(HALL) == {"kiosk-1": 11}
    assert ingestor.store.floors() == {(HALL, "kiosk-1"): 10}


def test_a_dead_lettered_event_counts_as_stored(ingestor: Ingestor):
    """Seq 2 is malformed (finished before it was called): it is kept as a dead letter, so the
    hall may delete it, and the watermark passes it."""
    good = seqs("pad-1", 1, 3)
    bad = Event(Kind.TICKET_FINISHED, HALL, "pad-1", 2, NOW - 60,
                {"ticket_id": "t1", "ticket_no": "A001", "service": "social",
                 "issued_at": NOW - 600, "called_at": NOW - 100, "finished_at": NOW - 200})
    send(ingestor, [good[0], bad, good[1]])
    assert ingestor.watermarks(HALL) == {"pad-1": 3}
    assert ingestor.store.count(HALL) == 2
    (letter,) = ingestor.store.dead_letters(HALL)
    assert (letter.device_id, letter.seq, letter.reason) == ("pad-1", 2, "ticket_order")


def test_a_message_dead_lettered_whole_acknowledges_nothing(ingestor: Ingestor):
    send(ingestor, seqs("pad-1", 1))
    assert ingestor.ingest(TOPIC, b"[" * 100 + b"]" * 100)
    assert ingestor.watermarks(HALL) == {"pad-1": 1}
    (letter,) = ingestor.store.dead_letters(HALL)
    assert (letter.scope, letter.reason, letter.seq) == ("message", "too_deep", None)


def test_a_restarted_collector_computes_the_same_watermarks(ingestor: Ingestor):
    bad = event("pad-1", 3).to_dict() | {"at": "yesterday"}
    batch = json.loads(encode_batch(seqs("pad-1", 1, 2, 4), floors={"kiosk-1": 5}))
    batch["events"].append(bad)
    assert ingestor.ingest(TOPIC, json.dumps(batch).encode())
    send(ingestor, seqs("kiosk-1", 5, 6, 8))
    before = (ingestor.watermarks(HALL), ingestor.hall_counters(HALL)["lost_seqs"])
    assert before == ({"kiosk-1": 6, "pad-1": 4}, 4)

    again = Ingestor(ingestor.store, "127.0.0.1", 1)
    assert (again.watermarks(HALL), again.hall_counters(HALL)["lost_seqs"]) == before
    assert again.counters()["gaps"] == ingestor.counters()["gaps"]


def test_floors_that_cover_nothing_new_are_not_written_and_a_restart_agrees(
    ingestor: Ingestor,
):
    """An agent repeats each device's floor in every batch; one at or below the watermark + 1
    covers nothing new and is not written. A floor past the watermark is (seqs 7-9 below it
    are lost), and a restarted collector, which rebuilds its gaps from the store, computes the
    same watermarks, losses and gaps."""
    send(ingestor, seqs("kiosk-1", 1, 2, 3), floors={"kiosk-1": 1})
    send(ingestor, seqs("kiosk-1", 4, 5), floors={"kiosk-1": 4})
    send(ingestor, seqs("pad-1", 1, 2, 5), floors={"pad-1": 1})  # 3-4 still on their way
    assert ingestor.store.floors() == {}
    send(ingestor, seqs("kiosk-1", 6), floors={"kiosk-1": 6})
    send(ingestor, seqs("kiosk-1", 10, 11), floors={"kiosk-1": 10})  # the hall let 7-9 go
    send(ingestor, seqs("pad-1", 4), floors={"pad-1": 4})  # inside the gap: 3 is lost
    assert ingestor.store.floors() == {(HALL, "kiosk-1"): 10, (HALL, "pad-1"): 4}
    send(ingestor, seqs("kiosk-1", 12), floors={"kiosk-1": 12})
    before = (ingestor.watermarks(HALL), ingestor.hall_counters(HALL)["lost_seqs"],
              ingestor.counters()["gaps"])  # fmt: skip
    assert before == ({"kiosk-1": 12, "pad-1": 5}, 4, [])
    assert ingestor.store.floors() == {(HALL, "kiosk-1"): 10, (HALL, "pad-1"): 4}

    again = Ingestor(ingestor.store, "127.0.0.1", 1)
    assert (again.watermarks(HALL), again.hall_counters(HALL)["lost_seqs"],
            again.counters()["gaps"]) == before  # fmt: skip


# --- on the wire: real Mosquitto ----------------------------------------------------------


def stored_messages(sub: Subscriber, hall: str = HALL) -> list[tuple[dict[str, int], bool]]:
    return [
        (StoredWatermarks.decode(m.payload).stored, bool(m.retain))
        for m in sub.received()
        if m.topic == stored_topic(hall)
    ]


def clear_retained(broker: MosquittoUnderTest, topic: str) -> None:
    """An empty retained message deletes the broker's retained one."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def started(path: Path, broker: MosquittoUnderTest, client_id: str) -> Ingestor:
    ing = Ingestor(path, broker.host, broker.port, client_id=client_id)
    ing.start()
    assert ing.wait_subscribed(30), broker.log_text()
    return ing


def close(ing: Ingestor) -> None:
    ing.stop()
    ing.store.close()
    ing.telemetry.close()


def test_a_burst_of_batches_is_published_coalesced_and_ends_on_the_final_state(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """200 one-event batches in a burst: far fewer messages than batches, the last one
    carries the final watermark, and it is retained."""
    sub = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
    ing = started(tmp_path / "collector.db", mosquitto, "wm-burst")
    try:
        for n in range(1, 201):
            send(ing, seqs("kiosk-1", n))
        assert wait_until(lambda: stored_messages(sub)[-1:] == [({"kiosk-1": 200}, False)], 30)
        time.sleep(0.5)  # nothing more comes once the last state is out
        messages = stored_messages(sub)
    finally:
        close(ing)
        sub.close()
    assert messages[-1][0] == {"kiosk-1": 200}
    assert len(messages) < 40, len(messages)
    marks = [m["kiosk-1"] for m, _ in messages if m]
    assert marks == sorted(marks)  # never backwards

    late = Subscriber(mosquitto.host, mosquitto.port, stored_topic(HALL))
    try:
        assert wait_until(lambda: stored_messages(late), 30)
        assert stored_messages(late) == [({"kiosk-1": 200}, True)]
    finally:
        late.close()


def test_a_restarted_collector_republishes_the_same_watermarks_retained(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """The broker forgets the retained watermarks (cleared by hand here); a collector started
    on the same database publishes them again, the same, for every hall it knows."""
    path = tmp_path / "collector.db"
    ing = started(path, mosquitto, "wm-restart")
    sub = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
    try:
        send(ing, seqs("kiosk-1", 1, 2, 3, 5) + seqs("pad-1", 7, 8), floors={"pad-1": 7})
        other = Event(Kind.WINDOW_CLOSED, "hall-b", "pad-9", 1, NOW - 10, {"window": 9})
        assert ing.ingest("halledge/v1/hall-b/events", encode_batch([other]))
        expected = {HALL: {"kiosk-1": 3, "pad-1": 8}, "hall-b": {"pad-9": 1}}
        assert wait_until(
            lambda: all(stored_messages(sub, h)[-1:] and stored_messages(sub, h)[-1][0] == m
                        for h, m in expected.items()),
            30,
        )
    finally:
        close(ing)
        sub.close()

    for hall in expected:
        clear_retained(mosquitto, stored_topic(hall))
    live = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
    again = started(path, mosquitto, "wm-restart")
    try:
        assert wait_until(lambda: all(stored_messages(live, h) for h in expected), 30)
        republished = {h: stored_messages(live, h)[-1][0] for h in expected}
        late = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
        try:
            assert wait_until(lambda: all(stored_messages(late, h) for h in expected), 30)
            retained = {h: stored_messages(late, h) for h in expected}
        finally:
            late.close()
    finally:
        close(again)
        live.close()
    assert republished == expected
    assert retained == {h: [(m, True)] for h, m in expected.items()}


def test_every_published_watermark_is_covered_by_a_sync_of_the_store_before_it(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """Commits do not wait for the disk; a watermark round does. Whatever a published watermark
    announces was committed before the round's sync (``EventStore.make_durable``), so a power
    cut after the hall deleted its rows cannot take those events back."""
    sub = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
    ing = started(tmp_path / "collector.db", mosquitto, "wm-durable")
    # Per sync: how many watermark messages were out before it, how many events committed.
    syncs: list[tuple[int, int]] = []
    real_sync = ing.store.make_durable

    def recording_sync() -> None:
        before = (ing.stored_acks.published, ing.store.count(HALL))
        real_sync()
        syncs.append(before)

    ing.stored_acks._make_durable = recording_sync
    try:
        for n in range(1, 301):
            send(ing, seqs("kiosk-1", n))
        assert wait_until(lambda: stored_messages(sub)[-1:] == [({"kiosk-1": 300}, False)], 30)
        marks = [m["kiosk-1"] for m, retained in stored_messages(sub) if m and not retained]
    finally:
        close(ing)
        sub.close()
    assert syncs, "no watermark round synced the store"
    for k, mark in enumerate(marks):
        # The last sync before the k-th message went out covered everything it announces.
        covered = max(committed for published, committed in syncs if published <= k)
        assert mark <= covered, (k, mark, syncs)
    assert len(syncs) < 60, len(syncs)  # one sync per round, not per commit
    with sqlite3.connect(tmp_path / "collector.db") as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # a fresh one is FULL
        rounds = conn.execute("SELECT rounds FROM durable_mark").fetchone()[0]
    assert rounds == len(syncs)

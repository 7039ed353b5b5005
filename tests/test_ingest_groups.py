"""The MQTT path stores messages in groups: one commit for many, each acknowledged only after
it, and nothing of a group counts as stored (no watermark, no hook) until its commit."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from collector.ingest import Ingestor
from core.events import Event, Kind, encode_batch
from core.topics import events_topic

HALL = "hall-groups"
T0 = 1_795_395_600.0


def batch(device: str, first: int, n: int) -> bytes:
    return encode_batch([
        Event(Kind.DEVICE_HEALTH, HALL, device, seq, T0 + seq, {"state": "ok"})
        for seq in range(first, first + n)
    ])


@pytest.fixture
def ingestor(tmp_path: Path) -> Ingestor:
    ing = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    ing.clock.now = lambda: T0 + 3600  # type: ignore[method-assign]
    yield ing
    ing.store.close()
    ing.telemetry.close()


def test_a_group_commits_together_and_then_tells_the_watermark(ingestor: Ingestor) -> None:
    told: list[str] = []
    ingestor.stored_acks.changed = lambda *halls: told.extend(halls)  # type: ignore
    topic = events_topic(HALL)
    settled = ingestor.settle_group([(topic, batch("kiosk-1", 1, 50)),
                                     (topic, batch("kiosk-1", 51, 50)),
                                     (topic, b"not json")])
    assert settled == [True, True, True]  # the third is dead-lettered, so settled too
    assert ingestor.watermarks(HALL) == {"kiosk-1": 100}
    assert told == [HALL]  # once per hall and group: the watermark is read when it goes out
    assert ingestor.counters()["events_ingested"] == 100


def test_a_failed_commit_keeps_nothing_acknowledges_nothing_and_tells_nobody(
    ingestor: Ingestor,
) -> None:
    told: list[str] = []
    ingestor.stored_acks.changed = lambda *halls: told.extend(halls)  # type: ignore
    real = ingestor.store.transaction

    @contextmanager
    def failing_commit():
        with real():
            yield
            raise sqlite3.OperationalError("disk I/O error")

    ingestor.store.transaction = failing_commit  # type: ignore[method-assign]
    topic = events_topic(HALL)
    settled = ingestor.settle_group([(topic, batch("kiosk-1", 1, 20)),
                                     (topic, batch("pad-1", 1, 20))])
    assert settled == [False, False]
    assert told == []
    assert ingestor.watermarks(HALL) == {}
    assert ingestor.store.highest_seqs() == {}

    ingestor.store.transaction = real  # type: ignore[method-assign]
    assert ingestor.settle_group([(topic, batch("kiosk-1", 1, 20))]) == [True]
    assert ingestor.watermarks(HALL) == {"kiosk-1": 20}


def test_one_commit_for_many_messages_still_judges_each_message_alone(
    ingestor: Ingestor,
) -> None:
    """The group's events go into the store in one statement when they are all new; a
    redelivered message, a seq conflict and a broken message in the same group are each
    sorted out on their own, and cost the others nothing."""
    topic = events_topic(HALL)
    first = batch("kiosk-1", 1, 5)
    assert ingestor.settle_group([(topic, first)]) == [True]
    reused = Event(Kind.DEVICE_HEALTH, HALL, "kiosk-1", 3, T0 + 3, {"state": "ok"})  # new id
    told: list[list[Event]] = []
    ingestor.on_events = told.append
    settled = ingestor.settle_group([
        (topic, batch("pad-1", 1, 4)),           # new
        (topic, first),                          # redelivered: duplicates
        (topic, encode_batch([reused])),         # seq 3 under another id: a conflict
        (topic, b'{"v":1,"events":[{"v":1}]}'),  # an event without identity: dead-lettered
        (topic, batch("kiosk-1", 6, 2)),         # new, after the others
    ])
    assert settled == [True] * 5
    c = ingestor.counters()
    assert (c["events_ingested"], c["duplicates"], c["seq_conflicts"]) == (5 + 4 + 2, 5, 1)
    assert [(e.device_id, e.seq) for group in told for e in group] == (
        [("pad-1", s) for s in range(1, 5)] + [("kiosk-1", 6), ("kiosk-1", 7)]
    )
    assert ingestor.watermarks(HALL) == {"kiosk-1": 7, "pad-1": 4}
    assert ingestor.store.dead_letter_counts()[HALL] == {"seq_conflict": 1, "missing_field": 1}


def test_floors_of_a_group_are_written_once_and_only_rise(ingestor: Ingestor) -> None:
    topic = events_topic(HALL)
    floored = [
        encode_batch([Event(Kind.DEVICE_HEALTH, HALL, "kiosk-1", s, T0 + s, {"state": "ok"})],
                     {"kiosk-1": floor})
        for s, floor in ((10, 8), (11, 10), (12, 5))
    ]
    assert ingestor.settle_group([(topic, p) for p in floored]) == [True] * 3
    assert ingestor.store.floors() == {(HALL, "kiosk-1"): 10}  # the highest, not the last
    assert ingestor.watermarks(HALL) == {"kiosk-1": 12}  # 1-9 lost below the floor
    assert ingestor.counters()["lost_seqs"] == {HALL: 9}

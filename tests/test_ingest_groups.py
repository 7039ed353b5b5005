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
    ingestor.stored_acks.changed = told.append  # type: ignore[method-assign]
    topic = events_topic(HALL)
    settled = ingestor.settle_group([(topic, batch("kiosk-1", 1, 50)),
                                     (topic, batch("kiosk-1", 51, 50)),
                                     (topic, b"not json")])
    assert settled == [True, True, True]  # the third is dead-lettered, so settled too
    assert ingestor.watermarks(HALL) == {"kiosk-1": 100}
    assert told == [HALL, HALL]
    assert ingestor.counters()["events_ingested"] == 100


def test_a_failed_commit_keeps_nothing_acknowledges_nothing_and_tells_nobody(
    ingestor: Ingestor,
) -> None:
    told: list[str] = []
    ingestor.stored_acks.changed = told.append  # type: ignore[method-assign]
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

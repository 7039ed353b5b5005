"""The collector's event store: each event once, however often it arrives.

The store is keyed twice: by ``event_id`` and by the device-assigned ``(hall, device, seq)``.
A batch the agent re-sends after a lost acknowledgement (or the broker redelivers after a
collector restart) changes nothing. An event with a known ``(hall, device, seq)`` but a new
``event_id`` is a *seq conflict* (a hall database restored from an old copy re-used its seqs);
it is refused and reported, never stored beside the first. Per device, events carry
a strictly increasing ``seq``; a hole in it means an event is still on its way (or was lost),
which :meth:`EventStore.gaps` reports.

Durability: the ingest acknowledges a message to the broker only after :meth:`EventStore.add`
committed, so the store uses WAL with ``synchronous=FULL`` like the hall journal; an
acknowledged event must survive a power cut of the collector.

Schema: the migration set ``collector.events`` (:mod:`core.sqlite_migrations`), in the same
ledger as the telemetry store's set, which shares the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from core.events import Event
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

EVENTS_SCHEMA = Migrations(
    "collector.events",
    (
        # The schema the store created before it had a ledger, so ``IF NOT EXISTS`` adopts
        # those databases with their events. The unique (hall, device, seq) index replaced a
        # plain one of an earlier release, which is dropped.
        Migration(
            1,
            "events keyed by event id and by (hall, device, seq)",
            (
                (
                    "CREATE TABLE IF NOT EXISTS events ("
                    " event_id TEXT PRIMARY KEY, hall_id TEXT NOT NULL,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
                    " at REAL NOT NULL, payload TEXT NOT NULL)"
                ),
                "DROP INDEX IF EXISTS events_device_seq",
                (
                    "CREATE UNIQUE INDEX IF NOT EXISTS events_device_seq_once"
                    " ON events(hall_id, device_id, seq)"
                ),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Stored:
    """What one :meth:`EventStore.add_batch` did.

    Attributes:
        new: events stored now, in batch order.
        duplicates: events already stored under the same ``event_id``.
        conflicts: events refused because their ``(hall, device, seq)`` is stored under
            another ``event_id``.
    """

    new: list[Event]
    duplicates: int
    conflicts: list[Event]


@dataclass(frozen=True)
class Gap:
    """A run of sequence numbers of one device that the store has not seen.

    Attributes:
        hall_id: the hall of the device.
        device_id: the device whose events are missing.
        first: first missing seq.
        last: last missing seq (inclusive).
    """

    hall_id: str
    device_id: str
    first: int
    last: int


class EventStore:
    """SQLite store of ingested events, safe to share between the ingest thread and readers.

    Args:
        path: database file; created if missing. ``":memory:"`` works for tests.

    Raises:
        JournalTooNew (421): a newer release migrated the database.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # One connection behind a lock: the ingest thread writes, metrics and tests read, and
        # SQLite connections must not be used by two threads at once.
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        EVENTS_SCHEMA.apply(self._conn)

    def add(self, events: list[Event]) -> list[Event]:
        """Store events in one transaction; only the new ones (see :meth:`add_batch`)."""
        return self.add_batch(events).new

    def add_batch(self, events: list[Event]) -> Stored:
        """Store events in one transaction, skipping any already stored.

        Args:
            events: a decoded batch, possibly containing events stored before.

        Returns:
            The new events in the order given (a duplicate inside the same batch counts
            once), how many were duplicates, and the seq conflicts.
        """
        new: list[Event] = []
        conflicts: list[Event] = []
        with self._lock, atomic(self._conn) as conn:
            for e in events:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO events(event_id, hall_id, device_id, seq, kind, at,"
                    " payload) VALUES (?,?,?,?,?,?,?)",
                    (e.event_id, e.hall_id, e.device_id, e.seq, e.kind, e.at, e.to_json()),
                )
                if cur.rowcount == 1:
                    new.append(e)
                elif (
                    conn.execute("SELECT 1 FROM events WHERE event_id=?", (e.event_id,)).fetchone()
                    is None
                ):
                    conflicts.append(e)
        return Stored(new, len(events) - len(new) - len(conflicts), conflicts)

    def highest_seqs(self) -> dict[tuple[str, str], int]:
        """The highest stored seq per (hall, device)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hall_id, device_id, MAX(seq) FROM events GROUP BY hall_id, device_id"
            ).fetchall()
        return {(h, d): int(s) for h, d, s in rows}

    def ingest_order(self, hall_id: str) -> list[tuple[str, int]]:
        """(device, seq) of a hall's events in the order they were first stored."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, seq FROM events WHERE hall_id=? ORDER BY rowid", (hall_id,)
            ).fetchall()
        return [(d, int(s)) for d, s in rows]

    def count(self, hall_id: str | None = None) -> int:
        """Number of distinct events stored, for one hall or all."""
        sql, args = "SELECT COUNT(*) FROM events", ()
        if hall_id is not None:
            sql, args = "SELECT COUNT(*) FROM events WHERE hall_id=?", (hall_id,)
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def count_by_kind(self, hall_id: str) -> dict[str, int]:
        """Events of a hall per kind, e.g. ``{"ticket.issued": 12, ...}``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT kind, COUNT(*) FROM events WHERE hall_id=? GROUP BY kind", (hall_id,)
            ).fetchall()
        return {k: int(n) for k, n in rows}

    def all_events(self, hall_id: str) -> list[Event]:
        """Every stored event of a hall, ordered by (device, seq)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT payload FROM events WHERE hall_id=? ORDER BY device_id, seq", (hall_id,)
            ).fetchall()
        return [Event.from_dict(json.loads(p)) for (p,) in rows]

    def contiguous_seq(self, hall_id: str, device_id: str) -> int:
        """The highest seq n such that seqs 1..n of the device are all stored (0 if none)."""
        firsts = [g.first for g in self.gaps() if (g.hall_id, g.device_id) == (hall_id, device_id)]
        if firsts:
            return min(firsts) - 1
        with self._lock:
            row = self._conn.execute(
                "SELECT MAX(seq) FROM events WHERE hall_id=? AND device_id=?", (hall_id, device_id)
            ).fetchone()
        return int(row[0] or 0)

    def gaps(self) -> list[Gap]:
        """Missing seq runs per device, below each device's highest stored seq.

        Events after the highest stored seq are invisible to the store, so a gap here means
        "a later event arrived, an earlier one did not (yet)".
        """
        with self._lock:
            rows = self._conn.execute(
                """
                SELECT hall_id, device_id, prev + 1, seq - 1 FROM (
                    SELECT hall_id, device_id, seq,
                           COALESCE(LAG(seq) OVER (PARTITION BY hall_id, device_id ORDER BY seq), 0)
                               AS prev
                    FROM events
                ) WHERE seq - prev > 1
                ORDER BY hall_id, device_id, seq
                """
            ).fetchall()
        return [Gap(h, d, int(a), int(b)) for h, d, a, b in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

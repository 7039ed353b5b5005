"""The collector's telemetry store: each sample once, and what each hall thinned out.

Samples are keyed by (hall, device, metric, at, n): a batch re-sent after a lost PUBACK adds
nothing. The drop and downsample totals a hall sends with every batch only grow, so the
store keeps the highest seen; a late, re-delivered batch cannot lower them.

It shares the collector's database file with the event store, on its own connection
(SQLite's WAL lets the two write in turn). Its schema is the migration set
``collector.telemetry`` (:mod:`core.sqlite_migrations`), beside the event store's set in the
same ledger.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic
from core.telemetry import TelemetryBatch

TELEMETRY_SCHEMA = Migrations(
    "collector.telemetry",
    (
        # The schema the store created before it had a ledger; ``IF NOT EXISTS`` adopts those
        # databases with their samples.
        Migration(
            1,
            "samples keyed by (hall, device, metric, at, n) and each hall's thinning totals",
            (
                (
                    "CREATE TABLE IF NOT EXISTS samples ("
                    " hall_id TEXT NOT NULL, device_id TEXT NOT NULL, metric TEXT NOT NULL,"
                    " at REAL NOT NULL, n INTEGER NOT NULL, value REAL NOT NULL,"
                    " vmin REAL NOT NULL, vmax REAL NOT NULL,"
                    " PRIMARY KEY (hall_id, device_id, metric, at, n)) WITHOUT ROWID"
                ),
                (
                    "CREATE TABLE IF NOT EXISTS telemetry_thinning ("
                    " hall_id TEXT PRIMARY KEY, dropped INTEGER NOT NULL,"
                    " downsampled INTEGER NOT NULL)"
                ),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Thinned:
    """How many readings a hall reported dropped and merged, in total."""

    dropped: int
    downsampled: int


class TelemetryStore:
    """SQLite store of ingested telemetry.

    Args:
        path: database file (the collector's), created if missing.

    Raises:
        JournalTooNew (421): a newer release migrated the database.
    """

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # The PUBACK follows the commit, as for events.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        TELEMETRY_SCHEMA.apply(self._conn)

    def add_batch(self, batch: TelemetryBatch) -> int:
        """Store a batch in one transaction. Returns how many samples were new."""
        with self._lock, atomic(self._conn) as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO samples(hall_id, device_id, metric, at, n, value,"
                " vmin, vmax) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (batch.hall_id, s.device_id, s.metric, s.at, s.n, s.value,
                     s.value if s.min is None else s.min, s.value if s.max is None else s.max)
                    for s in batch.samples
                ],
            )
            new = conn.total_changes - before
            conn.execute(
                "INSERT INTO telemetry_thinning(hall_id, dropped, downsampled) VALUES (?,?,?)"
                " ON CONFLICT(hall_id) DO UPDATE SET"
                " dropped = MAX(dropped, excluded.dropped),"
                " downsampled = MAX(downsampled, excluded.downsampled)",
                (batch.hall_id, batch.dropped_total, batch.downsampled_total),
            )
        return new

    def thinned(self) -> dict[str, Thinned]:
        """Per hall, the readings it reported dropped and merged."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hall_id, dropped, downsampled FROM telemetry_thinning"
            ).fetchall()
        return {hall: Thinned(d, m) for hall, d, m in rows}

    def readings(self, hall_id: str, device_id: str, metric: str) -> list[tuple[float, float, int]]:
        """(at, value, n) of one metric, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT at, value, n FROM samples WHERE hall_id=? AND device_id=? AND metric=?"
                " ORDER BY at, n",
                (hall_id, device_id, metric),
            ).fetchall()
        return [(float(a), float(v), int(n)) for a, v, n in rows]

    def readings_count(self, hall_id: str) -> int:
        """Readings a hall's stored samples stand for (an aggregate counts its ``n``)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COALESCE(SUM(n), 0) FROM samples WHERE hall_id=?", (hall_id,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

"""The last computed baseline of each hall, kept in the collector's database.

A restarted collector warns with yesterday night's baseline at once, instead of waiting for
the recomputation (which reads weeks of events). One row per hall holds the table as JSON:
a few thousand slot entries, always read and written whole. The schema is the migration set
``collector.baseline`` (:mod:`core.sqlite_migrations`), beside the event store's.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from collector.baseline import BaselineTable, SlotLevels
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

BASELINE_SCHEMA = Migrations(
    "collector.baseline",
    (
        Migration(
            1,
            "the last weekly baseline of each hall",
            (
                "CREATE TABLE baselines (hall_id TEXT PRIMARY KEY, business_day TEXT NOT NULL,"
                " computed_at REAL NOT NULL, body TEXT NOT NULL)",
            ),
        ),
    ),
)


class BaselineStore:
    """Save and load :class:`BaselineTable` s.

    Raises:
        JournalTooNew (421): a newer release migrated the database.
    """

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        BASELINE_SCHEMA.apply(self._conn)

    def save(self, table: BaselineTable) -> None:
        body = {
            "slot_min": table.slot_min,
            "levels": [[*k, v.yellow, v.red, v.days, v.samples] for k, v in table.levels.items()],
            "arrivals": [[*k, v] for k, v in table.arrivals_per_h.items()],
            "since": table.since,
            "days_used": table.days_used,
            "skipped_days": table.skipped_days,
        }
        with self._lock, atomic(self._conn) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO baselines(hall_id, business_day, computed_at, body)"
                " VALUES (?,?,?,?)",
                (table.hall, table.business_day, table.computed_at, json.dumps(body)),
            )

    def load(self, hall: str) -> BaselineTable | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT business_day, computed_at, body FROM baselines WHERE hall_id=?", (hall,)
            ).fetchone()
        if row is None:
            return None
        day, computed_at, text = row
        body = json.loads(text)
        table = BaselineTable(hall, str(day), float(computed_at), int(body["slot_min"]))
        for service, metric, weekday, slot, yellow, red, days, samples in body["levels"]:
            table.levels[(service, metric, weekday, slot)] = SlotLevels(yellow, red, days, samples)
        for service, weekday, slot, rate in body["arrivals"]:
            table.arrivals_per_h[(service, weekday, slot)] = rate
        table.since = dict(body["since"])
        table.days_used = dict(body["days_used"])
        table.skipped_days = list(body["skipped_days"])
        return table

    def close(self) -> None:
        with self._lock:
            self._conn.close()

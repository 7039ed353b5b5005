"""The edge journal: every event is on disk here before anything else sees it.

The journal lives in the hall's SQLite database, beside the queue tables, so that a queue
state change and the event that records it commit in one transaction: either both are on
disk or neither is. The publisher reads the ``outbox`` table in order and deletes a row only
after the broker acknowledged it.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``. Every row here is a citizen-visible
transaction (a ticket, a call, a rating); FULL fsyncs the WAL on each commit, so a power cut
after the kiosk said "done" cannot lose the row. NORMAL would be faster but may lose the last
commits on power loss, which is exactly what a citizen would notice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.events import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS device_seq (
    device_id TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    rowid_    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id  TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    payload   TEXT NOT NULL
);
"""


def connect(path: Path | str) -> sqlite3.Connection:
    """Open the hall database with the journal's durability settings.

    ``isolation_level=None`` puts transactions under our control: writers use
    ``BEGIN IMMEDIATE`` so two processes (two kiosks) serialise instead of failing late.
    """
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA)
    return conn


def next_seq(conn: sqlite3.Connection, device_id: str) -> int:
    """Allocate the device's next sequence number. Call inside the writing transaction."""
    row = conn.execute(
        "INSERT INTO device_seq(device_id, last_seq) VALUES (?, 1) "
        "ON CONFLICT(device_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        (device_id,),
    ).fetchone()
    return int(row[0])


def append(conn: sqlite3.Connection, event: Event) -> None:
    """Add an event to the outbox. Call inside the transaction that made the change."""
    conn.execute(
        "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?, ?, ?, ?)",
        (event.event_id, event.device_id, event.seq, event.to_json()),
    )


@dataclass(frozen=True)
class PendingEvent:
    row: int
    event: Event


def pending(conn: sqlite3.Connection, limit: int, after_row: int = 0) -> list[PendingEvent]:
    """The oldest unacknowledged events, in journal order (which is per-device order)."""
    rows = conn.execute(
        "SELECT rowid_, payload FROM outbox WHERE rowid_ > ? ORDER BY rowid_ LIMIT ?",
        (after_row, limit),
    ).fetchall()
    return [PendingEvent(r, Event.from_dict(json.loads(p))) for r, p in rows]


def acknowledge(conn: sqlite3.Connection, rows: list[int]) -> None:
    """Delete events the broker has acknowledged."""
    if not rows:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("DELETE FROM outbox WHERE rowid_ = ?", [(r,) for r in rows])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def backlog(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

"""The hall API's tables at the connection level: the change feed, answered requests, state.

Every function takes a connection; the writing ones are called inside the transaction of the
change they belong to (:class:`hallnet.server.HallService` opens it), never on their own.

**Which changes the feed sees.** The hall box's server writes a feed row in the same
transaction as each change it makes. Anything else that writes the queue on the same database
file (a kiosk on the hall box that still opens the database itself, the demo's simulated
walk-ins, a technician's tool) is noticed through the journal: every queue change journals an
event, and journaling advances one device's ``device_seq.last_seq`` in the same transaction
(``hallstore/journal.py``), so the sum of ``last_seq`` over all devices counts every event ever
journaled, by anyone. The server keeps that sum as ``journal_pos`` in the same transaction as
its own changes; when the database holds a larger sum, someone else journaled, and the server
appends a ``snapshot`` marker to the feed (clients then fetch the whole state). Nothing is
missed, at the price of a full snapshot for a change the server did not make itself.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

#: Feed rows kept for ``Last-Event-ID`` resumption; a client further behind gets a snapshot.
FEED_KEEP = 5000
#: Answered requests are kept this long (seconds): far longer than any retry of a PAD that lost
#: its network for a while.
REQUESTS_KEEP_S = 2 * 86400.0

SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class FeedRow:
    """One push: ``id`` is its SSE id, ``type`` its SSE event name."""

    id: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Answered:
    """A stored answer to a state-changing request."""

    request: str
    status: int
    response: dict[str, Any]


def append(conn: sqlite3.Connection, type_: str, data: dict[str, Any], at: float) -> int:
    """Add a push to the feed; its id (the newest plus one). Inside the change's transaction."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    row = conn.execute(
        "INSERT INTO hallnet_feed(type, data, at) VALUES (?, ?, ?) RETURNING id", (type_, text, at)
    ).fetchone()
    return int(row[0])


def bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    """The oldest and newest feed ids kept."""
    first, newest = conn.execute("SELECT MIN(id), MAX(id) FROM hallnet_feed").fetchone()
    return int(first or 0), int(newest or 0)


def after(conn: sqlite3.Connection, last: int, limit: int) -> list[FeedRow]:
    """Feed rows newer than ``last``, oldest first, at most ``limit``."""
    rows = conn.execute(
        "SELECT id, type, data FROM hallnet_feed WHERE id > ? ORDER BY id LIMIT ?", (last, limit)
    ).fetchall()
    return [FeedRow(int(i), str(t), json.loads(d)) for i, t, d in rows]


def prune(conn: sqlite3.Connection, keep: int = FEED_KEEP) -> None:
    """Drop all but the newest ``keep`` rows; the newest row always stays, so ids never go back."""
    conn.execute(
        "DELETE FROM hallnet_feed WHERE id <= (SELECT MAX(id) FROM hallnet_feed) - ?",
        (max(1, keep),),
    )


def journal_position(conn: sqlite3.Connection) -> int:
    """How many events have ever been journaled in this database, by any process."""
    return int(conn.execute("SELECT TOTAL(last_seq) FROM device_seq").fetchone()[0])


def get_state(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute("SELECT value FROM hallnet_state WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def set_state(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute(
        "INSERT INTO hallnet_state(name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def answered(conn: sqlite3.Connection, device_id: str, key: str) -> Answered | None:
    """The stored answer to a device's request with this key, if there is one."""
    row = conn.execute(
        "SELECT request, status, response FROM hallnet_requests WHERE device_id = ? AND key = ?",
        (device_id, key),
    ).fetchone()
    if row is None:
        return None
    return Answered(str(row[0]), int(row[1]), json.loads(row[2]))


def record_answer(
    conn: sqlite3.Connection,
    device_id: str,
    key: str,
    request: str,
    status: int,
    response: dict[str, Any],
    at: float,
) -> None:
    """Store a request's answer. Inside the transaction of the change it answers."""
    conn.execute(
        "INSERT INTO hallnet_requests(device_id, key, request, status, response, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (device_id, key, request, status, json.dumps(response, ensure_ascii=False), at),
    )


def prune_answers(conn: sqlite3.Connection, before: float) -> None:
    conn.execute("DELETE FROM hallnet_requests WHERE at < ?", (before,))

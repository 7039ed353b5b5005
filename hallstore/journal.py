"""The hall journal: every event is on disk here before anything else sees it.

The journal lives in the hall database, beside the flows' tables, so that a flow's state
change and the event that records it commit in one transaction: either both are on disk or
neither is. Flows write through :class:`hallstore.HallStore` (``store.transaction()`` and its
``journal(...)``); the functions here are the connection-level pieces under it. The
publisher reads the ``outbox`` table in order and deletes a row only once the collector has
said it stored it (its stored-watermark, ``core/stored_acks.py``).

:func:`connect` is the one way to open the hall database: it applies the connection settings
below and every pending step of :data:`hallstore.schema.HALL_SCHEMA`.

Durability, per class of data (``docs/agent.md`` has the table):

* Citizen-visible transactions (a ticket, a call, a finish, a rating, a window sign-in) and
  their events: ``journal_mode=WAL`` with ``synchronous=FULL``. FULL fsyncs the WAL on each
  commit, so a power cut after the kiosk said "done" cannot lose the row. NORMAL would be
  faster but may lose the last commits on power loss, exactly what a citizen would notice.
* Device health changes (``device.health``) share the transaction class: they are rare and
  a technician relies on them.
* Telemetry samples are group-committed with NORMAL on the recorder's own connection
  (``agent/telemetry.py``), never on a flow's.

Why ``(device_id, seq)`` needs no boot id: ``seq`` is allocated by :func:`next_seq` in the
same transaction as the event it numbers. A crash rolls both back together, so a seq is
neither reused after a restart nor skipped; the pair identifies an event for good. The one
hole is a hall database replaced by an older copy (restored backup, swapped disk): seqs
would repeat, and the collector counts and logs that as a ``seq_conflict`` instead of storing it.

Plain ``sqlite3`` throughout, no ORM or wrapper: a durable single-event commit is
benchmarked (``python main.py bench outbox``) against raw ``sqlite3`` doing the same two
writes, and every layer between a flow and SQLite shows in that ratio.

Schema changes go through :mod:`hallstore.schema`; disk limits through
:mod:`hallstore.retention`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

from core.events import Event, Kind
from core.sqlite_tx import atomic
from hallstore import retention
from hallstore.schema import HALL_SCHEMA


def connect(path: Path | str) -> sqlite3.Connection:
    """Open the hall database with the journal's durability settings, migrated to the newest
    schema (:data:`hallstore.schema.HALL_SCHEMA`).

    ``isolation_level=None`` puts transactions under our control: writers use
    ``BEGIN IMMEDIATE`` (:class:`core.sqlite_tx.atomic`) so two processes (two kiosks)
    serialise instead of failing late.

    Raises:
        JournalTooNew (421): a newer Hall Edge migrated this database.
    """
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        HALL_SCHEMA.apply(conn)
        retention.apply_wal_limit(conn, retention.get_policy(conn))
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_room(conn: sqlite3.Connection) -> None:
    """Refuse new work before the disk is full; call inside the transaction that would add it
    (the queue does before issuing a ticket).

    Raises:
        StorageFull (420): less room than the retention policy's reserve is left.
    """
    retention.ensure_room(conn)


def next_seq(conn: sqlite3.Connection, device_id: str) -> int:
    """Allocate the device's next sequence number. Call inside the writing transaction."""
    # A plain UPDATE costs half an upsert, and every call but a device's first finds its row.
    row = conn.execute(
        "UPDATE device_seq SET last_seq = last_seq + 1 WHERE device_id = ? RETURNING last_seq",
        (device_id,),
    ).fetchone()
    if row is None:
        conn.execute("INSERT INTO device_seq(device_id, last_seq) VALUES (?, 1)", (device_id,))
        return 1
    return int(row[0])


def append(conn: sqlite3.Connection, event: Event) -> None:
    """Add an event to the outbox. Call inside the transaction that made the change."""
    conn.execute(
        "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?, ?, ?, ?)",
        (event.event_id, event.device_id, event.seq, event_json(event)),
    )


_EVENT_FIELDS = tuple(f.name for f in fields(Event))
#: ``json.dumps`` with options builds a new encoder per call; this one is built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def event_json(event: Event) -> str:
    """The same text as :meth:`Event.to_json`, without ``asdict``'s deep copy of ``data``.

    The copy alone took a sixth of a durable commit; the fields are JSON values already.
    """
    raw = {name: getattr(event, name) for name in _EVENT_FIELDS}
    if event.kind in Kind.SINCE_MINOR:
        raw["minor"] = Kind.SINCE_MINOR[event.kind]
    return _ENCODER.encode(raw)


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


def pending_rows(
    conn: sqlite3.Connection, limit: int, after_row: int = 0
) -> list[tuple[int, str, int, str]]:
    """Like :func:`pending`, as (row, device, seq, stored JSON) without parsing: the publisher
    sends the stored text as it is, and matches each row's device and seq against the
    collector's stored-watermarks."""
    rows = conn.execute(
        "SELECT rowid_, device_id, seq, payload FROM outbox WHERE rowid_ > ?"
        " ORDER BY rowid_ LIMIT ?",
        (after_row, limit),
    ).fetchall()
    return [(int(r), str(d), int(q), str(p)) for r, d, q, p in rows]


def delete_stored(conn: sqlite3.Connection, rows: list[int]) -> int:
    """Delete events the collector has stored, in one transaction.

    Args:
        conn: the journal connection.
        rows: outbox rows (any order) that a stored-watermark covers. Runs of consecutive ids
            go as one range delete each: every id of such a run is in ``rows``, so no other
            row can be inside it.

    Returns:
        The highest row id left in the outbox after the delete (0 when it is empty), read in
        the same transaction: a row committed later gets a higher id than that, which is how
        the publisher knows whether new rows can have ids below the ones it already read.
    """
    with atomic(conn):
        if rows:
            conn.executemany(
                "DELETE FROM outbox WHERE rowid_ BETWEEN ? AND ?", _runs(sorted(rows))
            )
        top = conn.execute("SELECT MAX(rowid_) FROM outbox").fetchone()[0]
    return int(top or 0)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs of consecutive integers: [1, 2, 3, 7] → (1, 3), (7, 7)."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(row, runs[-1][1]))
        else:
            runs.append((row, row))
    return runs


def backlog(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

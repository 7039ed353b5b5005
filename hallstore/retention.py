"""Bounded disk use of the hall database, and refusing new work before the disk is full.

Policy (see ``docs/agent.md``):

* Nothing citizen-visible is ever deleted to make room. An outbox row leaves only when the
  collector said it stored it (:func:`hallstore.journal.delete_stored`, driven by the
  collector's stored-watermarks); its pages go to SQLite's free list and are reused by the
  next rows, so the file stays as large as the biggest backlog.
* The WAL is checkpointed when it reaches ``wal_limit_bytes`` (``wal_autocheckpoint``) and
  cut back to that size afterwards (``journal_size_limit``).
* Before the disk (or a configured cap) runs out, :func:`ensure_room` refuses *new* tickets
  with :class:`~core.errors.StorageFull`. The reserve it keeps is what the citizens already
  waiting need: their calls, finishes and ratings still commit, with their events.

The policy lives in the database (``journal_settings``), so every process of the hall box
(kiosks, PADs, agent) enforces the same numbers.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, fields

from core.errors import StorageFull
from core.sqlite_tx import atomic

MIB = 1024 * 1024


@dataclass(frozen=True)
class RetentionPolicy:
    """Disk limits of one hall database.

    Attributes:
        reserve_bytes: refuse new tickets when less room than this is left. 64 MiB holds
            about 100,000 events, days of calls and finishes for the citizens already queued.
        wal_limit_bytes: size at which the WAL is checkpointed into the database, and to
            which the file is truncated back afterwards.
        telemetry_downsample_rows: unsent telemetry rows beyond which the oldest readings
            are merged into per-minute aggregates (``agent/telemetry.py``).
        telemetry_max_rows: unsent telemetry rows beyond which the oldest are dropped.
            At about 100 bytes a row, the default keeps telemetry under some 10 MB, far
            inside the transactions' reserve.
    """

    reserve_bytes: int = 64 * MIB
    wal_limit_bytes: int = 16 * MIB
    telemetry_downsample_rows: int = 20_000
    telemetry_max_rows: int = 100_000


def set_policy(conn: sqlite3.Connection, policy: RetentionPolicy) -> None:
    """Store the policy for every process of this hall database."""
    with atomic(conn):
        conn.executemany(
            "INSERT INTO journal_settings(name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            [(f.name, int(getattr(policy, f.name))) for f in fields(policy)],
        )
    apply_wal_limit(conn, policy)


def get_policy(conn: sqlite3.Connection) -> RetentionPolicy:
    """The stored policy, with defaults for anything not set."""
    names = {f.name for f in fields(RetentionPolicy)}
    stored = {
        name: int(value)
        for name, value in conn.execute("SELECT name, value FROM journal_settings")
        if name in names
    }
    return RetentionPolicy(**stored)


def apply_wal_limit(conn: sqlite3.Connection, policy: RetentionPolicy) -> None:
    """Set this connection's checkpoint threshold and WAL size limit (per-connection pragmas).

    A checkpoint writes every page changed since the last one into the database file and
    fsyncs it, inside whichever commit crosses the threshold. SQLite's default threshold of
    1,000 pages made a kiosk pay for one every ~330 commits (a journal commit changes three
    pages), a third of the cost of a durable commit on a fast disk. At ``wal_limit_bytes``
    (16 MiB: 4,096 pages) it comes four times more rarely; the WAL never grows past what
    retention already allowed it.
    """
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute(f"PRAGMA wal_autocheckpoint={max(1, int(policy.wal_limit_bytes) // page_size)}")
    conn.execute(f"PRAGMA journal_size_limit={int(policy.wal_limit_bytes)}")


def room_bytes(conn: sqlite3.Connection) -> int:
    """Bytes the database can still grow by: free disk space plus reusable free pages, or
    the room left under ``max_page_count`` if that cap is lower."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free_pages = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    cap_pages = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
    reusable = free_pages * page_size
    room = (cap_pages - pages) * page_size + reusable
    path = _main_file(conn)
    if path:
        st = os.statvfs(os.path.dirname(path) or ".")
        room = min(room, st.f_bavail * st.f_frsize + reusable)
    return room


def ensure_room(conn: sqlite3.Connection) -> None:
    """Refuse new work when the database is close to running out of space.

    Raises:
        StorageFull (420): less than the policy's ``reserve_bytes`` is left.
    """
    policy = get_policy(conn)
    room = room_bytes(conn)
    if room < policy.reserve_bytes:
        raise StorageFull(
            "hall database is nearly out of space",
            room_bytes=room,
            reserve_bytes=policy.reserve_bytes,
        )


def _main_file(conn: sqlite3.Connection) -> str:
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file or "")
    return ""

"""Versioned schema changes of the hall database's journal tables.

Each :class:`Migration` runs once per database, in one ``BEGIN IMMEDIATE`` transaction that
also inserts its row into ``schema_migrations``. Either the change and its record are both
on disk or neither is, so a power cut in the middle leaves the database at the previous
version and the next start simply runs the migration again. Two processes of the hall box
starting at the same moment serialise on the write lock, and the second one finds the
version already recorded.

Migrations are append-only: never edit one that has shipped, add the next version instead.
Statements run one by one through ``execute`` (``executescript`` would commit first and break
the one-transaction rule).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import JournalTooNew


@dataclass(frozen=True)
class Migration:
    """One schema step.

    Attributes:
        version: 1, 2, 3 …; applied in this order, each once.
        name: what the step does, for the record and for logs.
        statements: SQL statements run in order inside the migration's transaction.
    """

    version: int
    name: str
    statements: tuple[str, ...]


#: The journal's schema history. ``IF NOT EXISTS`` in version 1 adopts databases created
#: before migrations existed, whose tables are already there.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "outbox and per-device sequence",
        (
            (
                "CREATE TABLE IF NOT EXISTS device_seq ("
                " device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)"
            ),
            (
                "CREATE TABLE IF NOT EXISTS outbox ("
                " rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
                " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
            ),
        ),
    ),
    Migration(
        2,
        "journal settings shared by every process of the hall box",
        ("CREATE TABLE journal_settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",),
    ),
    # The UNIQUE index on event_id put every insert and every acknowledged row on a random
    # index page (event ids are random), which cost more than the rest of a drain together.
    # Uniqueness is the collector's job; here ids come from uuid4 and seqs from next_seq.
    # The AUTOINCREMENT counter is carried over: a running publisher's cursor relies on new
    # rows getting higher ids than any before.
    Migration(
        3,
        "outbox without the event_id index",
        (
            (
                "CREATE TABLE outbox_v3 ("
                " rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,"
                " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
            ),
            "INSERT INTO outbox_v3 SELECT rowid_, event_id, device_id, seq, payload FROM outbox",
            "DELETE FROM sqlite_sequence WHERE name = 'outbox_v3'",
            (
                "INSERT INTO sqlite_sequence(name, seq)"
                " SELECT 'outbox_v3', seq FROM sqlite_sequence WHERE name = 'outbox'"
            ),
            "DROP TABLE outbox",
            "ALTER TABLE outbox_v3 RENAME TO outbox",
        ),
    ),
    # Samples are not events: their own outbox, thinned out under an outage (agent/telemetry.py).
    # ``aggregated`` marks rows that stand for several readings, so they are never merged again;
    # the index on ``at`` finds the oldest readings to drop.
    Migration(
        4,
        "telemetry samples and their drop counters",
        (
            (
                "CREATE TABLE telemetry ("
                " row_ INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,"
                " metric TEXT NOT NULL, at REAL NOT NULL, value REAL NOT NULL,"
                " vmin REAL NOT NULL, vmax REAL NOT NULL, n INTEGER NOT NULL DEFAULT 1,"
                " aggregated INTEGER NOT NULL DEFAULT 0)"
            ),
            "CREATE INDEX telemetry_at ON telemetry(at)",
            "CREATE TABLE telemetry_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        ),
    ),
    # AUTOINCREMENT wrote a third page (sqlite_sequence) in every citizen's commit. Plain
    # rowids are enough: a new row gets max(rowid) + 1, and the last row of every batch in
    # flight still exists, so no new row can fall inside a range the publisher will delete;
    # the publisher reads from the start whenever nothing is in flight
    # (``agent/publisher.py``), so a table drained empty that starts again at 1 is read too.
    Migration(
        5,
        "outbox without AUTOINCREMENT",
        (
            (
                "CREATE TABLE outbox_v5 ("
                " rowid_ INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
                " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
            ),
            "INSERT INTO outbox_v5 SELECT rowid_, event_id, device_id, seq, payload FROM outbox",
            "DROP TABLE outbox",
            "DELETE FROM sqlite_sequence WHERE name = 'outbox'",
            "ALTER TABLE outbox_v5 RENAME TO outbox",
        ),
    ),
)

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
)


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration recorded in the database (0 for a new or pre-migration one)."""
    conn.execute(_LEDGER)
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the database up to the newest migration.

    Args:
        conn: a connection with ``isolation_level=None`` (transactions under our control),
            not inside a transaction.
        migrations: the history to apply, ordered by version.

    Returns:
        The versions applied by this call (empty when the database was up to date).

    Raises:
        JournalTooNew (421): the database records a version this code does not know, i.e.
            a newer Hall Edge wrote it; writing with the old schema could corrupt it.
        sqlite3.Error: a migration failed; it was rolled back with its record.
    """
    known = max((m.version for m in migrations), default=0)
    found = current_version(conn)
    if found > known:
        raise JournalTooNew("hall database is newer than this program", version=found, known=known)
    applied: list[int] = []
    for migration in (m for m in migrations if m.version > found):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have just applied it.
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version=?", (migration.version,)
            ).fetchone()
            if done is None:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)",
                    (migration.version, migration.name, time.time()),
                )
                applied.append(migration.version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied

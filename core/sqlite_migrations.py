"""Versioned schema changes for every SQLite database of the hall box and the collector.

A database's schema is a :class:`Migrations` set: a name (``hall``, ``remote``,
``collector.events`` …) and an append-only list of numbered :class:`Migration` steps. One
ledger table, ``migration_ledger``, keyed by (schema, version), records what ran, so several
owners can share one file (the collector's event and telemetry stores do).

Each step runs in one ``BEGIN IMMEDIATE`` transaction (:class:`core.sqlite_tx.atomic`) that
also inserts its ledger row. Either the change and its record are both on disk or neither is:
a power cut in the middle leaves the database at the previous version and the next start runs
the step again. Two processes starting together serialise on the write lock; the second one
re-reads the ledger under the lock and finds the step done. :meth:`Migrations.pending` and
:meth:`Migrations.applied` only read: they never create the ledger.

A database that records a version this program does not know was written by a newer release:
:meth:`Migrations.apply` refuses it with :class:`~core.errors.JournalTooNew` (421) rather than
write an old schema into it.

Why a small ledger of our own and not sqlite-utils + sqlite-migrate, whose set idea this
borrows: (1) sqlite-migrate 0.1 runs a step and then writes its record with no transaction
around both, and reads ``pending()`` once without the write lock, so two kiosks starting
together could both run a step; (2) it ignores recorded versions it does not know, where we
must refuse a database from a newer release; (3) sqlite-utils wraps the connection in a
``Database`` object, while the journal's commit path stays on plain ``sqlite3`` (it is
benchmarked, ``python main.py bench outbox``) and so do the kiosks; (4) neither package is in
the lock, and this is about a hundred lines of code. The shape is theirs: named sets, steps in
order, ``pending()``/``applied()``, ``apply(conn, stop_before=…)``.

Rules for steps: never edit one that has shipped, add the next version instead. Statements run
one by one through ``execute`` (``executescript`` would commit first and break the
one-transaction rule). The first step of a schema that existed before its ledger uses
``CREATE TABLE IF NOT EXISTS``, which adopts such databases with their rows.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from core.errors import JournalTooNew
from core.sqlite_tx import atomic

#: The ledger of every schema in a database file.
LEDGER = "migration_ledger"

_CREATE_LEDGER = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER} ("
    " schema TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
    " applied_at REAL NOT NULL, PRIMARY KEY (schema, version))"
)

#: The version left in a retired per-database ledger (see ``Migrations.legacy_ledger``): higher
#: than any version an older release knows, so that release refuses the database (421).
RETIRED_LEDGER_VERSION = 1_000_000


@dataclass(frozen=True)
class Migration:
    """One schema step.

    Attributes:
        version: 1, 2, 3 …; applied in this order, each once per database.
        name: what the step does, for the ledger and for logs.
        statements: SQL statements run in order inside the step's transaction.
    """

    version: int
    name: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class Applied:
    """A ledger row: a step that ran on this database.

    Attributes:
        version: the step's version.
        name: the step's name when it ran.
        applied_at: epoch seconds of the commit (the box's clock).
    """

    version: int
    name: str
    applied_at: float


@dataclass(frozen=True)
class Migrations:
    """The schema history of one database (or of one owner's tables in a shared file).

    Attributes:
        schema: the set's name in the ledger, e.g. ``hall``; never renamed once shipped.
        steps: the history, versions strictly increasing.
        legacy_ledger: a table in which releases before this module recorded the set's
            versions as ``(version, name, applied_at)`` (the hall database's and the remote
            store's ``schema_migrations``). Its versions count as applied; the first step
            that runs moves them into the ledger and leaves the old table holding a single
            row at :data:`RETIRED_LEDGER_VERSION`, so an older release that opens the file
            refuses it (421) instead of running its own history again.
    """

    schema: str
    steps: tuple[Migration, ...]
    legacy_ledger: str | None = None

    def __post_init__(self) -> None:
        versions = [m.version for m in self.steps]
        if any(v < 1 for v in versions) or versions != sorted(set(versions)):
            raise ValueError(f"{self.schema}: versions must be positive and increasing")

    @property
    def known(self) -> int:
        """The newest version this program knows (0 for an empty history)."""
        return self.steps[-1].version if self.steps else 0

    def applied(self, conn: sqlite3.Connection) -> list[Applied]:
        """The steps recorded in the database, oldest first. Only reads."""
        rows: dict[int, Applied] = {}
        if self.legacy_ledger and _has_table(conn, self.legacy_ledger):
            for version, name, at in conn.execute(
                f"SELECT version, name, applied_at FROM {self.legacy_ledger} WHERE version < ?",
                (RETIRED_LEDGER_VERSION,),
            ):
                rows[int(version)] = Applied(int(version), str(name), float(at))
        if _has_table(conn, LEDGER):
            for version, name, at in conn.execute(
                f"SELECT version, name, applied_at FROM {LEDGER} WHERE schema = ?",
                (self.schema,),
            ):
                rows[int(version)] = Applied(int(version), str(name), float(at))
        return [rows[v] for v in sorted(rows)]

    def current_version(self, conn: sqlite3.Connection) -> int:
        """The highest version recorded (0 for a new database). Only reads."""
        applied = self.applied(conn)
        return applied[-1].version if applied else 0

    def pending(self, conn: sqlite3.Connection) -> list[Migration]:
        """The steps not yet recorded, in the order :meth:`apply` would run them. Only reads."""
        done = {a.version for a in self.applied(conn)}
        return [m for m in self.steps if m.version not in done]

    def apply(self, conn: sqlite3.Connection, stop_before: int | None = None) -> list[int]:
        """Bring the database up to the newest step (or to just before ``stop_before``).

        Args:
            conn: a connection with ``isolation_level=None``, not inside a transaction.
            stop_before: leave this version and later ones pending (tests build old
                databases with it).

        Returns:
            The versions applied by this call (empty when the database was up to date).

        Raises:
            JournalTooNew (421): the database records a version this program does not know:
                a newer release wrote it, and writing with the old schema could corrupt it.
            sqlite3.Error: a step failed; it was rolled back together with its record.
            ValueError: ``conn`` is inside a transaction, or opens them implicitly.
        """
        if conn.in_transaction:
            raise ValueError("apply() runs each step in a transaction of its own")
        self._refuse_newer(self.current_version(conn))
        todo = [
            m for m in self.pending(conn) if stop_before is None or m.version < stop_before
        ]
        done: list[int] = []
        for step in todo:
            with atomic(conn):
                # Re-read under the write lock: another process may have just applied it.
                recorded = {a.version for a in self._open_ledger(conn)}
                self._refuse_newer(max(recorded, default=0))
                if step.version in recorded:
                    continue
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {LEDGER}(schema, version, name, applied_at) VALUES (?,?,?,?)",
                    (self.schema, step.version, step.name, time.time()),
                )
            done.append(step.version)
        return done

    def _open_ledger(self, conn: sqlite3.Connection) -> list[Applied]:
        """Create the ledger if missing and adopt a legacy one; inside the step's transaction."""
        conn.execute(_CREATE_LEDGER)
        if self.legacy_ledger:
            legacy = self.legacy_ledger
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {legacy} ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            conn.execute(
                f"INSERT OR IGNORE INTO {LEDGER}(schema, version, name, applied_at)"
                f" SELECT ?, version, name, applied_at FROM {legacy} WHERE version < ?",
                (self.schema, RETIRED_LEDGER_VERSION),
            )
            conn.execute(f"DELETE FROM {legacy} WHERE version < ?", (RETIRED_LEDGER_VERSION,))
            conn.execute(
                f"INSERT OR IGNORE INTO {legacy}(version, name, applied_at) VALUES (?,?,?)",
                (RETIRED_LEDGER_VERSION, f"moved to {LEDGER} as schema {self.schema}", time.time()),
            )
        return self.applied(conn)

    def _refuse_newer(self, found: int) -> None:
        if found > self.known:
            raise JournalTooNew(
                f"{self.schema} database is newer than this program",
                schema=self.schema,
                version=found,
                known=self.known,
            )


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None

"""One way to write a transaction on our SQLite databases: :class:`atomic`.

The pattern is sqlite-utils' ``Database.atomic()`` (``db.py``): a transaction at the top level,
a ``SAVEPOINT`` when already inside one, and a rollback on any exception. Three things differ,
each for a reason of ours:

* The top level begins ``IMMEDIATE``, not deferred. The hall database is written by several
  processes (kiosks, PADs, the agent). A deferred transaction takes the write lock only at its
  first write; if another process wrote in between, SQLite refuses the upgrade with
  ``SQLITE_BUSY`` at once, *without* waiting for ``busy_timeout``, and a kiosk would fail a
  ticket late. ``BEGIN IMMEDIATE`` waits for the lock up front, so writers simply queue.
* It works on a plain ``sqlite3.Connection`` opened with ``isolation_level=None`` (no
  implicit ``BEGIN`` from the ``sqlite3`` module), not on a wrapper object: every citizen's
  commit runs through it, and the journal's commit path is benchmarked
  (``python main.py bench outbox``).
* It is a class with ``__enter__``/``__exit__``, not a ``@contextmanager`` generator: the
  generator costs about 1.5 µs per transaction, the class about 0.3 µs (measured on tmpfs
  against a hand-written ``BEGIN IMMEDIATE``/``COMMIT``), next to some 70 µs of CPU for a
  journal commit. At that price no hot path needs a hand-written block.

A failed ``COMMIT`` (a full disk) is rolled back too, so the connection is never left inside
a dead transaction where the next ``BEGIN`` would fail.
"""

from __future__ import annotations

import itertools
import sqlite3
from types import TracebackType

#: Savepoint names only have to differ between the nesting levels of one connection; a
#: process-wide counter guarantees that without keeping state on the connection.
_savepoint_ids = itertools.count(1)


class atomic:  # noqa: N801 - used like a function: ``with atomic(conn):``
    """Run the block in one transaction: all its writes commit, or none do.

    At the top level this is ``BEGIN IMMEDIATE`` … ``COMMIT``. Inside a transaction already
    open on ``conn`` (an outer :class:`atomic`, a migration) it is a ``SAVEPOINT``: an
    exception rolls back this block's writes only and propagates, and the outer transaction
    decides about the rest. Any exception, ``KeyboardInterrupt`` included, rolls back.

    Args:
        conn: a connection opened with ``isolation_level=None``. Not thread-safe: callers
            that share a connection between threads hold their own lock around the block.

    Raises:
        ValueError: ``conn`` lets the ``sqlite3`` module open transactions implicitly; its
            hidden ``BEGIN`` and ``COMMIT`` would cut through ours.

    Example::

        with atomic(conn):
            conn.execute("UPDATE tickets SET state='called' WHERE ticket_id=?", (tid,))
            conn.execute("INSERT INTO outbox ...")
    """

    __slots__ = ("conn", "_savepoint")

    def __init__(self, conn: sqlite3.Connection) -> None:
        if conn.isolation_level is not None:
            raise ValueError("atomic() needs a connection opened with isolation_level=None")
        self.conn = conn
        self._savepoint: str | None = None

    def __enter__(self) -> sqlite3.Connection:
        if self.conn.in_transaction:
            self._savepoint = f"atomic_{next(_savepoint_ids)}"
            self.conn.execute(f"SAVEPOINT {self._savepoint}")
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, savepoint = self.conn, self._savepoint
        if exc_type is None:
            try:
                conn.execute("COMMIT" if savepoint is None else f"RELEASE {savepoint}")
                return
            except BaseException:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        # SQLite rolls a transaction back by itself after some errors (a full disk, an I/O
        # error); a second ROLLBACK would then raise and hide the error that matters.
        conn = self.conn
        if not conn.in_transaction:
            return
        if self._savepoint is None:
            conn.execute("ROLLBACK")
        else:
            # ROLLBACK TO undoes the block but leaves the savepoint open; RELEASE closes it.
            conn.execute(f"ROLLBACK TO {self._savepoint}")
            conn.execute(f"RELEASE {self._savepoint}")

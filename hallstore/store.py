"""The hall store: the one writer of the hall database in a process, and its journal writer.

Any flow commits its own state and the event that records it in one transaction::

    with store.transaction() as tx:
        tx.conn.execute("INSERT INTO device_health ...", ...)
        tx.journal(Kind.DEVICE_HEALTH, "printer-1", data, at=clock.now())

Either the state row and the outbox row are both on disk, or neither is; ``journal`` assigns
the device's next seq in the same transaction (``hallstore.journal.next_seq``).

One :class:`HallStore` per process owns the connection that flows write through, with a lock
that serialises its use between threads (taps on worker threads, rating results on a pad's
reader thread). Across processes, ``BEGIN IMMEDIATE`` serialises writers. Reads go through
:meth:`HallStore.read`, kept apart from :meth:`HallStore.transaction` so that the store can
later be served to the hall's other machines with only the hall box's process writing: the
writer side stays this object, and the read side may then be a connection (or a replica) of
its own without the flows changing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from core.events import Event, Kind
from core.sqlite_tx import atomic
from hallstore import journal


# Every citizen's commit passes through HallTransaction, so it is a plain class over plain
# ``sqlite3`` (no generator context manager, no wrapper object around the connection): the
# journal's commit path is benchmarked against raw ``sqlite3`` (``python main.py bench
# outbox``), and this costs about 1.3 µs of CPU per commit over the hand-written block.
class HallTransaction:
    """One transaction on the hall database, open for the duration of a ``with`` block.

    Made by :meth:`HallStore.transaction`. An exception inside the block rolls back every
    write of the block, events included. Nested inside another transaction of the same store
    (on the same thread) it becomes a savepoint of the outer one.

    Attributes:
        conn: the connection, for the flow's own statements; only inside the block.
        hall_id: the hall whose events this journals.
    """

    __slots__ = ("conn", "hall_id", "_lock", "_atomic")

    def __init__(self, conn: sqlite3.Connection, hall_id: str, lock: threading.RLock) -> None:
        self.conn = conn
        self.hall_id = hall_id
        self._lock = lock
        self._atomic = atomic(conn)

    def __enter__(self) -> HallTransaction:
        self._lock.acquire()
        try:
            self._atomic.__enter__()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._atomic.__exit__(exc_type, exc, tb)
        finally:
            self._lock.release()

    def journal(self, kind: str, device_id: str, data: dict[str, Any], *, at: float) -> Event:
        """Journal an event in this transaction: the device's next seq, then the outbox row.

        Args:
            kind: the event kind (:class:`core.events.Kind`).
            device_id: the device that did it; its seq counter is the one advanced.
            data: the event's data, JSON values only.
            at: when it happened, on the hall clock.

        Returns:
            The event as journaled (its ``seq`` and ``event_id`` assigned).

        Raises:
            ValueError: ``kind`` is not a :class:`core.events.Kind`. A collector stores an
                unknown kind and counts it (a newer hall's), but this hall's own code naming
                a kind nobody defined is a bug to catch here, not a kind to invent.
        """
        if kind not in Kind.ALL:
            raise ValueError(f"unknown event kind {kind!r}")
        conn = self.conn
        event = Event(
            kind=kind,
            hall_id=self.hall_id,
            device_id=device_id,
            seq=journal.next_seq(conn, device_id),
            at=at,
            data=data,
        )
        journal.append(conn, event)
        return event

    def ensure_room(self) -> None:
        """Refuse new work before the disk is full (the queue calls it before issuing).

        Raises:
            StorageFull (420): less room than the retention policy's reserve is left.
        """
        journal.ensure_room(self.conn)


class HallStore:
    """The hall database as the flows of one process write it: one connection, one lock.

    Args:
        conn: a hall database connection from :func:`hallstore.journal.connect` (which sets
            the durability pragmas and migrates the schema); the store owns it from now on.
        hall_id: the hall whose events this database journals.
    """

    def __init__(self, conn: sqlite3.Connection, hall_id: str) -> None:
        self.conn = conn
        self.hall_id = hall_id
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | str, hall_id: str) -> HallStore:
        """Open (create, migrate) the hall database at ``path``.

        Raises:
            JournalTooNew (421): a newer Hall Edge migrated this database.
        """
        return cls(journal.connect(path), hall_id)

    def transaction(self) -> HallTransaction:
        """A transaction for ``with``: the flow's writes and its events commit together.

        Raises:
            StorageFull (420): from :meth:`HallTransaction.ensure_room` inside the block.
            sqlite3.Error: the commit failed; nothing of the block is on disk.
        """
        return HallTransaction(self.conn, self.hall_id, self._lock)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, held for the block (no write may happen in it)."""
        with self._lock:
            yield self.conn

    def close(self) -> None:
        """Close the connection. Waits for a transaction another thread has open."""
        with self._lock:
            self.conn.close()

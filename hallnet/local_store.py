"""A kiosk's or PAD's own database on its own disk: ``<data dir>/hall-local.db``.

A kiosk on its own machine must keep, whatever the LAN or the hall box does, what it has told a
citizen is done: the numbers it may issue while cut off and the tickets it issued from them
(:mod:`hallnet.offline`), and its own transaction journal (:mod:`hallnet.kiosk_journal`). A PAD
keeps the ratings and health reports the hall box has not acknowledged, and the key of a step
whose answer it never got (:mod:`hallnet.kept`).
They live here until the hall box has them. One small SQLite file, opened like the hall database:
WAL, ``synchronous=FULL`` (a commit is on disk when it returns, power cut or not), every write
a ``BEGIN IMMEDIATE`` transaction (:class:`core.sqlite_tx.atomic`), the schema a migration set
of its own (``hallnet.local``, :mod:`core.sqlite_migrations`). The data directory is the one
the device file lives in (``var/<device_id>/``) unless the app names another.

One :class:`LocalStore` per process; its lock serialises the connection between the kiosk's
tap threads and the uplink thread that empties it (:class:`hallnet.uplink.Uplink`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import ConfigError, StorageFull
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic
from hallstore.retention import RetentionPolicy, room_bytes

FILE_NAME = "hall-local.db"

LOCAL_SCHEMA = Migrations(
    "hallnet.local",
    (
        Migration(
            1,
            "offline numbers and tickets, the kiosk's journal, kept requests, the owner",
            (
                # ``next``: the next number to issue; the block is used up past ``last``.
                (
                    "CREATE TABLE number_ranges ("
                    " day TEXT NOT NULL, service TEXT NOT NULL, prefix TEXT NOT NULL,"
                    " first INTEGER NOT NULL, last INTEGER NOT NULL, next INTEGER NOT NULL,"
                    " PRIMARY KEY (day, prefix, first))"
                ),
                # Deleted once the hall box has the ticket; ``refused`` keeps one it would not
                # take (with why) for a technician, never to be sent again.
                (
                    "CREATE TABLE offline_tickets ("
                    " seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL UNIQUE,"
                    " day TEXT NOT NULL, service TEXT NOT NULL, ticket_no TEXT NOT NULL,"
                    " issued_at REAL NOT NULL, appointment TEXT, replaces TEXT, refused TEXT)"
                ),
                # AUTOINCREMENT: a seq is never reused after its row is deleted, so the hall
                # box's watermark of this journal (hallnet/forwarded.py) stays true.
                (
                    "CREATE TABLE kiosk_journal ("
                    " seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,"
                    " kind TEXT NOT NULL, at REAL NOT NULL, data TEXT NOT NULL)"
                ),
                (
                    "CREATE TABLE kept_requests ("
                    " seq INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL,"
                    " body TEXT NOT NULL, key TEXT NOT NULL)"
                ),
                # The device the file belongs to: two devices pointed at one directory would
                # send each other's tickets and ratings, which the hall box refuses.
                "CREATE TABLE owner (device_id TEXT NOT NULL)",
            ),
        ),
        # An offline ticket keeps the priority the citizen chose (绿色通道 …) for its upload.
        # A tap whose answer never came (a PAD's 叫号, a kiosk's 取号) keeps its
        # Idempotency-Key here, so the same tap after a restart is answered once by the hall
        # box instead of acting again (hallnet/kept.py, ``UnsettledOnDisk``). One row at most:
        # only the last unanswered tap can be the one repeated.
        Migration(
            2,
            "offline tickets' priority, the unsettled request",
            (
                "ALTER TABLE offline_tickets ADD COLUMN priority TEXT",
                (
                    "CREATE TABLE unsettled ("
                    " slot INTEGER PRIMARY KEY CHECK (slot = 1), fingerprint TEXT NOT NULL,"
                    " key TEXT NOT NULL, path TEXT NOT NULL, at REAL NOT NULL)"
                ),
            ),
        ),
    ),
)


class LocalStore:
    """The kiosk's own database: one connection, one lock.

    Args:
        conn: an open connection (see :meth:`open`); the store owns it from now on.
        reserve_bytes: refuse new work when less room than this is left on the disk.
    """

    def __init__(
        self, conn: sqlite3.Connection, reserve_bytes: int = RetentionPolicy.reserve_bytes
    ) -> None:
        self.conn = conn
        self.reserve_bytes = reserve_bytes
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path | str, device_id: str) -> LocalStore:
        """Open (create, migrate) ``<data_dir>/hall-local.db`` for ``device_id``.

        Raises:
            JournalTooNew (421): a newer Hall Edge migrated the file.
            ConfigError (100): the file belongs to another device.
        """
        path = Path(data_dir) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=10.0, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            # Deleted rows are overwritten with zeros, not just unlinked (docs/privacy.md).
            conn.execute("PRAGMA secure_delete=ON")
            LOCAL_SCHEMA.apply(conn)
            with atomic(conn):
                row = conn.execute("SELECT device_id FROM owner").fetchone()
                if row is None:
                    conn.execute("INSERT INTO owner(device_id) VALUES (?)", (device_id,))
                elif row[0] != device_id:
                    raise ConfigError(
                        f"{path} belongs to {row[0]}, not {device_id}: give each device a"
                        " data directory of its own",
                        path=str(path),
                    )
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed (and fsynced) when the block ends."""
        with self._lock, atomic(self.conn) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self.conn

    def ensure_room(self) -> None:
        """Refuse new work before the kiosk's disk is full.

        Raises:
            StorageFull (420): less than ``reserve_bytes`` is left.
        """
        room = room_bytes(self.conn)
        if room < self.reserve_bytes:
            raise StorageFull(
                "the kiosk's disk is nearly out of space",
                room_bytes=room,
                reserve_bytes=self.reserve_bytes,
            )

    def scrub(self) -> None:
        """End of a citizen's visit (:mod:`kiosk.session_purge`): move the WAL into the file and
        truncate it, so no older page versions stay in ``-wal``; ``secure_delete`` (set at
        open) has zeroed what was deleted. The file is this kiosk's alone, so no other process's
        reader holds the checkpoint back."""
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self.conn.close()

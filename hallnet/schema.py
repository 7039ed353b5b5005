"""The hall API's own tables in the hall database (migration set ``hallnet``).

``hallstore/schema.py`` owns the hall database's tables as the set ``hall``; it has no hook for
another package's steps, so the hall API keeps its tables as a set of its own on the same
file and the same ledger (``core/sqlite_migrations.py`` keys the ledger by set). The hall box's
server applies it when it opens the database (:func:`open_store`); no other process needs these
tables, and a kiosk or PAD on the hall box that opens the database directly never touches them.

* ``hallnet_feed``: the change feed behind ``GET /v1/events``. Its ``id`` is the push's SSE
  ``id:``. A row is committed in the same transaction as the queue change it announces, so
  after a crash the feed and the queue agree. ``id`` is a plain rowid (``max + 1``, no
  AUTOINCREMENT page in every commit): pruning always keeps the newest row, so ids never go back
  and a client's ``Last-Event-ID`` stays meaningful across restarts. The first row (a
  ``snapshot`` marker) is written with the table, so the feed is never empty.
* ``hallnet_requests``: the answer to each state-changing request, by (device, Idempotency-Key),
  committed with the change; a retry is answered from here.
* ``hallnet_state``: named integers (``journal_pos``: how far the feed has accounted for the
  journal, see :mod:`hallnet.feed`).
* ``hallnet_forwarded``: per kiosk, the last seq of the kiosk's own journal that the hall
  journal holds (:mod:`hallnet.forwarded`).

Steps are append-only: never edit one that has shipped.
"""

from __future__ import annotations

from pathlib import Path

from core.sqlite_migrations import Migration, Migrations
from hallstore import HallStore

HALLNET_SCHEMA = Migrations(
    "hallnet",
    (
        Migration(
            1,
            "hall API: change feed, answered requests, server state",
            (
                (
                    "CREATE TABLE hallnet_feed ("
                    " id INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL,"
                    " at REAL NOT NULL)"
                ),
                (
                    "INSERT INTO hallnet_feed(type, data, at) VALUES"
                    " ('snapshot', '{\"reason\":\"created\"}',"
                    " (julianday('now') - 2440587.5) * 86400.0)"
                ),
                (
                    "CREATE TABLE hallnet_requests ("
                    " device_id TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,"
                    " status INTEGER NOT NULL, response TEXT NOT NULL, at REAL NOT NULL,"
                    " PRIMARY KEY (device_id, key))"
                ),
                "CREATE INDEX hallnet_requests_at ON hallnet_requests(at)",
                "CREATE TABLE hallnet_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            ),
        ),
        # A kiosk on its own machine journals its transactions on its own disk and forwards
        # them here (hallnet/forwarded.py); per kiosk, the highest seq of its own journal that
        # the hall journal holds. Kept for good, unlike answered requests: a kiosk cut off for
        # a week still cannot get an event journaled twice.
        Migration(
            2,
            "hall API: how far each kiosk's own journal has been journaled here",
            (
                (
                    "CREATE TABLE hallnet_forwarded ("
                    " device_id TEXT PRIMARY KEY, local_seq INTEGER NOT NULL)"
                ),
            ),
        ),
    ),
)


def open_store(path: Path | str, hall_id: str) -> HallStore:
    """Open the hall database as the hall box's server does: the hall store (migrated by
    :mod:`hallstore`), then the hall API's own set.

    Raises:
        JournalTooNew (421): a newer Hall Edge migrated the database (either set).
    """
    store = HallStore.open(path, hall_id)
    try:
        HALLNET_SCHEMA.apply(store.conn)
    except BaseException:
        store.close()
        raise
    return store

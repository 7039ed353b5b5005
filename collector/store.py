"""The collector's event store: each event once, however often it arrives.

The store is keyed by the device-assigned ``(hall, device, seq)``; each row also keeps the
event's ``event_id``. A batch the agent re-sends after a lost acknowledgement (or the broker
redelivers after a collector restart) changes nothing: the same key with the same
``event_id`` is a duplicate. An event with a known ``(hall, device, seq)`` but a new
``event_id`` is a *seq conflict* (a hall database restored from an old copy re-used its seqs);
it is refused, reported and dead-lettered, never stored beside the first. Per device, events
carry a strictly increasing ``seq``; a hole in it means an event is still on its way (or was
lost), which :meth:`EventStore.gaps` reports.

Next to the events it keeps what did not pass (:class:`DeadLetter`, table ``dead_letters``)
and, per device, the lowest seq its hall still holds (``device_floors``): seqs below it can
never arrive. The ingest hands on only the floors that cover a seq not covered yet
(``Ingestor._floors``). A dead-lettered event is kept, not lost, so it covers its seq like a stored one;
:meth:`EventStore.gaps` and :meth:`EventStore.highest_seqs` count both, and leave out what
lies below a floor. That is what a restarted collector rebuilds its stored-watermarks from
(``collector/stored_acks.py``).

``event_id`` has no index of its own (schema step 3 dropped it): event ids are random, and
their index was written all over at every insert, which made storing an event about five
times slower than the rest of the row. Nothing on the ingest path looks an event up by its id.

Durability: commits run with ``synchronous=NORMAL`` (WAL): a commit is safe from a crash of the
collector's process at once, and from a power cut once the write-ahead log is synced. The
collector tells a hall that it stored an event only through its stored-watermark, and the
watermark publisher calls :meth:`EventStore.make_durable` (a small commit with
``synchronous=FULL``, which syncs every frame written before it) after reading the watermarks
and before publishing them. So a watermark never covers an event a power cut could take back,
and one fsync per watermark round (150 ms) replaces one per commit. A broker PUBACK may precede
that sync; it deletes nothing at the hall, whose agent sends again whatever no watermark
covered (``docs/agent.md``, "End-to-end acknowledgement").

Schema: the migration set ``collector.events`` (:mod:`core.sqlite_migrations`), in the same
ledger as the telemetry store's set, which shares the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.events import Event, Kind, Received, read_stored, received
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

EVENTS_SCHEMA = Migrations(
    "collector.events",
    (
        # The schema the store created before it had a ledger, so ``IF NOT EXISTS`` adopts
        # those databases with their events. The unique (hall, device, seq) index replaced a
        # plain one of an earlier release, which is dropped.
        Migration(
            1,
            "events keyed by event id and by (hall, device, seq)",
            (
                (
                    "CREATE TABLE IF NOT EXISTS events ("
                    " event_id TEXT PRIMARY KEY, hall_id TEXT NOT NULL,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
                    " at REAL NOT NULL, payload TEXT NOT NULL)"
                ),
                "DROP INDEX IF EXISTS events_device_seq",
                (
                    "CREATE UNIQUE INDEX IF NOT EXISTS events_device_seq_once"
                    " ON events(hall_id, device_id, seq)"
                ),
            ),
        ),
        Migration(
            2,
            "dead letters, device floors, and each event's minor version",
            (
                (
                    "CREATE TABLE dead_letters ("
                    " id INTEGER PRIMARY KEY, hall_id TEXT NOT NULL, device_id TEXT,"
                    " seq INTEGER, event_id TEXT, scope TEXT NOT NULL, reason TEXT NOT NULL,"
                    " detail TEXT NOT NULL, topic TEXT NOT NULL, received_at REAL NOT NULL,"
                    " size INTEGER NOT NULL, sha256 TEXT NOT NULL, payload BLOB NOT NULL,"
                    " UNIQUE (hall_id, sha256))"
                ),
                "CREATE INDEX dead_letters_device_seq ON dead_letters(hall_id, device_id, seq)",
                (
                    "CREATE TABLE device_floors ("
                    " hall_id TEXT NOT NULL, device_id TEXT NOT NULL, floor INTEGER NOT NULL,"
                    " PRIMARY KEY (hall_id, device_id)) WITHOUT ROWID"
                ),
                "ALTER TABLE events ADD COLUMN minor INTEGER NOT NULL DEFAULT 0",
            ),
        ),
        Migration(
            3,
            "events keyed by (hall, device, seq) only; a durability mark",
            (
                (
                    "CREATE TABLE events_v3 ("
                    " event_id TEXT NOT NULL, hall_id TEXT NOT NULL,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
                    " at REAL NOT NULL, payload TEXT NOT NULL,"
                    " minor INTEGER NOT NULL DEFAULT 0)"
                ),
                # The rowids come along: they are the order events were first stored in.
                (
                    "INSERT INTO events_v3(rowid, event_id, hall_id, device_id, seq, kind, at,"
                    " payload, minor) SELECT rowid, event_id, hall_id, device_id, seq, kind, at,"
                    " payload, minor FROM events"
                ),
                "DROP TABLE events",
                "ALTER TABLE events_v3 RENAME TO events",
                "CREATE UNIQUE INDEX events_device_seq_once ON events(hall_id, device_id, seq)",
                (
                    "CREATE TABLE durable_mark ("
                    " id INTEGER PRIMARY KEY CHECK (id = 1), rounds INTEGER NOT NULL)"
                ),
                "INSERT INTO durable_mark(id, rounds) VALUES (1, 0)",
            ),
        ),
    ),
)

#: Every seq a device has covered: stored, or dead-lettered with a readable seq.
_COVERED = (
    "SELECT hall_id, device_id, seq FROM events"
    " UNION SELECT hall_id, device_id, seq FROM dead_letters"
    " WHERE device_id IS NOT NULL AND seq IS NOT NULL"
)


@dataclass(frozen=True)
class DeadLetter:
    """A message, or one event of a batch, that did not pass; kept for a later replay.

    Attributes:
        hall_id: the hall of the topic it came on.
        scope: ``event`` (one event of a batch; kept whole) or ``message`` (the payload as a
            whole; kept up to :data:`collector.dead_letters.KEEP_BYTES`).
        reason: the ``reason`` of its MalformedMessage (501).
        detail: the error's message.
        topic: where it arrived.
        received_at: the receiver's clock when it arrived.
        size: its full size in bytes.
        sha256: hex digest of all of it.
        payload: the bytes kept.
        device_id: its device, when that could be read.
        seq: its seq, when that could be read.
        event_id: its event id, when that could be read.
        id: the row id, once stored.
    """

    hall_id: str
    scope: str
    reason: str
    detail: str
    topic: str
    received_at: float
    size: int
    sha256: str
    payload: bytes
    device_id: str | None = None
    seq: int | None = None
    event_id: str | None = None
    id: int | None = None

    @property
    def truncated(self) -> bool:
        """Whether only the start of it is kept (it cannot be replayed)."""
        return len(self.payload) < self.size


@dataclass(frozen=True)
class Stored:
    """What one :meth:`EventStore.add_batch` (or :meth:`EventStore.add_received`) did.

    Attributes:
        new: events stored now, in batch order.
        duplicates: events already stored (same ``(hall, device, seq)``, same ``event_id``).
        conflicts: events refused because their ``(hall, device, seq)`` is stored under
            another ``event_id``.
        unstorable: events the database refused for another reason (none should be: the
            ingest validates first); the caller dead-letters them.
        dead_new: dead letters stored now (a dead letter already kept is not repeated).
        floors_raised: ``(hall, device) → floor`` for floors that went up.
    """

    new: list[Event]
    duplicates: int
    conflicts: list[Received]
    unstorable: list[Received] = field(default_factory=list)
    dead_new: list[DeadLetter] = field(default_factory=list)
    floors_raised: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Gap:
    """A run of sequence numbers of one device that the store has not seen.

    Attributes:
        hall_id: the hall of the device.
        device_id: the device whose events are missing.
        first: first missing seq.
        last: last missing seq (inclusive).
    """

    hall_id: str
    device_id: str
    first: int
    last: int


_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events(event_id, hall_id, device_id, seq, kind, at, payload, minor)"
    " VALUES (?,?,?,?,?,?,?,?)"
)


def _event_row(r: Received) -> tuple[Any, ...]:
    e = r.event
    return (e.event_id, e.hall_id, e.device_id, e.seq, e.kind, e.at, r.wire, r.minor)


class EventStore:
    """SQLite store of ingested events, safe to share between the ingest thread and readers.

    Args:
        path: database file; created if missing. ``":memory:"`` works for tests.

    Raises:
        JournalTooNew (421): a newer release migrated the database.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # One connection behind a lock: the ingest thread writes, metrics and tests read, and
        # SQLite connections must not be used by two threads at once.
        # Re-entrant: a group of messages (``transaction``) wraps the stores of each.
        self._lock = threading.RLock()
        #: The floors as stored, read once; dropped when a transaction rolls back.
        self._floors_cache: dict[tuple[str, str], int] | None = None
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("PRAGMA cache_size=-65536")
        EVENTS_SCHEMA.apply(self._conn)

    # --- writing ----------------------------------------------------------------------

    def make_durable(self) -> None:
        """Make every commit so far survive a power cut: one small commit with
        ``synchronous=FULL``, whose sync of the write-ahead log covers every frame before it.
        Call it after reading what to announce as stored and before announcing it."""
        with self._lock:
            conn = self._conn
            conn.execute("PRAGMA synchronous=FULL")
            try:
                with atomic(conn):
                    conn.execute("UPDATE durable_mark SET rounds = rounds + 1 WHERE id = 1")
            finally:
                conn.execute("PRAGMA synchronous=NORMAL")

    def add(self, events: list[Event]) -> list[Event]:
        """Store events in one transaction; only the new ones (see :meth:`add_batch`)."""
        return self.add_batch(events).new

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around several :meth:`add_received` calls: they commit together
        (one fsync for all) or not at all. Each call inside is a savepoint of it."""
        with self._lock, self._forget_floors_on_rollback(), atomic(self._conn):
            yield

    @contextmanager
    def _forget_floors_on_rollback(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._floors_cache = None  # it may hold floors the rollback took back
            raise

    def _known_floors(self) -> dict[tuple[str, str], int]:
        if self._floors_cache is None:
            self._floors_cache = self.floors()
        return self._floors_cache

    def add_batch(self, events: list[Event]) -> Stored:
        """Store events in one transaction, skipping any already stored.

        Args:
            events: a decoded batch, possibly containing events stored before.

        Returns:
            The new events in the order given (a duplicate inside the same batch counts
            once), how many were duplicates, and the seq conflicts.
        """
        return self.add_received([received(e) for e in events])

    def add_received(
        self,
        events: Iterable[Received],
        dead: Iterable[DeadLetter] = (),
        floors: dict[tuple[str, str], int] | None = None,
    ) -> Stored:
        """Store what one message brought, in one transaction.

        Args:
            events: valid events, each stored as it arrived (its ``wire`` text).
            dead: dead letters; one already kept (same hall and sha256) is not repeated.
            floors: ``(hall, device) → lowest seq the hall still holds``; a floor only rises.

        Returns:
            What was new. Seq conflicts and unstorable events are *not* dead-lettered here:
            the caller stores them as dead letters with a second call.
        """
        return self.add_group([(list(events), dead, floors)])[0]

    def add_group(
        self,
        messages: list[
            tuple[list[Received], Iterable[DeadLetter], dict[tuple[str, str], int] | None]
        ],
    ) -> list[Stored]:
        """Store what several messages brought, in one transaction; one :class:`Stored` per
        message, as :meth:`add_received` would give it for the message alone.

        The usual group is all new: one ``executemany`` for every event of every message,
        and the change count proves it. Anything else (a redelivery, a conflict) is sorted
        out message by message and event by event, so one message's duplicates never change
        what another's events count as.
        """
        results: list[Stored] = []
        with self._lock, self._forget_floors_on_rollback(), atomic(self._conn) as conn:
            conn.execute("SAVEPOINT whole_group")
            before = conn.total_changes
            rows = [_event_row(r) for events, _, _ in messages for r in events]
            conn.executemany(_INSERT_EVENT, rows)
            all_new = conn.total_changes - before == len(rows)
            conn.execute("RELEASE whole_group" if all_new else "ROLLBACK TO whole_group")
            if not all_new:
                conn.execute("RELEASE whole_group")
            known = self._known_floors()
            rose: dict[tuple[str, str], int] = {}
            for events, dead, floors in messages:
                if all_new:
                    stored = Stored([r.event for r in events], 0, [])
                else:
                    stored = self._one_by_one(conn, events)
                for d in dead:
                    if self._insert_dead(conn, d):
                        stored.dead_new.append(d)
                # Every batch repeats its devices' floors; only a floor that rose is written,
                # once per group (an agent's floors rise with nearly every batch).
                for key, floor in (floors or {}).items():
                    if floor > known.get(key, 0):
                        known[key] = rose[key] = stored.floors_raised[key] = floor
                results.append(stored)
            if rose:
                conn.executemany(
                    "INSERT INTO device_floors(hall_id, device_id, floor) VALUES (?,?,?)"
                    " ON CONFLICT(hall_id, device_id) DO UPDATE"
                    " SET floor=max(floor, excluded.floor)",
                    [(hall, device, floor) for (hall, device), floor in rose.items()],
                )
        return results

    def _one_by_one(self, conn: sqlite3.Connection, events: list[Received]) -> Stored:
        new: list[Event] = []
        conflicts: list[Received] = []
        unstorable: list[Received] = []
        duplicates = 0
        for r in events:
            outcome = self._insert(conn, r)
            if outcome == "new":
                new.append(r.event)
            elif outcome == "duplicate":
                duplicates += 1
            elif outcome == "conflict":
                conflicts.append(r)
            else:
                unstorable.append(r)
        return Stored(new, duplicates, conflicts, unstorable)

    @staticmethod
    def _insert(conn: sqlite3.Connection, r: Received) -> str:
        e = r.event
        cur = conn.execute(_INSERT_EVENT, _event_row(r))
        if cur.rowcount == 1:
            return "new"
        taken = conn.execute(
            "SELECT event_id FROM events WHERE hall_id=? AND device_id=? AND seq=?",
            (e.hall_id, e.device_id, e.seq),
        ).fetchone()
        if taken is None:
            # The key is free, yet the row was ignored: a NOT NULL broke (a NaN time is stored
            # as NULL). The ingest's checks make this impossible; it is never a conflict.
            return "unstorable"
        return "duplicate" if taken[0] == e.event_id else "conflict"

    @staticmethod
    def _insert_dead(conn: sqlite3.Connection, d: DeadLetter) -> bool:
        cur = conn.execute(
            "INSERT OR IGNORE INTO dead_letters(hall_id, device_id, seq, event_id, scope,"
            " reason, detail, topic, received_at, size, sha256, payload)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                d.hall_id, d.device_id, d.seq, d.event_id, d.scope, d.reason, d.detail,
                d.topic, d.received_at, d.size, d.sha256, d.payload,
            ),
        )
        return cur.rowcount == 1

    def delete_dead_letter(self, dead_letter_id: int) -> None:
        """Forget one dead letter (after its content was stored otherwise)."""
        with self._lock, atomic(self._conn) as conn:
            conn.execute("DELETE FROM dead_letters WHERE id=?", (dead_letter_id,))

    # --- reading ----------------------------------------------------------------------

    def highest_seqs(self) -> dict[tuple[str, str], int]:
        """The highest covered seq per (hall, device): stored or dead-lettered."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT hall_id, device_id, MAX(seq) FROM ({_COVERED})"
                " GROUP BY hall_id, device_id"
            ).fetchall()
        return {(h, d): int(s) for h, d, s in rows}

    def floors(self) -> dict[tuple[str, str], int]:
        """Per (hall, device), the highest floor a batch announced."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hall_id, device_id, floor FROM device_floors"
            ).fetchall()
        return {(h, d): int(f) for h, d, f in rows}

    def halls(self) -> list[str]:
        """Every hall with a stored event or a dead letter, sorted."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hall_id FROM events UNION SELECT hall_id FROM dead_letters ORDER BY 1"
            ).fetchall()
        return [h for (h,) in rows]

    def ingest_order(self, hall_id: str) -> list[tuple[str, int]]:
        """(device, seq) of a hall's events in the order they were first stored."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, seq FROM events WHERE hall_id=? ORDER BY rowid", (hall_id,)
            ).fetchall()
        return [(d, int(s)) for d, s in rows]

    def count(self, hall_id: str | None = None) -> int:
        """Number of distinct events stored, for one hall or all."""
        sql, args = "SELECT COUNT(*) FROM events", ()
        if hall_id is not None:
            sql, args = "SELECT COUNT(*) FROM events WHERE hall_id=?", (hall_id,)
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def stored_ids(self, event_ids: Iterable[str]) -> set[str]:
        """Which of these event ids are stored (a scan: event ids have no index; for tests and
        tools, not the ingest path)."""
        ids = list(dict.fromkeys(event_ids))
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in self._conn.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
                ))
        return found

    def count_by_kind(self, hall_id: str) -> dict[str, int]:
        """Events of a hall per kind, e.g. ``{"ticket.issued": 12, ...}``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT kind, COUNT(*) FROM events WHERE hall_id=? GROUP BY kind", (hall_id,)
            ).fetchall()
        return {k: int(n) for k, n in rows}

    def unfamiliar_counts(
        self, minor: int
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """Stored events this program does not fully know, per (hall, kind).

        Args:
            minor: the newest minor version this program knows.

        Returns:
            Events of unknown kinds, and events of a newer minor version.
        """
        known = sorted(Kind.ALL)
        marks = ",".join("?" * len(known))
        with self._lock:
            unknown = self._conn.execute(
                f"SELECT hall_id, kind, COUNT(*) FROM events WHERE kind NOT IN ({marks})"
                " GROUP BY hall_id, kind",
                known,
            ).fetchall()
            newer = self._conn.execute(
                "SELECT hall_id, kind, COUNT(*) FROM events WHERE minor > ?"
                " GROUP BY hall_id, kind",
                (minor,),
            ).fetchall()
        return ({(h, k): int(n) for h, k, n in unknown}, {(h, k): int(n) for h, k, n in newer})

    def all_events(self, hall_id: str) -> list[Event]:
        """Every stored event of a hall, ordered by (device, seq).

        Rows that are not events at all (written by a program before this one checked what it
        stored) are left out; :meth:`stored_payloads` has them.
        """
        return [e for e in map(read_stored, self.stored_payloads(hall_id)) if e is not None]

    def last_rowid(self) -> int:
        """The row id of the event stored last (0 for none): where a reader of new events
        starts (:meth:`stored_after`)."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(rowid) FROM events").fetchone()
        return int(row[0] or 0)

    def stored_after(self, rowid: int, limit: int) -> tuple[list[int], list[Event]]:
        """Events committed after row ``rowid``, in the order they were stored, at most
        ``limit``: their row ids, and the events (rows that are no event are left out).

        Row ids only grow (events are never deleted, and a rolled-back group's ids were never
        visible), so a reader that keeps the last id it saw reads each event once."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, payload FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (rowid, limit),
            ).fetchall()
        ids = [int(r) for r, _ in rows]
        return ids, [e for _, p in rows if (e := read_stored(str(p))) is not None]

    def events_since(self, hall_id: str, since: float) -> list[Event]:
        """A hall's stored events at or after hall time ``since`` (a wall screen's day so
        far), as :meth:`all_events` reads them. The hall's rows are found by the
        ``(hall, device, seq)`` index and their times filtered."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT payload FROM events WHERE hall_id=? AND at>=?", (hall_id, since)
            ).fetchall()
        return [e for (p,) in rows if (e := read_stored(str(p))) is not None]

    def stored_payloads(self, hall_id: str) -> list[str]:
        """The stored text of every event of a hall, ordered by (device, seq)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT payload FROM events WHERE hall_id=? ORDER BY device_id, seq", (hall_id,)
            ).fetchall()
        return [str(p) for (p,) in rows]

    def contiguous_seq(self, hall_id: str, device_id: str) -> int:
        """The highest seq n such that seqs 1..n of the device are all covered (0 if none)."""
        firsts = [g.first for g in self.gaps() if (g.hall_id, g.device_id) == (hall_id, device_id)]
        if firsts:
            return min(firsts) - 1
        top = self.highest_seqs().get((hall_id, device_id), 0)
        floor = self.floors().get((hall_id, device_id), 1)
        return max(top, floor - 1)

    def gaps(self, include_lost: bool = False) -> list[Gap]:
        """Missing seq runs per device, below each device's highest covered seq.

        A seq is covered when its event is stored or dead-lettered. Seqs below the device's
        floor can never arrive: they are lost, not missing, and left out unless
        ``include_lost``. Events after the highest covered seq are invisible to the store, so
        a gap here means "a later event arrived, an earlier one did not (yet)".
        """
        with self._lock:
            rows = self._conn.execute(
                f"""
                SELECT hall_id, device_id, prev + 1, seq - 1 FROM (
                    SELECT hall_id, device_id, seq,
                           COALESCE(LAG(seq) OVER (PARTITION BY hall_id, device_id ORDER BY seq), 0)
                               AS prev
                    FROM ({_COVERED})
                ) WHERE seq - prev > 1
                ORDER BY hall_id, device_id, seq
                """
            ).fetchall()
        floors = {} if include_lost else self.floors()
        found = []
        for h, d, a, b in rows:
            first = max(int(a), floors.get((h, d), 1))
            if first <= int(b):
                found.append(Gap(h, d, first, int(b)))
        return found

    # --- dead letters -----------------------------------------------------------------

    def dead_letters(
        self, hall_id: str | None = None, limit: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, oldest first."""
        sql = (
            "SELECT id, hall_id, device_id, seq, event_id, scope, reason, detail, topic,"
            " received_at, size, sha256, payload FROM dead_letters"
        )
        args: list[object] = []
        if hall_id is not None:
            sql += " WHERE hall_id=?"
            args.append(hall_id)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            DeadLetter(
                hall_id=h, scope=scope, reason=reason, detail=detail, topic=topic,
                received_at=float(at), size=int(size), sha256=sha, payload=bytes(payload),
                device_id=device, seq=None if seq is None else int(seq), event_id=eid, id=int(i),
            )
            for i, h, device, seq, eid, scope, reason, detail, topic, at, size, sha, payload in rows
        ]

    def dead_letter_counts(self) -> dict[str, dict[str, int]]:
        """Dead letters kept per hall and reason."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hall_id, reason, COUNT(*) FROM dead_letters GROUP BY hall_id, reason"
            ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for hall, reason, n in rows:
            counts.setdefault(hall, {})[reason] = int(n)
        return counts

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

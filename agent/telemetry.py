"""Telemetry samples on the edge: group-committed, bounded, thinned oldest-first.

Samples (journal backlog, free disk, a printer's paper level ...) are not citizen-visible, so
they get the cheap durability class (``docs/agent.md``): :class:`TelemetryRecorder` keeps
readings in memory and commits them together, about once a second, on its own connection with
``synchronous=NORMAL``. A crash loses at most the readings of the last interval; it never
costs a ticket an fsync, and never touches the events' outbox.

Under a long outage the unsent samples are bounded by the hall's retention policy
(:class:`hallstore.retention.RetentionPolicy`):

1. Beyond ``telemetry_downsample_rows`` unsent rows, the oldest single readings are merged
   into one aggregate per device, metric and minute (mean, min, max, count).
2. Beyond ``telemetry_max_rows``, the oldest rows (by reading time) are dropped.
3. When the disk is within twice the transactions' reserve, new readings are dropped instead
   of written: telemetry never eats the room kept for citizens' transactions.

Every reading merged or dropped is counted in ``telemetry_counters``; the publisher sends the
totals with each telemetry batch, so the collector knows how much was thinned out.

The oldest rows are what the publisher may have in flight; thinning skips them
(``PUBLISH_GUARD_ROWS``) so that no reading reaches the collector both alone and inside an
aggregate.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.periodic import Periodic
from core.sqlite_tx import atomic
from core.telemetry import Sample
from hallstore import journal, retention

log = logging.getLogger(__name__)

#: Seconds of readings merged into one aggregate.
BUCKET_S = 60
#: Telemetry rows one publisher message carries, and messages it keeps in flight.
PUBLISH_BATCH_ROWS = 500
PUBLISH_INFLIGHT = 4
#: Rows at the head of the table that thinning leaves alone: twice the publisher's window.
PUBLISH_GUARD_ROWS = 2 * PUBLISH_BATCH_ROWS * PUBLISH_INFLIGHT
#: New readings are refused below this many times the transactions' reserve of free room.
ROOM_FACTOR = 2


@dataclass(frozen=True)
class Thinning:
    """What one pass of :func:`thin` did.

    Attributes:
        downsampled: readings merged into aggregates.
        dropped: readings dropped (an aggregate counts for all it stood for).
    """

    downsampled: int = 0
    dropped: int = 0


def thin(conn: sqlite3.Connection, policy: retention.RetentionPolicy) -> Thinning:
    """Bound the unsent telemetry by the policy. Call inside a write transaction."""
    rows = unsent(conn)
    downsampled = dropped = 0
    if rows > policy.telemetry_downsample_rows:
        downsampled = _downsample(conn, rows - policy.telemetry_downsample_rows // 2)
        rows = unsent(conn)
    if rows > policy.telemetry_max_rows:
        # Down to 90 % of the cap, so that the next flushes do not drop a few rows each.
        dropped = _drop_oldest(conn, rows - policy.telemetry_max_rows * 9 // 10)
    return Thinning(downsampled, dropped)


def _guard_row(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT row_ FROM telemetry ORDER BY row_ LIMIT 1 OFFSET ?", (PUBLISH_GUARD_ROWS,)
    ).fetchone()
    return int(row[0]) if row else -1


def _downsample(conn: sqlite3.Connection, wanted: int) -> int:
    """Merge the oldest single readings past the guard, about ``wanted`` of them."""
    guard = _guard_row(conn)
    if guard < 0:
        return 0
    last = conn.execute(
        "SELECT MAX(row_) FROM (SELECT row_ FROM telemetry WHERE row_ > ? AND aggregated = 0"
        " ORDER BY row_ LIMIT ?)",
        (guard, wanted),
    ).fetchone()[0]
    if last is None:
        return 0
    span = (guard, last)
    # Aggregates get new row ids, after every row a publisher may already have read, so an
    # acknowledgement's range delete can never remove one unsent. Telemetry order is by
    # reading time, which every sample carries, not by row. An aggregate is dated by its
    # first reading: a minute merged in two passes gives two aggregates with different
    # dates, which the collector's (device, metric, at, n) key keeps apart.
    conn.execute(
        "INSERT INTO telemetry(device_id, metric, at, value, vmin, vmax, n, aggregated)"
        " SELECT device_id, metric, MIN(at),"
        " MIN(MAX(SUM(value * n) / SUM(n), MIN(vmin)), MAX(vmax)),"
        " MIN(vmin), MAX(vmax), SUM(n), 1"
        " FROM telemetry WHERE row_ > ? AND row_ <= ? AND aggregated = 0"
        " GROUP BY device_id, metric, CAST(at / ? AS INTEGER)",
        (*span, BUCKET_S),
    )
    merged = conn.execute(
        "DELETE FROM telemetry WHERE row_ > ? AND row_ <= ? AND aggregated = 0", span
    ).rowcount
    return int(merged)


def _drop_oldest(conn: sqlite3.Connection, excess: int) -> int:
    """Drop the ``excess`` rows with the oldest readings; returns the readings they held."""
    oldest = "SELECT row_ FROM telemetry ORDER BY at LIMIT ?"
    readings = conn.execute(
        f"SELECT COALESCE(SUM(n), 0) FROM telemetry WHERE row_ IN ({oldest})", (excess,)
    ).fetchone()[0]
    conn.execute(f"DELETE FROM telemetry WHERE row_ IN ({oldest})", (excess,))
    return int(readings)


def unsent(conn: sqlite3.Connection) -> int:
    """Telemetry rows not yet acknowledged by the broker."""
    return int(conn.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0])


def add_to_counters(conn: sqlite3.Connection, **amounts: int) -> None:
    """Add to the persistent counters. Call inside a write transaction."""
    conn.executemany(
        "INSERT INTO telemetry_counters(name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        [(name, amount) for name, amount in amounts.items() if amount],
    )


def counters(conn: sqlite3.Connection) -> dict[str, int]:
    """Totals since the database was made: ``recorded``, ``downsampled``, ``dropped``."""
    found = dict(conn.execute("SELECT name, value FROM telemetry_counters"))
    return {name: int(found.get(name, 0)) for name in ("recorded", "downsampled", "dropped")}


def pending_samples(
    conn: sqlite3.Connection, limit: int, after_row: int = 0
) -> list[tuple[int, Sample]]:
    """The oldest unsent samples as (row, sample), for the publisher."""
    rows = conn.execute(
        "SELECT row_, device_id, metric, at, value, n, vmin, vmax FROM telemetry"
        " WHERE row_ > ? ORDER BY row_ LIMIT ?",
        (after_row, limit),
    ).fetchall()
    return [(int(r[0]), Sample(r[1], r[2], r[3], r[4], r[5], r[6], r[7])) for r in rows]


def acknowledge_samples(conn: sqlite3.Connection, rows: list[int]) -> None:
    """Delete samples the broker acknowledged: the rows of one :func:`pending_samples` read.

    One range delete, as for events: ``AUTOINCREMENT`` gives rows written later (aggregates
    included) higher ids than any read before.
    """
    if not rows:
        return
    with atomic(conn):
        conn.execute("DELETE FROM telemetry WHERE row_ BETWEEN ? AND ?", (rows[0], rows[-1]))


class TelemetryRecorder:
    """Record readings now, commit them together later.

    Args:
        db_path: the hall database.
        flush_interval: seconds between group commits of the background thread.
        max_buffer: readings held in memory while the disk cannot take them; beyond it the
            oldest are dropped (and counted at the next successful flush).
        clock: the time source for readings recorded without a time.

    :meth:`record` never touches the disk, so a device loop can call it at any rate.
    """

    def __init__(
        self,
        db_path: Path | str,
        flush_interval: float = 1.0,
        max_buffer: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db_path = str(db_path)
        self.flush_interval = flush_interval
        self.clock = clock
        self._buffer: deque[Sample] = deque(maxlen=max_buffer)
        self._lost_in_memory = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._timer = Periodic("telemetry", flush_interval, self.flush)

    def record(self, device_id: str, metric: str, value: float, at: float | None = None) -> None:
        """Keep one reading for the next group commit."""
        sample = Sample(device_id, metric, self.clock() if at is None else at, float(value))
        with self._lock:
            if len(self._buffer) == self._buffer.maxlen:
                self._lost_in_memory += 1
            self._buffer.append(sample)

    def buffered(self) -> int:
        """Readings recorded and not yet committed."""
        with self._lock:
            return len(self._buffer)

    def flush(self) -> Thinning:
        """Commit every buffered reading in one transaction, then bound the table.

        Returns:
            What thinning did in this commit. Readings refused for lack of room count as
            dropped. If the commit itself fails (a full disk), the readings are counted as
            dropped at the next commit that succeeds; the error is logged, not raised,
            because telemetry must never stop the device that measures.
        """
        with self._flush_lock:
            with self._lock:
                batch = list(self._buffer)
                self._buffer.clear()
                lost, self._lost_in_memory = self._lost_in_memory, 0
            try:
                return self._commit(batch, lost)
            except sqlite3.Error as err:
                with self._lock:
                    self._lost_in_memory += lost + len(batch)
                log.warning("telemetry commit failed, %d readings lost: %s", len(batch), err)
                return Thinning(dropped=lost + len(batch))

    def _commit(self, batch: list[Sample], lost: int) -> Thinning:
        conn = self._connection()
        policy = retention.get_policy(conn)
        with atomic(conn):
            refused = 0
            if batch and retention.room_bytes(conn) < ROOM_FACTOR * policy.reserve_bytes:
                refused, batch = len(batch), []
            conn.executemany(
                "INSERT INTO telemetry(device_id, metric, at, value, vmin, vmax)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(s.device_id, s.metric, s.at, s.value, s.value, s.value) for s in batch],
            )
            done = thin(conn, policy)
            dropped = lost + refused + done.dropped
            add_to_counters(
                conn, recorded=len(batch) + refused + lost, downsampled=done.downsampled,
                dropped=dropped,
            )
        if refused:
            log.warning("disk nearly full: %d telemetry readings dropped", refused)
        return Thinning(done.downsampled, dropped)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = journal.connect(self.db_path)
            # Group commit: a power cut may lose the last interval of readings, never
            # corrupt the file (WAL), and costs no fsync per reading.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    def start(self) -> None:
        """Commit in the background every ``flush_interval`` seconds."""
        self._timer.start()

    def stop(self) -> None:
        """Stop the background commits and commit what is buffered."""
        self._timer.stop()
        self.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

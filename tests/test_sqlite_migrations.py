"""The one transaction helper and the one migration mechanism of every database
(``core/sqlite_tx.py``, ``core/sqlite_migrations.py``), and the collector's and the remote
store's databases of the previous release upgraded in place."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.remote_store import REMOTE_SCHEMA, RemoteStore
from collector.store import EVENTS_SCHEMA, EventStore
from collector.telemetry_store import TELEMETRY_SCHEMA, TelemetryStore
from core.errors import JournalTooNew
from core.events import Event, Kind
from core.sqlite_migrations import LEDGER, RETIRED_LEDGER_VERSION, Migration, Migrations
from core.sqlite_tx import atomic


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(":memory:", isolation_level=None)
    c.execute("CREATE TABLE t (x INTEGER)")
    yield c
    c.close()


def rows(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")]


# --- atomic ------------------------------------------------------------------------------


def test_atomic_commits_the_block_or_nothing(conn: sqlite3.Connection):
    with atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(KeyboardInterrupt):
        with atomic(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise KeyboardInterrupt
    assert rows(conn) == [1]
    assert not conn.in_transaction


def test_a_nested_atomic_rolls_back_only_itself(conn: sqlite3.Connection):
    with atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError):
            with atomic(conn):
                conn.execute("INSERT INTO t VALUES (2)")
                raise ValueError
        with atomic(conn):
            conn.execute("INSERT INTO t VALUES (3)")
    assert rows(conn) == [1, 3]


def test_a_commit_that_fails_is_rolled_back(conn: sqlite3.Connection):
    """A deferred foreign key fails at COMMIT, which leaves SQLite's transaction open;
    atomic() closes it, so the connection can begin the next one."""
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError):
        with atomic(conn):
            conn.execute("INSERT INTO child VALUES (42)")
    assert not conn.in_transaction
    with atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert rows(conn) == [1]


def test_atomic_refuses_a_connection_with_implicit_transactions():
    implicit = sqlite3.connect(":memory:")
    with pytest.raises(ValueError):
        atomic(implicit)
    implicit.close()


# --- migrations --------------------------------------------------------------------------

FIRST = Migration(1, "t1", ("CREATE TABLE a (x)",))
SECOND = Migration(2, "t2", ("CREATE TABLE b (x)",))


def test_pending_and_applied_only_read(conn: sqlite3.Connection):
    schema = Migrations("demo", (FIRST, SECOND))
    before = conn.execute("SELECT name FROM sqlite_master").fetchall()
    assert schema.pending(conn) == [FIRST, SECOND]
    assert schema.applied(conn) == []
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == before
    assert schema.apply(conn, stop_before=2) == [1]
    assert [a.version for a in schema.applied(conn)] == [1]
    assert schema.pending(conn) == [SECOND]
    assert schema.apply(conn) == [2]
    assert schema.apply(conn) == []


def test_several_schemas_share_one_ledger(conn: sqlite3.Connection):
    one = Migrations("one", (FIRST,))
    two = Migrations("two", (Migration(1, "other", ("CREATE TABLE c (x)",)),))
    assert one.apply(conn) == [1]
    assert two.apply(conn) == [1]
    ledger = conn.execute(f"SELECT schema, version FROM {LEDGER} ORDER BY 1").fetchall()
    assert ledger == [("one", 1), ("two", 1)]


def test_a_version_the_program_does_not_know_is_refused(conn: sqlite3.Connection):
    Migrations("demo", (FIRST, SECOND)).apply(conn)
    with pytest.raises(JournalTooNew) as caught:
        Migrations("demo", (FIRST,)).apply(conn)
    assert caught.value.details == {"schema": "demo", "version": 2, "known": 1}


def test_versions_must_increase():
    with pytest.raises(ValueError):
        Migrations("demo", (SECOND, FIRST))


def test_two_processes_starting_together_apply_each_step_once(tmp_path: Path):
    """Each runner re-reads the ledger under the write lock, so the loser finds it done."""
    path = tmp_path / "shared.db"
    slow = Migrations(
        "demo",
        (
            Migration(
                1,
                "slow",
                (
                    "CREATE TABLE a (x)",
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                    " WHERE i < 200000) INSERT INTO a SELECT i FROM n",
                ),
            ),
        ),
    )
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        c = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            results.append(slow.apply(c))
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)
        finally:
            c.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results) == [[], [1]]


# --- databases of the previous release ---------------------------------------------------

#: The collector database as the previous release made it (both stores, no ledger).
TODAY_COLLECTOR_DDL = """
CREATE TABLE events (
    event_id  TEXT PRIMARY KEY,
    hall_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    at        REAL NOT NULL,
    payload   TEXT NOT NULL
);
CREATE UNIQUE INDEX events_device_seq_once ON events(hall_id, device_id, seq);
CREATE TABLE samples (
    hall_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    metric    TEXT NOT NULL,
    at        REAL NOT NULL,
    n         INTEGER NOT NULL,
    value     REAL NOT NULL,
    vmin      REAL NOT NULL,
    vmax      REAL NOT NULL,
    PRIMARY KEY (hall_id, device_id, metric, at, n)
) WITHOUT ROWID;
CREATE TABLE telemetry_thinning (
    hall_id     TEXT PRIMARY KEY,
    dropped     INTEGER NOT NULL,
    downsampled INTEGER NOT NULL
);
"""


def test_a_collector_database_of_the_previous_release_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "collector.db"
    e = Event(Kind.WINDOW_OPENED, "hall-demo", "pad-1", 1, 0.0, {"window": 1})
    with sqlite3.connect(path) as old:
        old.executescript(TODAY_COLLECTOR_DDL)
        old.execute(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
            (e.event_id, e.hall_id, e.device_id, e.seq, e.kind, e.at, e.to_json()),
        )
        old.execute("INSERT INTO samples VALUES ('hall-demo', 'hb', 'cpu', 1.0, 1, 2.0, 2.0, 2.0)")
        old.execute("INSERT INTO telemetry_thinning VALUES ('hall-demo', 3, 4)")
    events, telemetry = EventStore(path), TelemetryStore(path)
    try:
        assert events.all_events("hall-demo") == [e]
        assert events.add([e]) == []  # still deduplicated by the adopted keys
        assert telemetry.readings("hall-demo", "hb", "cpu") == [(1.0, 2.0, 1)]
        assert telemetry.thinned()["hall-demo"].dropped == 3
    finally:
        events.close()
        telemetry.close()
    with sqlite3.connect(path) as conn:
        assert EVENTS_SCHEMA.pending(conn) == [] and TELEMETRY_SCHEMA.pending(conn) == []
        ledger = conn.execute(f"SELECT schema, version FROM {LEDGER} ORDER BY 1").fetchall()
    # Versions 2 (dead letters, floors, minor) and 3 (keyed by seq only) run on the adopted
    # database.
    assert ledger == [
        ("collector.events", 1),
        ("collector.events", 2),
        ("collector.events", 3),
        ("collector.telemetry", 1),
    ]


def test_a_remote_store_of_the_previous_release_keeps_its_records(tmp_path: Path):
    """The remote store's old ``schema_migrations`` is adopted, its rows kept."""
    path = tmp_path / "hall.remote.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        old.execute("INSERT INTO schema_migrations VALUES (1, 'remote', 5.0)")
        for statement in REMOTE_SCHEMA.steps[0].statements:
            old.execute(statement)
        old.execute("INSERT INTO settings VALUES ('power_schedule', '\"08:00-18:00\"')")
    store = RemoteStore(path)
    try:
        assert store.setting("power_schedule") == "08:00-18:00"
        assert [(a.version, a.applied_at) for a in REMOTE_SCHEMA.applied(store.conn)] == [(1, 5.0)]
    finally:
        store.close()
    # Up to date, nothing ran, so the old ledger is still as it was: adoption waits for the
    # next step. A new store gets the ledger and the retired old one at once.
    fresh = RemoteStore(tmp_path / "new.remote.db")
    try:
        retired = fresh.conn.execute("SELECT version FROM schema_migrations").fetchall()
        assert retired == [(RETIRED_LEDGER_VERSION,)]
    finally:
        fresh.close()

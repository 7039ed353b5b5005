"""The hall store: any flow commits its state and its event in one transaction, seqs per
device, old hall databases upgraded in place, and a health change travelling from the store
through the publisher and a real Mosquitto into the collector."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.publisher import Publisher
from collector.ingest import Ingestor
from core.clock import SimClock
from core.events import Event, Kind
from core.sqlite_migrations import LEDGER, RETIRED_LEDGER_VERSION
from devices.health import Health, HealthState, Reason
from flows.health_events import HealthJournal, last_journaled
from flows.queue import HallQueue
from hallstore import HallStore, journal
from hallstore.schema import HALL_SCHEMA
from tests.brokers import MosquittoUnderTest, wait_until
from tests.conftest import HALL_OPENS

HALL = "hall-demo"

#: A hall database as the release before the hall store made it: the journal's migrations 1–5
#: recorded in ``schema_migrations``, and the queue's tables created by the queue itself
#: (``sqlite_master`` of a fresh database, copied as it was).
TODAY_HALL_DDL = [
    "CREATE TABLE schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)",
    "CREATE TABLE device_seq ( device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)",
    "CREATE TABLE journal_settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE telemetry ( row_ INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,"
    " metric TEXT NOT NULL, at REAL NOT NULL, value REAL NOT NULL, vmin REAL NOT NULL,"
    " vmax REAL NOT NULL, n INTEGER NOT NULL DEFAULT 1, aggregated INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX telemetry_at ON telemetry(at)",
    "CREATE TABLE telemetry_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    'CREATE TABLE "outbox" ( rowid_ INTEGER PRIMARY KEY, event_id TEXT NOT NULL,'
    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)",
    """CREATE TABLE tickets (
    ticket_id   TEXT PRIMARY KEY,
    day         TEXT NOT NULL,
    service     TEXT NOT NULL,
    ticket_no   TEXT NOT NULL,
    issued_at   REAL NOT NULL,
    issued_by   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('waiting','called','finished','skipped')),
    window_no   INTEGER,
    called_at   REAL,
    finished_at REAL,
    call_count  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (day, ticket_no)
)""",
    "CREATE INDEX tickets_waiting ON tickets(state, service, issued_at)",
    """CREATE TABLE ticket_counter (
    day    TEXT NOT NULL,
    prefix TEXT NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (day, prefix)
)""",
    """CREATE TABLE open_windows (
    window_no INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    staff_id  TEXT NOT NULL,
    opened_at REAL NOT NULL
)""",
]

TODAY_LEDGER = [
    (1, "outbox and per-device sequence"),
    (2, "journal settings shared by every process of the hall box"),
    (3, "outbox without the event_id index"),
    (4, "telemetry samples and their drop counters"),
    (5, "outbox without AUTOINCREMENT"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HallStore]:
    s = HallStore.open(tmp_path / "hall.db", HALL)
    yield s
    s.close()


def outbox(conn: sqlite3.Connection) -> list[Event]:
    return [p.event for p in journal.pending(conn, 10_000)]


def paper_out(device: str = "printer-1") -> Health:
    return Health(device, HealthState.ERROR, (Reason.PAPER_OUT,), 310)


# --- the journal writer -------------------------------------------------------------------


def test_a_flow_commits_its_state_and_its_event_together(store: HallStore):
    """GIVEN a flow table of its own WHEN the flow writes a row and journals an event in one
    transaction THEN both are on disk, with the event as the collector will receive it."""
    store.conn.execute("CREATE TABLE lamp (device_id TEXT PRIMARY KEY, on_ INTEGER)")
    with store.transaction() as tx:
        tx.conn.execute("INSERT INTO lamp VALUES ('lamp-1', 1)")
        event = tx.journal(Kind.WINDOW_OPENED, "lamp-1", {"on": True}, at=HALL_OPENS)
    assert store.conn.execute("SELECT on_ FROM lamp").fetchall() == [(1,)]
    assert outbox(store.conn) == [event]
    assert (event.hall_id, event.device_id, event.seq, event.at) == (HALL, "lamp-1", 1, HALL_OPENS)


def test_an_unknown_kind_never_reaches_the_outbox(store: HallStore):
    """The collector rejects a batch whole for one unknown kind; the writer refuses it first."""
    with pytest.raises(ValueError, match="lamp.switched"):
        with store.transaction() as tx:
            tx.journal("lamp.switched", "lamp-1", {}, at=HALL_OPENS)
    assert journal.backlog(store.conn) == 0


def test_stored_rows_are_deleted_exactly_and_the_highest_row_left_is_told(store: HallStore):
    """``delete_stored`` removes exactly the rows given (runs of consecutive ids as one range
    each), in one transaction, and returns the highest row id left: 0 once the outbox is
    empty, after which new rows start low again."""
    for n in range(1, 11):
        with store.transaction() as tx:
            tx.journal(Kind.WINDOW_OPENED, f"pad-{n % 2}", {"n": n}, at=HALL_OPENS + n)
    rows = journal.pending_rows(store.conn, 100)
    assert [r[0] for r in rows] == list(range(1, 11))
    assert [(d, q) for _, d, q, _ in rows][:3] == [("pad-1", 1), ("pad-0", 1), ("pad-1", 2)]
    assert journal.delete_stored(store.conn, [9, 2, 3, 4, 7]) == 10
    assert [r[0] for r in journal.pending_rows(store.conn, 100)] == [1, 5, 6, 8, 10]
    assert journal.delete_stored(store.conn, [10, 8]) == 6
    assert journal.delete_stored(store.conn, []) == 6
    assert journal.delete_stored(store.conn, [1, 5, 6]) == 0
    with store.transaction() as tx:
        tx.journal(Kind.WINDOW_OPENED, "pad-1", {"n": 11}, at=HALL_OPENS + 11)
    assert [r[0] for r in journal.pending_rows(store.conn, 100)] == [1]
    assert not store.conn.in_transaction


def test_an_exception_in_the_transaction_leaves_neither_state_nor_event(store: HallStore):
    """The state row, the outbox row and the seq counter roll back together."""
    store.conn.execute("CREATE TABLE lamp (device_id TEXT PRIMARY KEY, on_ INTEGER)")
    with pytest.raises(RuntimeError, match="bulb"):
        with store.transaction() as tx:
            tx.conn.execute("INSERT INTO lamp VALUES ('lamp-1', 1)")
            tx.journal(Kind.WINDOW_OPENED, "lamp-1", {"on": True}, at=HALL_OPENS)
            raise RuntimeError("bulb burnt out before the commit")
    assert store.conn.execute("SELECT COUNT(*) FROM lamp").fetchone()[0] == 0
    assert outbox(store.conn) == []
    assert not store.conn.in_transaction
    with store.transaction() as tx:
        assert tx.journal(Kind.WINDOW_OPENED, "lamp-1", {"on": True}, at=HALL_OPENS).seq == 1


def test_seqs_run_per_device_and_survive_a_reopen(tmp_path: Path):
    """Each device counts 1, 2, 3 … on its own; a new store on the same file goes on."""
    path = tmp_path / "hall.db"
    store = HallStore.open(path, HALL)
    with store.transaction() as tx:
        devices = ("a", "b", "a", "a", "b")
        seqs = [tx.journal(Kind.WINDOW_OPENED, d, {}, at=0.0).seq for d in devices]
    store.close()
    assert seqs == [1, 1, 2, 3, 2]
    store = HallStore.open(path, HALL)
    try:
        with store.transaction() as tx:
            assert tx.journal(Kind.WINDOW_OPENED, "a", {}, at=0.0).seq == 4
        assert [(e.device_id, e.seq) for e in outbox(store.conn)] == [
            ("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 4)
        ]
    finally:
        store.close()


def test_a_nested_transaction_is_a_savepoint_of_the_outer_one(store: HallStore):
    """A failing inner block undoes only itself; the outer one still commits."""
    with store.transaction() as outer:
        first = outer.journal(Kind.WINDOW_OPENED, "kiosk-1", {"n": 1}, at=0.0)
        with pytest.raises(ValueError):
            with store.transaction() as inner:
                inner.journal(Kind.WINDOW_OPENED, "kiosk-1", {"n": 2}, at=0.0)
                raise ValueError("inner step refused")
        last = outer.journal(Kind.WINDOW_OPENED, "kiosk-1", {"n": 3}, at=0.0)
    assert outbox(store.conn) == [first, last]
    assert [first.seq, last.seq] == [1, 2]


def test_the_queue_and_another_flow_share_one_store(store: HallStore):
    """The queue takes the store; a health report of the same process goes through it too."""
    from core.config import load_hall_config

    clock = SimClock(HALL_OPENS)
    queue = HallQueue(store, load_hall_config(), clock)
    health = HealthJournal(queue.store, clock)
    queue.issue("social", "kiosk-1")
    assert health.record(paper_out())
    assert [e.kind for e in outbox(store.conn)] == [Kind.TICKET_ISSUED, Kind.DEVICE_HEALTH]
    with pytest.raises(ValueError):
        HallQueue(HallStore(store.conn, "hall-other"), load_hall_config(), clock)


# --- device health through the store -----------------------------------------------------


def test_health_is_not_journaled_again_after_a_restart(tmp_path: Path):
    """The last journaled health is in the hall database, so a restarted kiosk that finds the
    printer still out of paper says nothing new, and says it when the paper is back."""
    path = tmp_path / "hall.db"
    clock = SimClock(HALL_OPENS)
    store = HallStore.open(path, HALL)
    assert HealthJournal(store, clock).record(paper_out())
    assert not HealthJournal(store, clock).record(paper_out())
    store.close()

    store = HallStore.open(path, HALL)  # the kiosk process restarts
    try:
        restarted = HealthJournal(store, clock)
        assert not restarted.record(paper_out())
        assert restarted.record(Health.ok("printer-1"))
        kinds = [(e.kind, e.data["state"], e.seq) for e in outbox(store.conn)]
        assert kinds == [(Kind.DEVICE_HEALTH, "error", 1), (Kind.DEVICE_HEALTH, "ok", 2)]
        assert last_journaled(store.conn, "printer-1") == Health.ok("printer-1")
        row = store.conn.execute("SELECT seq, at FROM device_health").fetchone()
        assert row == (2, HALL_OPENS)
    finally:
        store.close()


def test_a_first_bare_unknown_is_not_news(store: HallStore):
    health = HealthJournal(store, SimClock(HALL_OPENS))
    assert not health.record(Health.unknown("pad-1"))
    assert health.record(Health("pad-1", HealthState.UNKNOWN, (Reason.TIMEOUT,), 303))
    assert outbox(store.conn)[0].data == {
        "device": "pad-1", "state": "unknown", "reasons": ["timeout"], "code": 303
    }


def test_a_health_report_that_fails_to_commit_leaves_neither_row_nor_event(store: HallStore):
    """The event is journaled first; when the state row then cannot be written, the event
    goes too, and the next report of the same health is still news."""
    store.conn.execute(
        "CREATE TEMP TRIGGER no_health BEFORE INSERT ON device_health"
        " BEGIN SELECT RAISE(ABORT, 'disk said no'); END"
    )
    health = HealthJournal(store, SimClock(HALL_OPENS))
    with pytest.raises(sqlite3.IntegrityError, match="disk said no"):
        health.record(paper_out())
    assert outbox(store.conn) == []
    assert last_journaled(store.conn, "printer-1") is None
    store.conn.execute("DROP TRIGGER temp.no_health")
    assert health.record(paper_out())
    assert [e.seq for e in outbox(store.conn)] == [1]


# --- an old hall database -----------------------------------------------------------------


def make_todays_hall_db(path: Path) -> Event:
    """A hall database as the previous release left it, with an unsent event, a ticket,
    a retention setting and telemetry. Returns the unsent event."""
    backlog = Event(Kind.TICKET_ISSUED, HALL, "kiosk-1", 7, HALL_OPENS, {"ticket_no": "A007"})
    with sqlite3.connect(path) as old:
        for statement in TODAY_HALL_DDL:
            old.execute(statement)
        old.executemany(
            "INSERT INTO schema_migrations VALUES (?, ?, 1796620541.0)", TODAY_LEDGER
        )
        old.execute("INSERT INTO device_seq VALUES ('kiosk-1', 7)")
        old.execute(
            "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?,?,?,?)",
            (backlog.event_id, "kiosk-1", 7, backlog.to_json()),
        )
        old.execute(
            "INSERT INTO tickets VALUES"
            " ('t7', '2026-11-23', 'social', 'A007', ?, 'kiosk-1', 'waiting', NULL, NULL, NULL, 0)",
            (HALL_OPENS,),
        )
        old.execute("INSERT INTO ticket_counter VALUES ('2026-11-23', 'A', 7)")
        old.execute("INSERT INTO journal_settings VALUES ('reserve_bytes', 1048576)")
        old.execute(
            "INSERT INTO telemetry(device_id, metric, at, value, vmin, vmax)"
            " VALUES ('hallbox', 'disk.free_bytes', 1.0, 5.0, 5.0, 5.0)"
        )
        old.execute("INSERT INTO telemetry_counters VALUES ('recorded', 1)")
    return backlog


def test_a_hall_database_of_the_previous_release_is_upgraded_in_place(tmp_path: Path):
    """Every row survives; the ledger records the old steps with their old dates and the new
    ones; the queue goes on numbering where it stopped and the device's seq goes on."""
    from core.config import load_hall_config

    path = tmp_path / "hall.db"
    backlog = make_todays_hall_db(path)
    with sqlite3.connect(path) as before:
        assert [m.version for m in HALL_SCHEMA.pending(before)] == [6, 7, 8, 9, 10, 11]
        ledger = before.execute("SELECT 1 FROM sqlite_master WHERE name=?", (LEDGER,))
        assert ledger.fetchone() is None

    store = HallStore.open(path, HALL)
    try:
        conn = store.conn
        assert outbox(conn) == [backlog]
        tickets = conn.execute("SELECT ticket_no, state FROM tickets").fetchall()
        assert tickets == [("A007", "waiting")]
        assert conn.execute("SELECT value FROM journal_settings").fetchall() == [(1048576,)]
        assert conn.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0] == 1
        assert conn.execute("SELECT value FROM telemetry_counters").fetchall() == [(1,)]
        applied = HALL_SCHEMA.applied(conn)
        assert [a.version for a in applied] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        assert [a.applied_at for a in applied[:5]] == [1796620541.0] * 5
        assert HALL_SCHEMA.pending(conn) == []
        retired = conn.execute("SELECT version FROM schema_migrations").fetchall()
        assert retired == [(RETIRED_LEDGER_VERSION,)]

        queue = HallQueue(store, load_hall_config(), SimClock(HALL_OPENS + 60))
        issued = queue.issue("social", "kiosk-1")
        assert (issued.ticket.ticket_no, issued.people_ahead) == ("A008", 1)
        assert [(e.device_id, e.seq) for e in outbox(conn)] == [("kiosk-1", 7), ("kiosk-1", 8)]
    finally:
        store.close()


# --- end to end: store → publisher → Mosquitto → collector -------------------------------


def test_a_health_change_reaches_the_collector(tmp_path: Path, mosquitto: MosquittoUnderTest):
    """A paper-out committed through the hall store is published by the agent's publisher to
    a real broker and stored by the collector; the journal is empty afterwards."""
    store = HallStore.open(tmp_path / "hall.db", HALL)
    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    publisher = Publisher(tmp_path / "hall.db", HALL, mosquitto.host, mosquitto.port, "agent-t")
    try:
        ingestor.start()
        assert ingestor.wait_subscribed(30)
        health = HealthJournal(store, SimClock(HALL_OPENS))
        assert health.record(paper_out())
        publisher.start()
        assert wait_until(lambda: ingestor.store.count(HALL) == 1, 30)
        assert publisher.wait_drained(30)
        stored = ingestor.store.all_events(HALL)
        assert outbox(store.conn) == []
        assert [(e.kind, e.device_id, e.seq) for e in stored] == [
            (Kind.DEVICE_HEALTH, "printer-1", 1)
        ]
        assert stored[0].data == {
            "device": "printer-1", "state": "error", "reasons": ["paper_out"], "code": 310
        }
        row = store.conn.execute("SELECT state, reasons, seq FROM device_health").fetchone()
        assert (row[0], json.loads(row[1]), row[2]) == ("error", ["paper_out"], 1)
    finally:
        publisher.stop()
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()
        store.close()

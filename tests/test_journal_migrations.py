"""The hall database's schema changes are versioned, recorded with the change, and refused
when newer (``hallstore/schema.py`` on ``core/sqlite_migrations.py``)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import JournalTooNew
from core.events import Event, Kind
from core.sqlite_migrations import LEDGER, RETIRED_LEDGER_VERSION, Migration
from core.strings_zh import error_text
from hallstore import journal
from hallstore.schema import HALL_SCHEMA

STEPS = HALL_SCHEMA.steps

#: The schema of hall databases created before migrations existed.
PRE_MIGRATION_SCHEMA = """
CREATE TABLE device_seq (device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE outbox (
    rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL
);
"""


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                f"SELECT version FROM {LEDGER} WHERE schema='hall' ORDER BY 1"
            )
        ]


def with_steps(*steps: Migration):
    return replace(HALL_SCHEMA, steps=steps)


def test_new_database_gets_every_migration_once(tmp_path: Path):
    path = tmp_path / "hall.db"
    journal.connect(path).close()
    journal.connect(path).close()
    assert versions(path) == [m.version for m in STEPS]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_pre_migration_database_is_adopted_with_its_backlog(tmp_path: Path):
    """A hall box upgraded in place keeps its unsent events and their seqs."""
    path = tmp_path / "hall.db"
    with sqlite3.connect(path) as old:
        old.executescript(PRE_MIGRATION_SCHEMA)
        old.execute("INSERT INTO device_seq VALUES ('kiosk-1', 7)")
        e = Event(Kind.WINDOW_OPENED, "hall-demo", "kiosk-1", 7, 0.0, {"window": 1})
        old.execute(
            "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?,?,?,?)",
            (e.event_id, e.device_id, e.seq, e.to_json()),
        )
    conn = journal.connect(path)
    try:
        assert [p.event for p in journal.pending(conn, 10)] == [e]
        conn.execute("BEGIN IMMEDIATE")
        assert journal.next_seq(conn, "kiosk-1") == 8
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert versions(path) == [m.version for m in STEPS]


def test_failed_migration_leaves_neither_change_nor_record(tmp_path: Path):
    """A migration whose second statement fails rolls back its first one too, and is not
    recorded: the next start runs it again from the start."""
    conn = journal.connect(tmp_path / "hall.db")
    try:
        step = STEPS[-1].version + 1
        broken = Migration(step, "broken", ("CREATE TABLE half (x)", "NOT SQL AT ALL"))
        with pytest.raises(sqlite3.OperationalError):
            with_steps(*STEPS, broken).apply(conn)
        assert HALL_SCHEMA.current_version(conn) == step - 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half" not in tables
        fixed = Migration(step, "fixed", ("CREATE TABLE half (x)",))
        assert with_steps(*STEPS, fixed).apply(conn) == [step]
    finally:
        conn.close()


def test_database_from_a_newer_program_is_refused(tmp_path: Path):
    """An older Hall Edge must not write a schema it does not know (421, in Chinese)."""
    path = tmp_path / "hall.db"
    newer = with_steps(*STEPS, Migration(STEPS[-1].version + 1, "future", ("CREATE TABLE f (x)",)))
    conn = journal.connect(path)
    newer.apply(conn)
    conn.close()
    with pytest.raises(JournalTooNew) as caught:
        journal.connect(path)
    assert caught.value.code == 421
    assert caught.value.details["schema"] == "hall"
    assert error_text(caught.value) == "本机数据版本高于当前程序版本，请联系工作人员升级程序"


def test_the_retired_ledger_makes_a_release_before_the_move_refuse_the_database(tmp_path: Path):
    """Releases before core/sqlite_migrations read only ``schema_migrations``; it is left
    holding a version none of them knows, so they refuse the file (421) instead of running
    their own history into it."""
    path = tmp_path / "hall.db"
    journal.connect(path).close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert rows == [(RETIRED_LEDGER_VERSION,)]


def test_outbox_rebuild_keeps_backlog_and_never_reuses_a_row_id(tmp_path: Path):
    """Migration 3 rebuilds the outbox. A publisher's cursor assumes new rows get higher ids
    than any row before, so the AUTOINCREMENT counter must survive the rebuild even when the
    outbox was empty."""
    conn = sqlite3.connect(tmp_path / "hall.db", isolation_level=None)
    try:
        HALL_SCHEMA.apply(conn, stop_before=3)
        for seq in (1, 2, 3):
            e = Event(Kind.WINDOW_OPENED, "hall-demo", "pad-1", seq, 0.0, {"window": 1})
            journal.append(conn, e)
        conn.execute("DELETE FROM outbox WHERE seq < 3")
        kept = journal.pending(conn, 10)
        assert HALL_SCHEMA.apply(conn, stop_before=4) == [3]
        assert journal.pending(conn, 10) == kept
        conn.execute("DELETE FROM outbox")
        journal.append(conn, Event(Kind.WINDOW_CLOSED, "hall-demo", "pad-1", 4, 0.0, {}))
        assert [p.row for p in journal.pending(conn, 10)] == [4]
    finally:
        conn.close()


def test_outbox_without_autoincrement_keeps_the_backlog(tmp_path: Path):
    """Migration 5 drops AUTOINCREMENT (a page less per commit): the unsent backlog is kept
    row for row, and its counter leaves sqlite_sequence."""
    conn = sqlite3.connect(tmp_path / "hall.db", isolation_level=None)
    try:
        HALL_SCHEMA.apply(conn, stop_before=5)
        for seq in (1, 2, 3):
            journal.append(conn, Event(Kind.WINDOW_OPENED, "hall-demo", "pad-1", seq, 0.0, {}))
        conn.execute("DELETE FROM outbox WHERE seq = 1")
        kept = journal.pending(conn, 10)
        assert HALL_SCHEMA.apply(conn, stop_before=6) == [5]
        assert journal.pending(conn, 10) == kept
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_sequence")]
        assert "outbox" not in names
        journal.append(conn, Event(Kind.WINDOW_CLOSED, "hall-demo", "pad-1", 4, 0.0, {}))
        assert [p.row for p in journal.pending(conn, 10)] == [2, 3, 4]
    finally:
        conn.close()

"""What the collector told this device: configuration versions and the commands it ran.

A small SQLite file of its own (``remote.db``), so remote control never contends with the
hall journal's write lock. Both tables exist for the same reason: a command redelivered by the
broker (QoS 1 is at least once) must be answered again, not run again, and a configuration
must be restorable when a newer one fails half-way.

Its schema is the migration set ``remote`` (:mod:`core.sqlite_migrations`); remote stores made
before that recorded version 1 in ``schema_migrations``, which the set adopts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

REMOTE_SCHEMA = Migrations(
    "remote",
    (
        Migration(
            1,
            "remote configuration versions and command outcomes",
            (
                "CREATE TABLE config_versions ("
                " version INTEGER PRIMARY KEY, body TEXT NOT NULL,"
                " state TEXT NOT NULL CHECK (state IN ('active','superseded','failed')),"
                " applied_at REAL NOT NULL, detail TEXT)",
                "CREATE TABLE commands ("
                " cmd_id TEXT PRIMARY KEY, name TEXT NOT NULL, outcome TEXT NOT NULL,"
                " ack TEXT NOT NULL, at REAL NOT NULL)",
                "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ),
        ),
    ),
    legacy_ledger="schema_migrations",
)


class RemoteStore:
    """The device's record of remote configuration and commands.

    Args:
        path: the SQLite file (created if missing).
    """

    def __init__(self, path: Path | str) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # A configuration change is what the device runs after a power cut: fsync it.
        self.conn.execute("PRAGMA synchronous=FULL")
        REMOTE_SCHEMA.apply(self.conn)
        self._lock = threading.Lock()

    def active_config(self) -> tuple[int, dict[str, Any]] | None:
        """The version and body of the configuration in force, if one was ever pushed."""
        with self._lock:
            row = self.conn.execute(
                "SELECT version, body FROM config_versions WHERE state='active'"
            ).fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def record_config(self, version: int, body: dict[str, Any], state: str, detail: str = "") -> None:
        """Record a configuration's outcome; an ``active`` one supersedes the previous one."""
        with self._lock, atomic(self.conn) as conn:
            if state == "active":
                conn.execute("UPDATE config_versions SET state='superseded' WHERE state='active'")
            conn.execute(
                "INSERT OR REPLACE INTO config_versions(version, body, state, applied_at, detail)"
                " VALUES (?,?,?,?,?)",
                (version, json.dumps(body, ensure_ascii=False), state, time.time(), detail),
            )

    def answered(self, cmd_id: str) -> dict[str, Any] | None:
        """The acknowledgement already given for a command, if it ran before."""
        with self._lock:
            row = self.conn.execute("SELECT ack FROM commands WHERE cmd_id=?", (cmd_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def record_command(self, cmd_id: str, name: str, ack: dict[str, Any]) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT OR IGNORE INTO commands(cmd_id, name, outcome, ack, at) VALUES (?,?,?,?,?)",
                (cmd_id, name, ack["outcome"], json.dumps(ack, ensure_ascii=False), time.time()),
            )

    def setting(self, name: str) -> Any:
        """A remotely set value (e.g. the power schedule), or None."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, name: str, value: Any) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)",
                (name, json.dumps(value, ensure_ascii=False)),
            )

    def close(self) -> None:
        self.conn.close()

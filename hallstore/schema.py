"""Every table of the hall database, as one migration history (schema ``hall``).

The hall store owns the schema of the whole file: the journal's outbox and seq counters, the
retention settings, telemetry, the queue's tables and each flow's own state. A flow owns its
SQL; its tables' creation and changes are steps here, so that one ledger says what a hall
database holds and every process of the box (kiosks, PADs, agent) upgrades it the same way.

Versions 1–5 are the journal's history from ``agent/migrations.py``, unchanged (their numbers
are in every hall database's old ``schema_migrations`` ledger, which the first new step
adopts). Steps are append-only: never edit one that has shipped.
"""

from __future__ import annotations

from core.sqlite_migrations import Migration, Migrations

HALL_SCHEMA = Migrations(
    "hall",
    (
        # ``IF NOT EXISTS`` adopts databases created before migrations existed.
        Migration(
            1,
            "outbox and per-device sequence",
            (
                (
                    "CREATE TABLE IF NOT EXISTS device_seq ("
                    " device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)"
                ),
                (
                    "CREATE TABLE IF NOT EXISTS outbox ("
                    " rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
                ),
            ),
        ),
        Migration(
            2,
            "journal settings shared by every process of the hall box",
            ("CREATE TABLE journal_settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",),
        ),
        # The UNIQUE index on event_id put every insert and every acknowledged row on a random
        # index page (event ids are random), which cost more than the rest of a drain together.
        # Uniqueness is the collector's job; here ids are random and seqs come from next_seq.
        # The AUTOINCREMENT counter is carried over: a running publisher's cursor relies on new
        # rows getting higher ids than any before.
        Migration(
            3,
            "outbox without the event_id index",
            (
                (
                    "CREATE TABLE outbox_v3 ("
                    " rowid_ INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
                ),
                (
                    "INSERT INTO outbox_v3"
                    " SELECT rowid_, event_id, device_id, seq, payload FROM outbox"
                ),
                "DELETE FROM sqlite_sequence WHERE name = 'outbox_v3'",
                (
                    "INSERT INTO sqlite_sequence(name, seq)"
                    " SELECT 'outbox_v3', seq FROM sqlite_sequence WHERE name = 'outbox'"
                ),
                "DROP TABLE outbox",
                "ALTER TABLE outbox_v3 RENAME TO outbox",
            ),
        ),
        # Samples are not events: their own outbox, thinned out under an outage
        # (agent/telemetry.py). ``aggregated`` marks rows that stand for several readings, so
        # they are never merged again; the index on ``at`` finds the oldest readings to drop.
        Migration(
            4,
            "telemetry samples and their drop counters",
            (
                (
                    "CREATE TABLE telemetry ("
                    " row_ INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,"
                    " metric TEXT NOT NULL, at REAL NOT NULL, value REAL NOT NULL,"
                    " vmin REAL NOT NULL, vmax REAL NOT NULL, n INTEGER NOT NULL DEFAULT 1,"
                    " aggregated INTEGER NOT NULL DEFAULT 0)"
                ),
                "CREATE INDEX telemetry_at ON telemetry(at)",
                "CREATE TABLE telemetry_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            ),
        ),
        # AUTOINCREMENT wrote a third page (sqlite_sequence) in every citizen's commit. Plain
        # rowids are enough: a new row gets max(rowid) + 1. The publisher deletes only rows it
        # has read, by runs of consecutive ids, so no new row can fall inside a range it
        # deletes; and each delete tells it the highest id left, so when that is below its
        # read cursor (a table drained empty starts again at 1) it reads on from there
        # (``journal.delete_stored``, ``agent/publisher.py``).
        Migration(
            5,
            "outbox without AUTOINCREMENT",
            (
                (
                    "CREATE TABLE outbox_v5 ("
                    " rowid_ INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
                    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)"
                ),
                (
                    "INSERT INTO outbox_v5"
                    " SELECT rowid_, event_id, device_id, seq, payload FROM outbox"
                ),
                "DROP TABLE outbox",
                "DELETE FROM sqlite_sequence WHERE name = 'outbox'",
                "ALTER TABLE outbox_v5 RENAME TO outbox",
            ),
        ),
        # The queue's tables (flows/queue.py), which the queue used to create itself with
        # ``CREATE TABLE IF NOT EXISTS`` outside any ledger. The same statements adopt the
        # tables of every hall database that already has them, tickets included.
        Migration(
            6,
            "queue: tickets, per-day ticket counters, open windows",
            (
                (
                    "CREATE TABLE IF NOT EXISTS tickets ("
                    " ticket_id TEXT PRIMARY KEY, day TEXT NOT NULL, service TEXT NOT NULL,"
                    " ticket_no TEXT NOT NULL, issued_at REAL NOT NULL, issued_by TEXT NOT NULL,"
                    " state TEXT NOT NULL"
                    " CHECK (state IN ('waiting','called','finished','skipped')),"
                    " window_no INTEGER, called_at REAL, finished_at REAL,"
                    " call_count INTEGER NOT NULL DEFAULT 0, UNIQUE (day, ticket_no))"
                ),
                (
                    "CREATE INDEX IF NOT EXISTS tickets_waiting"
                    " ON tickets(state, service, issued_at)"
                ),
                (
                    "CREATE TABLE IF NOT EXISTS ticket_counter ("
                    " day TEXT NOT NULL, prefix TEXT NOT NULL, last INTEGER NOT NULL,"
                    " PRIMARY KEY (day, prefix))"
                ),
                (
                    "CREATE TABLE IF NOT EXISTS open_windows ("
                    " window_no INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
                    " staff_id TEXT NOT NULL, opened_at REAL NOT NULL)"
                ),
            ),
        ),
        # The last health journaled per device (flows/health_events.py), committed with its
        # ``device.health`` event: after a restart the flow knows what it last reported and
        # does not report it again. ``seq`` is that event's seq.
        Migration(
            7,
            "last journaled health per device",
            (
                (
                    "CREATE TABLE device_health ("
                    " device_id TEXT PRIMARY KEY, state TEXT NOT NULL, reasons TEXT NOT NULL,"
                    " code INTEGER, at REAL NOT NULL, seq INTEGER NOT NULL)"
                ),
            ),
        ),
        # Phase 2 of the hall network (docs/hall-api.md): a ticket taken for a checked-in
        # appointment keeps its booking number (NULL for a walk-in; the queue calls those
        # first when the hall says so), and the blocks of numbers the hall box reserved for
        # each kiosk to issue from while it is cut off. A range never overlaps another of the
        # same day and prefix; the hall box's own counter skips every reserved number.
        Migration(
            8,
            "queue: appointment tickets, kiosks' offline number ranges",
            (
                "ALTER TABLE tickets ADD COLUMN appointment TEXT",
                (
                    "CREATE TABLE ticket_ranges ("
                    " day TEXT NOT NULL, prefix TEXT NOT NULL, first INTEGER NOT NULL,"
                    " last INTEGER NOT NULL, service TEXT NOT NULL, device_id TEXT NOT NULL,"
                    " reserved_at REAL NOT NULL, PRIMARY KEY (day, prefix, first))"
                ),
            ),
        ),
        # Window operations (issue #14, docs/hall-api.md): a ticket's priority (NULL, 'green'
        # for 绿色通道, 'special' for the special-groups window), the window a transfer sent
        # it to (only that window calls it) and the window it came from; a signed-in window's
        # pause (暂停服务) and its reason. A paused window stays signed in.
        Migration(
            9,
            "queue: ticket priority and transfers, paused windows",
            (
                "ALTER TABLE tickets ADD COLUMN priority TEXT",
                "ALTER TABLE tickets ADD COLUMN target_window INTEGER",
                "ALTER TABLE tickets ADD COLUMN transferred_from INTEGER",
                "ALTER TABLE open_windows ADD COLUMN paused_at REAL",
                "ALTER TABLE open_windows ADD COLUMN pause_reason TEXT",
            ),
        ),
        # A finished ticket's 好差评 level (1–5), beside its rating.submitted event: the
        # window terminal on the hall box reads it here, since the journal's outbox is drained
        # by the publisher and cannot be read back.
        Migration(
            10,
            "queue: a finished ticket's rating",
            ("ALTER TABLE tickets ADD COLUMN rating INTEGER",),
        ),
        # Each wait estimate reads every service's last handling times (flows/queue.py's
        # ``_OCCUPANCIES_SQL``); without this index that sorted the service's whole history,
        # which is never pruned, on every ticket issued (5.8 ms at 10,000 tickets, 0.4 with it).
        Migration(
            11,
            "queue: index of handled tickets by service and finish time",
            (
                (
                    "CREATE INDEX tickets_handled ON tickets(service, finished_at)"
                    " WHERE state IN ('finished', 'skipped') AND called_at IS NOT NULL"
                ),
            ),
        ),
    ),
    legacy_ledger="schema_migrations",
)

"""Queue transaction throughput against raw durable SQLite commits.

The queue's unit of work is a ticket's life: issue, call, finish, each a ``BEGIN IMMEDIATE``
transaction that changes queue state and journals its event with ``synchronous=FULL``. The
baseline is the floor under it: the same number of single-row commits through raw ``sqlite3``
with the same pragmas on the same disk. The ratio says what the queue's own logic costs on top
of the fsyncs it cannot avoid.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from core.clock import SimClock, at_hall_time
from core.config import load_hall_config
from flows.queue import HallQueue
from hallstore import journal

TICKETS = 300


def _queue_run(db: Path, tickets: int) -> float:
    clock = SimClock(at_hall_time("2026-11-23", "09:00"))
    queue = HallQueue(journal.connect(db), load_hall_config(), clock)
    queue.open_window(1, "pad-1", "staff-1")
    start = time.perf_counter()
    for _ in range(tickets):
        queue.issue("social", "kiosk-1")
        queue.call_next(1, "pad-1")
        queue.finish(1, "pad-1")
        clock.advance(1)
    elapsed = time.perf_counter() - start
    queue.conn.close()
    return elapsed


def _raw_run(db: Path, commits: int) -> float:
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    payload = "x" * 400  # about the size of a journaled event
    start = time.perf_counter()
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t(payload) VALUES (?)", (payload,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def run(options: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="halledge-bench-") as tmp:
        transitions = TICKETS * 3
        # Interleave runs so a burst of load on the shared machine hits both sides.
        queue_s = raw_s = 0.0
        for i in range(2):
            queue_s += _queue_run(Path(tmp) / f"q{i}.db", TICKETS // 2)
            raw_s += _raw_run(Path(tmp) / f"r{i}.db", transitions // 2)
    queue_rate = transitions / queue_s
    raw_rate = transitions / raw_s
    return {
        "transitions": transitions,
        "queue_transitions_per_s": round(queue_rate, 1),
        "baseline_raw_commits_per_s": round(raw_rate, 1),
        "ratio_vs_raw_sqlite": round(queue_rate / raw_rate, 3),
        "note": "each transition: queue state change + journaled event, synchronous=FULL",
    }

"""A busy hall in its own process: kiosks issue, windows call and finish, until N events.

Run as ``python -m tests.chaos.hall_producer --hall-db PATH --events N``. It writes through
the real :class:`flows.queue.HallQueue` into the hall database that the agent process drains,
so the journal sees the same cross-process locking as a hall box. The database must hold the
``chaos_produced`` ground-truth table (:func:`prepare`) before the producer starts.
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import time
from pathlib import Path

from core.clock import SimClock, at_hall_time, business_day
from core.config import load_hall_config
from flows.queue import HallQueue
from hallstore import journal

SERVICES = ("social", "household", "business")
#: Hall seconds between two of the producer's steps, at most.
STEP_S = 20.0


def hall_clock(events: int, now: float | None = None) -> tuple[SimClock, float]:
    """The producer's hall clock and its step: today's, and never ahead of the wall clock.

    Today's, because the agent under test closes what an earlier day left
    (agent.hall_box.DayCloser, by the wall clock). Not ahead, because the collector refuses an
    event more than five minutes in its future (``core.events.TimeWindow``): a clock opening
    at 08:30 failed every run made between midnight and 08:30 Beijing time. So the clock
    starts early enough today that ``events`` steps end by ``now``, with shorter steps when
    little of today has passed.
    """
    now = time.time() if now is None else now
    midnight = at_hall_time(business_day(now), "00:00")
    start = max(midnight + 1.0, now - events * STEP_S)
    step = max(0.001, min(STEP_S, (now - start) / max(events, 1)))
    return SimClock(start), step


def prepare(hall_db: Path) -> None:
    """Create the hall database with a table that keeps every journaled event's identity.

    The publisher deletes outbox rows once acknowledged; the trigger's copy is what the
    collector is checked against.
    """
    conn = journal.connect(hall_db)
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS chaos_produced (
            event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL);
        CREATE TRIGGER IF NOT EXISTS chaos_produced_copy AFTER INSERT ON outbox BEGIN
            INSERT INTO chaos_produced VALUES (new.event_id, new.device_id, new.seq);
        END;
        """
    )
    conn.close()


def produced(hall_db: Path) -> dict[str, tuple[str, int]]:
    """event_id → (device, seq) of every event the hall journaled."""
    with sqlite3.connect(hall_db) as conn:
        rows = conn.execute("SELECT event_id, device_id, seq FROM chaos_produced").fetchall()
    return {e: (d, s) for e, d, s in rows}


def run(hall_db: Path, events: int, per_second: float = 0.0) -> int:
    """Drive the hall until at least ``events`` events are journaled. Returns the count.

    ``per_second`` caps the pace (0: as fast as SQLite allows), so a test can keep the hall
    busy for as long as it kills agents.
    """
    started = time.monotonic()
    conn = journal.connect(hall_db)
    hall = load_hall_config()
    clock, step = hall_clock(events)
    queue = HallQueue(conn, hall, clock)
    made = 0
    for w in hall.windows:
        queue.open_window(w.no, f"pad-{w.no}", f"staff-{w.no}")
        made += 1
    for n in itertools.count():
        if made >= events:
            break
        queue.issue(SERVICES[n % 3], f"kiosk-{n % 2 + 1}")
        made += 1
        w = hall.windows[n % len(hall.windows)]
        if queue.window_view(w.no).current is not None:
            queue.finish(w.no, f"pad-{w.no}")
            made += 1
        elif queue.call_next(w.no, f"pad-{w.no}") is not None:
            made += 1
        clock.advance(step)
        if per_second > 0:
            ahead = started + made / per_second - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    conn.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hall-db", required=True, type=Path)
    parser.add_argument("--events", required=True, type=int)
    parser.add_argument("--per-second", type=float, default=0.0)
    args = parser.parse_args()
    print(run(args.hall_db, args.events, args.per_second), flush=True)


if __name__ == "__main__":
    main()

"""Real hall events for collector tests: the hall queue on a temporary database, on a SimClock.

The collector's tests feed exactly what a hall journals, not hand-written dicts, so a change
in the queue's event data shows up here.
"""

from __future__ import annotations

from pathlib import Path

from core.clock import SimClock, at_hall_time
from core.config import HallConfig, load_hall_config
from core.events import Event
from flows.queue import HallQueue, Ticket
from hallstore import journal

MORNING = at_hall_time("2026-11-23", "08:30")


class RecordedHall:
    """A hall queue whose journaled events can be taken out in journal order.

    Args:
        db_path: where the hall database goes (a test's tmp dir).
        config: the hall; the demo hall by default.
        start: hall time of the first event.
    """

    def __init__(self, db_path: Path, config: HallConfig | None = None, start: float = MORNING):
        self.config = config or load_hall_config()
        self.clock = SimClock(start)
        self.conn = journal.connect(db_path)
        self.queue = HallQueue(self.conn, self.config, self.clock)

    @property
    def hall_id(self) -> str:
        return self.config.hall_id

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def issue(self, service: str, device: str = "kiosk-1") -> Ticket:
        return self.queue.issue(service, device).ticket

    def open(self, *windows: int) -> None:
        for no in windows:
            self.queue.open_window(no, f"pad-{no}", f"staff-{no}")

    def close(self, no: int) -> None:
        self.queue.close_window(no, f"pad-{no}")

    def call(self, window: int) -> Ticket | None:
        return self.queue.call_next(window, f"pad-{window}")

    def finish(self, window: int) -> Ticket:
        return self.queue.finish(window, f"pad-{window}")

    def skip(self, window: int) -> Ticket:
        return self.queue.skip(window, f"pad-{window}")

    def take(self) -> list[Event]:
        """Every event journaled since the last take, in journal order."""
        rows = journal.pending(self.conn, 1_000_000)
        journal.delete_stored(self.conn, [r.row for r in rows])
        return [r.event for r in rows]

    def close_db(self) -> None:
        self.conn.close()

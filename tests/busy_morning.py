"""A busy Monday morning in the demo hall, journaled by the real queue: what the wall screen
and the day's report are tested on.

Arrivals outrun three windows from 08:00, so by 10:30 more than 20 citizens wait for 社保医保
(a red warning); window 2's clerk leaves at 10:00, window 4 never opens; a ticket printer runs
out of paper from 09:30 to 09:50; the kiosks book appointments; citizens rate their service,
one of them 非常不满意.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collector.baseline import BaselineTable, SlotLevels, slot_of
from core.clock import at_hall_time
from core.events import Event, Kind
from flows.transactions import transaction_event
from tests.hall_events import RecordedHall

DAY = "2026-11-23"
STAFF = {1: "王芳", 2: "李强", 3: "张敏"}
HANDLING_S = 540.0


def at(hhmm: str) -> float:
    return at_hall_time(DAY, hhmm)


def busy_morning(db: Path, feed: Callable[[list[Event]], None], until: str = "10:30") -> RecordedHall:
    """Run the morning, handing the journaled events to ``feed`` every 5 hall minutes."""
    hall = RecordedHall(db, start=at("08:00"))
    q = hall.queue
    for no, name in STAFF.items():
        q.open_window(no, f"pad-{no}", name)
    busy_until: dict[int, float] = {}
    step = 0
    end = at(until)
    rated = 0
    open_windows = set(STAFF)
    while hall.now() < end:
        now = hall.now()
        hall.issue("social")
        if step % 3 == 0:
            hall.issue("household")
        if step % 8 == 0:
            hall.issue("business")
        for no in sorted(busy_until):
            if busy_until[no] <= now:
                done = hall.finish(no)
                del busy_until[no]
                rated += 1
                q.record_rating(done, 1 if rated == 4 else (4 if rated % 3 == 0 else 5), f"rate-{no}")
        if now >= at("10:00") and 2 in open_windows and 2 not in busy_until:
            hall.close(2)  # the clerk of window 2 is called away
            open_windows.discard(2)
        for no in sorted(open_windows):
            if no in busy_until:
                continue
            if hall.call(no) is not None:
                busy_until[no] = now + HANDLING_S
        if step == 45:  # 09:30
            _health(hall, "error", ["paper_out"])
        if step == 55:  # 09:50
            _health(hall, "ok", [])
        if step % 10 == 0:
            journal = q.transaction_journal("kiosk-1", hall.clock)
            journal.record(Kind.KIOSK_TRANSACTION,
                           transaction_event("appointments", "done", item="JG-000101"))
        if step % 5 == 4:
            feed(hall.take())
        hall.advance(120)
        step += 1
    feed(hall.take())
    return hall


def _health(hall: RecordedHall, state: str, reasons: list[str]) -> None:
    with hall.queue.store.transaction() as tx:
        tx.journal(Kind.DEVICE_HEALTH, "printer-1",
                   {"device": "printer-1", "state": state, "reasons": reasons, "code": 0},
                   at=hall.now())  # fmt: skip


def usual_monday(hall_id: str = "hall-demo") -> BaselineTable:
    """A weekly baseline for Monday mornings: fewer arrivals than today, shorter waits."""
    table = BaselineTable(hall_id, DAY, at("00:30"), 30)
    weekday, first = slot_of(at("08:00"), 30)
    for i, slot in enumerate(range(first, first + 7)):
        table.arrivals_per_h[("social", weekday, slot)] = 14.0 + 2 * i
        table.arrivals_per_h[("household", weekday, slot)] = 6.0
        table.arrivals_per_h[("business", weekday, slot)] = 2.0
        table.levels[("social", "wait_s", weekday, slot)] = SlotLevels(480.0 + 60 * i, 900.0, 6, 40)
    return table

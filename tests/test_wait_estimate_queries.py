"""The wait a citizen is told does not depend on how the queue reads the hall to estimate it.

``HallQueue._estimate_wait`` reads the windows' state, their call orders and the services'
recent handling times in a few statements instead of a few per window and per service. The
values in ``wait_estimate_expected.json`` were captured once from the per-window reads
(``flows/queue.py`` of commit 4c1470b) on the mornings below, which are replayed here exactly
(a seeded sequence of taps on a simulated clock): every ticket's people ahead and told range
must come out the same.

The mornings mix several services at shared windows, a special-groups window, 绿色通道,
special-group and appointment tickets, tickets a kiosk issued while cut off (queued by their
earlier issue time), windows paused, signed in and never calling (idle while citizens wait),
not yet or never signed in, signed out, transfers to another service or window, undone skips,
appointments first or by arrival, and a night: windows left signed in with yesterday's ticket
still called, yesterday's waiting tickets left, then swept.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from core.clock import SimClock, at_hall_time, business_day
from core.config import HallConfig, Service, Window
from flows import ticket_numbers
from flows.queue import HallQueue, Ticket
from hallstore import journal

EXPECTED = Path(__file__).with_name("wait_estimate_expected.json")
DAY, NEXT_DAY = "2026-11-23", "2026-11-24"

HALL = HallConfig(
    hall_id="hall-estimates",
    name="估算测试大厅",
    services=(
        Service("social", "社保医保", "A", 300.0),
        Service("household", "户籍办理", "B", 420.0),
        Service("business", "企业开办", "C", 600.0),
        Service("permit", "证照办理", "D", 240.0),
    ),
    windows=(
        Window(1, ("social",)),
        Window(2, ("social", "household")),
        Window(3, ("social", "household", "business"), special=True),
        Window(4, ("business",)),
        Window(5, ("household", "permit")),
        Window(6, ("permit",)),
        Window(7, ("social", "permit")),
    ),
)

#: What may happen at a step, and how often (a step with nothing to do for it does nothing).
STEPS = {
    "issue": 30, "offline": 4, "call": 20, "finish": 14, "skip": 3, "transfer": 3,
    "undo_skip": 2, "pause": 2, "resume": 3, "open": 3, "close": 1,
}  # fmt: skip


@dataclass(frozen=True)
class Morning:
    name: str
    seed: int
    steps: int
    start: str = "08:25"
    appointments_first: bool = True
    #: Signed in before the first ticket.
    early: tuple[int, ...] = (1, 2, 3, 4, 5, 7)
    #: Signed in before the first ticket, and nobody at them ever calls.
    lazy: tuple[int, ...] = ()
    #: Never signed in.
    absent: tuple[int, ...] = (6,)
    #: At this step the clock jumps to 08:10 of the next day; windows stay signed in, and
    #: half way through the steps left the past day is swept.
    overnight_at: int | None = None
    #: How often each step happens.
    steps_weights: dict[str, int] = field(default_factory=lambda: dict(STEPS))


MORNINGS = (
    Morning("busy", seed=1, steps=320),
    Morning("idle-and-paused", seed=2, steps=260, early=(1, 3, 4, 7), lazy=(2, 5)),
    Morning("before-opening", seed=3, steps=260, start="07:50", early=()),
    Morning(
        "by-arrival", seed=4, steps=260, appointments_first=False, early=(1, 2, 3, 5, 7),
        absent=(4, 6),
    ),
    Morning("overnight", seed=5, steps=300, start="16:05", overnight_at=140),
    # Windows that keep up, all day: more than a history's worth of occupancies per service.
    Morning("all-day", seed=6, steps=800, steps_weights=STEPS | {"call": 40, "finish": 34}),
)


def told(morning: Morning, db: Path) -> list[list[Any]]:
    """Play ``morning`` on a fresh hall database; for each ticket issued or taken in from a
    kiosk cut off: ``[step, number, people ahead, low s, high s]``."""
    rng = random.Random(morning.seed)
    clock = SimClock(at_hall_time(DAY, morning.start))
    hall = replace(HALL, appointments_first=morning.appointments_first)
    conn = journal.connect(db)
    conn.execute("PRAGMA synchronous=OFF")  # a morning replayed needs no durability, only speed
    queue = HallQueue(conn, hall, clock)
    for no in morning.early + morning.lazy:
        queue.open_window(no, f"pad-{no}", f"staff-{no}")
    out: list[list[Any]] = []
    ranges: dict[tuple[str, str], list[int]] = {}  # (day, service) -> [next, last]
    skipped: tuple[int, str, float] | None = None  # (window, ticket id, when)
    sweep_at = None
    if morning.overnight_at is not None:
        sweep_at = morning.overnight_at + (morning.steps - morning.overnight_at) // 2
    try:
        for step in range(morning.steps):
            if step == morning.overnight_at:
                clock.set(at_hall_time(NEXT_DAY, "08:10"))
                skipped = None
            if step == sweep_at:
                queue.close_past_days("hallbox-estimates")
            # Now and then a long quiet spell: citizens wait past an idle window's grace.
            clock.advance(rng.uniform(200, 400) if rng.random() < 0.03 else rng.uniform(2, 45))
            now = clock.now()
            views = {w.no: queue.window_view(w.no) for w in hall.windows}
            busy = [no for no, v in views.items() if v.current is not None]
            free = [no for no, v in views.items() if v.is_open and v.current is None]
            weights = morning.steps_weights
            step_kind = rng.choices(list(weights), weights=list(weights.values()))[0]
            service = rng.choice(hall.services)
            priority = rng.choices((None, "green", "special"), weights=(88, 5, 7))[0]
            appointment = f"BK{morning.seed}-{step}" if rng.random() < 0.1 else None
            if step_kind == "issue":
                issued = queue.issue(
                    service.code, "kiosk-1", appointment=appointment, priority=priority
                )
            elif step_kind == "offline":
                day = business_day(now)
                block = ranges.get((day, service.code))
                if block is None or block[0] > block[1]:
                    got = queue.reserve_range(service.code, "kiosk-2", day)
                    block = ranges[(day, service.code)] = [got.first, got.last]
                number, block[0] = block[0], block[0] + 1
                cut_off = Ticket(
                    ticket_id=f"{morning.name}-{step}",
                    ticket_no=ticket_numbers.ticket_no(service.prefix, number),
                    service=service.code,
                    issued_at=now - rng.uniform(5, 400),
                    state="waiting",
                )
                issued, _ = queue.accept_offline(
                    cut_off, day, "kiosk-2", appointment=appointment, priority=priority
                )
            else:
                issued = None
                if step_kind == "undo_skip" and skipped is not None:
                    no, ticket_id, at = skipped
                    skipped = None
                    if now - at < 60 and no in free and not views[no].paused:
                        queue.undo_skip(no, f"pad-{no}", ticket_id)
                else:
                    gone = _operate(queue, morning, step_kind, rng, views, busy, free)
                    if gone is not None:
                        skipped = (gone.window_no, gone.ticket_id, now)
            if issued is not None:
                out.append([
                    step, issued.ticket.ticket_no, issued.people_ahead,
                    issued.est_wait_low_s, issued.est_wait_high_s,
                ])  # fmt: skip
    finally:
        conn.close()
    return out


def _operate(
    queue: HallQueue,
    morning: Morning,
    step_kind: str,
    rng: random.Random,
    views: dict[int, Any],
    busy: list[int],
    free: list[int],
) -> Ticket | None:
    """A window's step of ``step_kind`` at a window it applies to (none: nothing); the
    ticket skipped, if it skipped one."""
    rng.shuffle(busy)
    rng.shuffle(free)
    callers = [no for no in free if not views[no].paused and no not in morning.lazy]
    if step_kind == "call" and callers:
        queue.call_next(callers[0], f"pad-{callers[0]}")
    elif step_kind == "finish" and busy:
        queue.finish(busy[0], f"pad-{busy[0]}")
    elif step_kind == "skip" and busy:
        return queue.skip(busy[0], f"pad-{busy[0]}")
    elif step_kind == "transfer" and busy:
        ticket = views[busy[0]].current
        assert ticket is not None
        if rng.random() < 0.5:
            to = rng.choice([s.code for s in queue.hall.services if s.code != ticket.service])
            queue.transfer(busy[0], f"pad-{busy[0]}", to_service=to)
        else:
            to_window = rng.choice([w.no for w in queue.hall.windows if w.no != busy[0]])
            queue.transfer(busy[0], f"pad-{busy[0]}", to_window=to_window)
    elif step_kind == "pause" and callers:
        queue.pause_window(callers[0], f"pad-{callers[0]}", "break")
    elif step_kind == "resume":
        paused = [no for no in free if views[no].paused]
        if paused:
            queue.resume_window(paused[0], f"pad-{paused[0]}")
    elif step_kind == "open":
        closed = [
            no for no, v in views.items() if not v.is_open and no not in morning.absent
        ]
        if closed:
            no = rng.choice(closed)
            queue.open_window(no, f"pad-{no}", f"staff-{no}")
    elif step_kind == "close" and callers:
        queue.close_window(callers[0], f"pad-{callers[0]}")
    return None


@pytest.mark.parametrize("morning", MORNINGS, ids=lambda m: m.name)
def test_every_ticket_is_told_the_wait_it_was_told_before(morning: Morning, tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))[morning.name]
    assert told(morning, tmp_path / "hall.db") == expected

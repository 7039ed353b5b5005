"""The hall queue as staff and citizens see it: numbers, order, and the events it records."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from core.clock import SimClock, at_hall_time
from core.config import load_hall_config
from core.errors import NoCurrentTicket, TicketInService, UnknownService, WindowNotOpen
from core.events import Kind
from flows.queue import HallQueue
from hallstore import journal

DAY = "2026-11-23"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(at_hall_time(DAY, "09:00"))


@pytest.fixture
def queue(tmp_path: Path, clock: SimClock) -> HallQueue:
    return HallQueue(journal.connect(tmp_path / "hall.db"), load_hall_config(), clock)


def events(q: HallQueue) -> list:
    return [p.event for p in journal.pending(q.conn, 10_000)]


def test_tickets_are_numbered_per_service_prefix(queue: HallQueue) -> None:
    numbers = [queue.issue(s, "kiosk-1").ticket.ticket_no for s in ("social", "social", "household")]
    assert numbers == ["A001", "A002", "B001"]


def test_people_ahead_counts_only_the_same_service(queue: HallQueue) -> None:
    # One window of 社保 only: the one social ticket ahead makes the wait (issue #14: with
    # every configured window assumed free, the second ticket is rightly called at once).
    queue.open_window(1, "pad-1", "staff-1")
    queue.issue("social", "kiosk-1")
    queue.issue("household", "kiosk-1")
    issued = queue.issue("social", "kiosk-1")
    assert issued.people_ahead == 1
    assert issued.est_wait_s > 0


def test_numbers_reset_on_the_next_business_day(queue: HallQueue, clock: SimClock) -> None:
    queue.issue("social", "kiosk-1")
    clock.set(at_hall_time("2026-11-24", "08:30"))
    assert queue.issue("social", "kiosk-1").ticket.ticket_no == "A001"


def test_unknown_service_is_refused_and_records_nothing(queue: HallQueue) -> None:
    with pytest.raises(UnknownService) as err:
        queue.issue("no-such", "kiosk-1")
    assert err.value.code == 201
    assert events(queue) == []


def test_a_window_calls_the_longest_waiting_ticket_it_serves(
    queue: HallQueue, clock: SimClock
) -> None:
    queue.issue("business", "kiosk-1")  # C001: window 1 does not serve it
    clock.advance(60)
    queue.issue("social", "kiosk-1")  # A001
    queue.open_window(1, "pad-1", "staff-1")
    clock.advance(120)
    called = queue.call_next(1, "pad-1")
    assert called is not None and called.ticket_no == "A001"
    call_event = events(queue)[-1]
    assert call_event.kind == Kind.TICKET_CALLED
    assert call_event.data["wait_s"] == pytest.approx(120)


def test_calling_needs_a_signed_in_window(queue: HallQueue) -> None:
    queue.issue("social", "kiosk-1")
    with pytest.raises(WindowNotOpen):
        queue.call_next(3, "pad-3")


def test_a_window_finishes_or_skips_before_calling_again(queue: HallQueue) -> None:
    queue.issue("social", "kiosk-1")
    queue.issue("social", "kiosk-1")
    queue.open_window(3, "pad-3", "staff-3")
    queue.call_next(3, "pad-3")
    with pytest.raises(TicketInService):
        queue.call_next(3, "pad-3")
    assert queue.skip(3, "pad-3").state == "skipped"
    assert queue.call_next(3, "pad-3").ticket_no == "A002"


def test_recall_skip_finish_need_a_current_ticket(queue: HallQueue) -> None:
    queue.open_window(3, "pad-3", "staff-3")
    for action in (queue.recall, queue.skip, queue.finish):
        with pytest.raises(NoCurrentTicket):
            action(3, "pad-3")
    assert queue.call_next(3, "pad-3") is None


def test_finish_records_wait_and_time_in_hall(queue: HallQueue, clock: SimClock) -> None:
    queue.issue("social", "kiosk-1")
    queue.open_window(3, "pad-3", "staff-3")
    clock.advance(300)
    queue.call_next(3, "pad-3")
    clock.advance(30)
    queue.recall(3, "pad-3")
    clock.advance(200)
    done = queue.finish(3, "pad-3")
    finished = events(queue)[-1]
    assert finished.kind == Kind.TICKET_FINISHED
    assert finished.data["time_in_hall_s"] == pytest.approx(530)
    assert finished.data["service_s"] == pytest.approx(230)
    assert finished.data["called_at"] - finished.data["issued_at"] == pytest.approx(300)
    assert done.call_count == 2


def test_every_event_has_a_unique_id_and_a_gapless_per_device_sequence(queue: HallQueue) -> None:
    queue.open_window(3, "pad-3", "staff-3")
    for _ in range(3):
        queue.issue("social", "kiosk-1")
        queue.issue("household", "kiosk-2")
    for _ in range(3):
        queue.call_next(3, "pad-3")
        queue.finish(3, "pad-3")
    evs = events(queue)
    assert len({e.event_id for e in evs}) == len(evs)
    by_device: dict[str, list[int]] = {}
    for e in evs:
        by_device.setdefault(e.device_id, []).append(e.seq)
    assert by_device == {"pad-3": list(range(1, 8)), "kiosk-1": [1, 2, 3], "kiosk-2": [1, 2, 3]}


def test_a_failed_transition_leaves_no_event_and_no_sequence_gap(queue: HallQueue) -> None:
    queue.open_window(3, "pad-3", "staff-3")
    with pytest.raises(NoCurrentTicket):
        queue.finish(3, "pad-3")
    queue.issue("social", "kiosk-1")
    queue.call_next(3, "pad-3")
    assert [e.seq for e in events(queue) if e.device_id == "pad-3"] == [1, 2]


def test_rating_is_recorded_with_its_label(queue: HallQueue) -> None:
    queue.issue("social", "kiosk-1")
    queue.open_window(3, "pad-3", "staff-3")
    queue.call_next(3, "pad-3")
    done = queue.finish(3, "pad-3")
    queue.record_rating(done, 5, "rating-3")
    rating = events(queue)[-1]
    assert (rating.kind, rating.data["level"], rating.data["label"]) == (
        Kind.RATING_SUBMITTED,
        5,
        "非常满意",
    )


def test_window_view_lists_waiting_tickets_in_call_order(queue: HallQueue, clock: SimClock) -> None:
    for service in ("household", "social", "business"):
        queue.issue(service, "kiosk-1")
        clock.advance(10)
    view = queue.window_view(2)
    assert [t.ticket_no for t in view.waiting] == ["B001", "A001"]
    assert not view.is_open


def _issue_many(db: str, n: int, device: str, out: "multiprocessing.Queue[list[str]]") -> None:
    from core.clock import SystemClock

    q = HallQueue(journal.connect(db), load_hall_config(), SystemClock())
    out.put([q.issue("social", device).ticket.ticket_no for _ in range(n)])


def test_two_kiosks_in_separate_processes_never_issue_the_same_number(tmp_path: Path) -> None:
    db = str(tmp_path / "hall.db")
    journal.connect(db).close()
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[str]] = ctx.Queue()
    procs = [ctx.Process(target=_issue_many, args=(db, 40, f"kiosk-{i}", out)) for i in (1, 2)]
    for p in procs:
        p.start()
    numbers = out.get(timeout=120) + out.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, 81)]
    rows = sqlite3.connect(db).execute("SELECT payload FROM outbox").fetchall()
    assert len(rows) == 80
    assert len({json.loads(r[0])["event_id"] for r in rows}) == 80

"""A hall clock that steps back never makes a ticket's times run backwards, and each step back
is reported once, as the health of the device whose clock it is (code 360)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import SimClock, at_hall_time
from core.config import load_hall_config
from core.errors import ClockWentBack
from core.events import Event, Kind
from devices.health import HealthState
from flows.health_events import clock_went_back, last_journaled
from flows.queue import HallQueue
from hallstore import journal

DAY = "2026-11-23"
PAD = "pad-1"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(at_hall_time(DAY, "09:00"))


@pytest.fixture
def queue(tmp_path: Path, clock: SimClock) -> HallQueue:
    q = HallQueue(journal.connect(tmp_path / "hall.db"), load_hall_config(), clock)
    q.open_window(1, PAD, "staff-1")
    return q


def events(q: HallQueue) -> list[Event]:
    return [p.event for p in journal.pending(q.conn, 10_000)]


def health_events(q: HallQueue) -> list[Event]:
    return [e for e in events(q) if e.kind == Kind.DEVICE_HEALTH]


def ticket_events(q: HallQueue) -> list[Event]:
    return [e for e in events(q) if e.kind in Kind.TICKETS]


def assert_times_run_forward(q: HallQueue) -> None:
    """issued_at ≤ called_at ≤ finished_at in every ticket event, and each event is dated
    no earlier than the ticket's times it carries."""
    for e in ticket_events(q):
        times = [e.data[k] for k in ("issued_at", "called_at", "finished_at") if k in e.data]
        assert times == sorted(times), e
        assert e.at >= times[-1], e


def test_a_clock_stepping_back_between_call_and_finish(queue: HallQueue, clock: SimClock):
    """GIVEN a ticket called at 09:05, WHEN the PAD's clock steps back to 08:50 and the ticket
    is finished, THEN it is finished at 09:05, not before its call, and the PAD's health says
    once, with code 360, that its clock went back."""
    queue.issue("social", "kiosk-1")
    clock.advance(300)
    called = queue.call_next(1, PAD)
    assert called is not None and called.called_at == at_hall_time(DAY, "09:05")
    clock.set(at_hall_time(DAY, "08:50"))

    done = queue.finish(1, PAD)

    assert done.finished_at == called.called_at
    finished = ticket_events(queue)[-1]
    assert finished.kind == Kind.TICKET_FINISHED
    assert finished.at == finished.data["finished_at"] == finished.data["called_at"]
    assert finished.data["service_s"] == 0 and finished.data["time_in_hall_s"] == 300
    assert_times_run_forward(queue)
    [health] = health_events(queue)
    assert health.device_id == PAD and health.at == called.called_at
    assert health.data == {"device": PAD, "state": "warning", "reasons": ["clock_went_back"],
                           "code": 360}
    assert ClockWentBack.code == 360
    assert last_journaled(queue.conn, PAD) == clock_went_back(PAD)


def test_one_step_back_is_one_report_however_many_events_it_touches(
    queue: HallQueue, clock: SimClock
):
    """While the clock is still behind, a recall, a skip and the next call are dated forward
    without a second report; once the clock has caught up, ``ok`` is journaled, and a later
    step back is a new report."""
    for _ in range(3):
        queue.issue("social", "kiosk-1")
        clock.advance(60)
    queue.call_next(1, PAD)  # A001 called at 09:03
    clock.advance(120)  # 09:05
    queue.finish(1, PAD)
    queue.call_next(1, PAD)  # A002 called at 09:05
    clock.set(at_hall_time(DAY, "08:00"))  # one hour back

    recalled = queue.recall(1, PAD)
    assert ticket_events(queue)[-1].at == recalled.called_at
    skipped = queue.skip(1, PAD)
    assert skipped.finished_at == skipped.called_at
    clock.advance(60)  # 08:01, still behind A003's issue at 09:02
    third = queue.call_next(1, PAD)
    assert third is not None and third.called_at == third.issued_at
    queue.finish(1, PAD)
    assert_times_run_forward(queue)
    assert [e.data["state"] for e in health_events(queue)] == ["warning"]

    clock.set(at_hall_time(DAY, "09:10"))  # caught up with everything written
    queue.issue("social", "kiosk-1")
    queue.call_next(1, PAD)
    assert [e.data["state"] for e in health_events(queue)] == ["warning", "ok"]

    clock.set(at_hall_time(DAY, "09:00"))  # a second step back
    queue.finish(1, PAD)
    assert [e.data["state"] for e in health_events(queue)] == ["warning", "ok", "warning"]
    assert_times_run_forward(queue)


def test_a_restart_does_not_report_the_same_step_twice(
    tmp_path: Path, queue: HallQueue, clock: SimClock
):
    """The report is in the hall database: a PAD restarted while its clock is still behind
    dates forward without reporting again, and reports ``ok`` once its clock has caught up."""
    queue.issue("social", "kiosk-1")
    clock.advance(300)
    queue.call_next(1, PAD)
    clock.advance(-600)
    queue.finish(1, PAD)
    assert len(health_events(queue)) == 1

    restarted = HallQueue(journal.connect(tmp_path / "hall.db"), load_hall_config(), clock)
    restarted.issue("social", "kiosk-1")  # a kiosk's issue is not dated by the PAD's clock
    restarted.call_next(1, PAD)
    assert len(health_events(restarted)) == 1
    clock.advance(3600)
    restarted.finish(1, PAD)
    assert [e.data["state"] for e in health_events(restarted)] == ["warning", "ok"]
    assert_times_run_forward(restarted)


def test_a_clock_that_runs_forward_reports_nothing(queue: HallQueue, clock: SimClock):
    for _ in range(3):
        queue.issue("social", "kiosk-1")
        clock.advance(30)
        queue.call_next(1, PAD)
        queue.recall(1, PAD)  # in the same second as the call: equal times are in order
        queue.finish(1, PAD)
    assert health_events(queue) == []
    assert last_journaled(queue.conn, PAD) is None
    assert_times_run_forward(queue)


def test_the_step_back_warning_keeps_the_device_usable() -> None:
    health = clock_went_back(PAD)
    assert health.state is HealthState.WARNING and health.usable

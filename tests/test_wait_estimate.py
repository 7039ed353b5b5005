"""The wait a citizen is told when the ticket comes out (issue #14): a range that counts the
windows really serving, is not dragged by one odd service, and reads like a person would say it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.events import Kind
from devices.open import open_ticket_printer
from devices.ticket_printer import TicketPrinter
from flows.queue import HallQueue, IssuedTicket
from flows.ticketing import TicketFlow
from flows.wait_estimate import (
    IDLE_GRACE_S,
    Desk,
    HandlingTimes,
    estimate_wait,
    rounded_range,
    wait_text,
)
from hallstore import journal
from hardware_sim import simulator_of
from tests.conftest import HallDb

AHT = 300.0  # the demo hall's social-security handling time


def issue_n(queue: HallQueue, n: int, service: str = "social") -> list[IssuedTicket]:
    return [queue.issue(service, "kiosk-1") for _ in range(n)]


def serve(hall_db: HallDb, window: int, seconds: float) -> None:
    """Window ``window`` calls its next ticket and finishes it ``seconds`` later."""
    hall_db.queue.call_next(window, f"pad-{window}")
    hall_db.clock.advance(seconds)
    hall_db.queue.finish(window, f"pad-{window}")


# --- windows that do not serve ------------------------------------------------------------


def test_a_window_signed_in_but_idle_while_citizens_wait_does_not_shorten_the_wait(
    hall_db: HallDb,
) -> None:
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    q.open_window(2, "pad-2", "staff-2")  # signed in; nobody at it calls
    issue_n(q, 6)
    q.call_next(1, "pad-1")
    hall_db.clock.advance(IDLE_GRACE_S + 60)  # window 2 calls nobody all that time
    idle = q.issue("social", "kiosk-1")

    # The same hall where window 2 just signed in: it will call at once.
    q.close_window(2, "pad-2")
    q.open_window(2, "pad-2", "staff-2")
    working = q.issue("social", "kiosk-1")

    # Five ahead at one window of about 5 minutes each, less what the current one has done.
    assert idle.est_wait_low_s >= 0.6 * 5 * AHT
    assert working.est_wait_s < 0.7 * idle.est_wait_s


def test_a_paused_window_does_not_count_and_counts_again_once_resumed(hall_db: HallDb) -> None:
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    q.open_window(2, "pad-2", "staff-2")
    issue_n(q, 8)
    q.call_next(1, "pad-1")
    q.pause_window(2, "pad-2", "休息")
    paused = q.issue("social", "kiosk-1")
    q.resume_window(2, "pad-2")
    serving = q.issue("social", "kiosk-1")
    assert paused.est_wait_s > 1.6 * serving.est_wait_s
    assert paused.est_wait_low_s >= 0.6 * 7 * AHT  # 7 after the one at window 1, one window


def test_before_any_window_signs_in_the_configured_ones_are_assumed(hall_db: HallDb) -> None:
    """Tickets taken before the hall opens get an answer, not 0."""
    issue_n(hall_db.queue, 5)
    early = hall_db.queue.issue("social", "kiosk-1")
    assert early.est_wait_s > 0
    assert "分钟" in early.wait_text


# --- what takes a window's time -----------------------------------------------------------


def test_one_16_second_service_does_not_set_the_pace(hall_db: HallDb) -> None:
    """The demo's bug: 21 ahead, one 16-second service finished, '约2分钟' printed."""
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    issue_n(q, 1)
    serve(hall_db, 1, 16)
    issue_n(q, 20)
    issued = q.issue("social", "kiosk-1")
    assert issued.people_ahead == 20
    # About 20 × 5 minutes at one window; the prior outweighs one odd service.
    assert issued.est_wait_s > 0.7 * 20 * AHT
    assert issued.wait_text == "预计等候超过60分钟"


def test_one_outlier_among_many_is_clamped_not_believed() -> None:
    steady = [300.0] * 19
    assert HandlingTimes(300, [*steady, 16]).mean_s == pytest.approx(300, rel=0.06)
    assert HandlingTimes(300, [*steady, 7200]).mean_s < 400  # a forgotten 办结
    assert HandlingTimes(300, [16]).mean_s > 220


def test_history_moves_the_estimate_off_a_wrong_configuration(hall_db: HallDb) -> None:
    """Services that really take 10 minutes are estimated near 10, not the configured 5."""
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    for _ in range(30):
        issue_n(q, 1)
        serve(hall_db, 1, 600)
    issue_n(q, 4)
    issued = q.issue("social", "kiosk-1")
    assert 0.8 * 4 * 600 <= issued.est_wait_s <= 1.3 * 4 * 600


def test_other_services_ahead_at_a_shared_window_are_counted(hall_db: HallDb) -> None:
    """Window 2 serves 社保 and 户籍 in issue order: household tickets ahead take its time."""
    q = hall_db.queue
    q.open_window(2, "pad-2", "staff-2")
    issue_n(q, 4, "household")  # configured 420 s each
    hall_db.clock.advance(30)
    issued = q.issue("social", "kiosk-1")
    assert issued.people_ahead == 0  # nobody of its own service
    assert issued.est_wait_s > 0.7 * 4 * 420


def test_a_green_channel_ticket_goes_ahead_in_the_estimate(hall_db: HallDb) -> None:
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    first = q.issue("social", "kiosk-1")
    after_walk_in = q.issue("social", "kiosk-1")
    q.issue("social", "kiosk-1", priority="green")
    q.issue("social", "kiosk-1", priority="green")
    later = q.issue("social", "kiosk-1")
    assert first.est_wait_s == 0  # the free window calls it at once
    # Two walk-ins and two 绿色通道 tickets ahead of the last one, one window.
    assert later.est_wait_s > 1.5 * after_walk_in.est_wait_s
    assert later.est_wait_s > 0.7 * 3 * AHT


# --- the range ----------------------------------------------------------------------------


def test_the_range_holds_the_wait_of_a_steady_window() -> None:
    """One window, every service 5 minutes, the current one 100 s in, four ahead: the next
    citizen is called after 200 + 4 × 300 = 1400 s."""
    ahead = [f"t{i}" for i in range(4)]
    desks = [Desk(1, (*ahead, "me"), serving="social", serving_for_s=100)]
    handling = {"social": HandlingTimes(300, [300.0] * 30)}
    services = {t: "social" for t in (*ahead, "me")}
    est = estimate_wait(desks, "me", services, handling, seed="x")
    assert est.low_s <= 1400 <= est.high_s
    assert est.mid_s == pytest.approx(1400, rel=0.1)
    assert "约20–30分钟" in est.text


def test_the_same_queue_gets_the_same_estimate() -> None:
    desks = [Desk(1, ("a", "b", "me")), Desk(2, ("a", "b", "me"), serving="social")]
    handling = {"social": HandlingTimes(300, [200.0, 250, 400, 500])}
    services = {"a": "social", "b": "social", "me": "social"}
    first = estimate_wait(desks, "me", services, handling, seed="me")
    assert estimate_wait(desks, "me", services, handling, seed="me") == first


def test_the_issued_event_carries_the_range_and_its_middle(hall_db: HallDb) -> None:
    q = hall_db.queue
    q.open_window(1, "pad-1", "staff-1")
    issued = issue_n(q, 5)[-1]
    data = [
        p.event.data
        for p in journal.pending(hall_db.conn, 1000)
        if p.event.kind == Kind.TICKET_ISSUED
    ][-1]
    assert data["est_wait_low_s"] <= data["est_wait_s"] <= data["est_wait_high_s"]
    assert data["est_wait_s"] == issued.est_wait_s
    assert (data["est_wait_low_s"], data["est_wait_high_s"]) == (
        issued.est_wait_low_s,
        issued.est_wait_high_s,
    )


# --- what the citizen reads ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("low_min", "high_min", "text"),
    [
        (0, 0, "预计等候不到5分钟"),
        (1.5, 4.2, "预计等候不到5分钟"),
        (2, 8, "预计等候不到10分钟"),
        (15.5, 24, "预计等候约15–25分钟"),
        (17, 19, "预计等候约15–20分钟"),
        (28, 41, "预计等候约30–40分钟"),
        (45, 75, "预计等候45分钟以上"),
        (61, 90, "预计等候超过60分钟"),
    ],
)
def test_the_wait_reads_as_a_rounded_range(low_min: float, high_min: float, text: str) -> None:
    assert wait_text(low_min * 60, high_min * 60) == text


def test_the_told_range_is_the_estimated_one_to_the_nearest_5_minutes() -> None:
    for low, high in ((61, 299), (400, 1500), (1700, 2500), (1120, 1820), (3000, 4000)):
        lo, hi = rounded_range(low, high)
        assert abs(lo * 60 - low) <= 150 and (abs(hi * 60 - high) <= 150 or hi == lo + 5)


@pytest.fixture
def printer() -> Iterator[TicketPrinter]:
    p = open_ticket_printer("sim://usb-printer", "printer-1")
    yield p
    p.close()


def test_the_kiosk_screen_and_the_printed_ticket_say_the_same_range(
    hall_db: HallDb, printer: TicketPrinter
) -> None:
    hall_db.queue.open_window(1, "pad-1", "staff-1")
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    for _ in range(5):
        flow.take("social")
    screen = flow.take("social")
    text = screen.data["est_wait_text"]
    assert text.startswith("预计等候约") and "–" in text  # 5 ahead at one window: 约20–30分钟
    assert text in simulator_of(printer).tickets[-1].texts

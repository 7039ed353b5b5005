"""Collector metrics, fed with the events a real hall queue journals."""

from __future__ import annotations

import random

import pytest

from collector.metrics import HallMetrics
from core.events import Event, Kind
from tests.hall_events import RecordedHall


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


def fed(hall: RecordedHall, events: list[Event] | None = None) -> HallMetrics:
    metrics = HallMetrics({hall.hall_id: hall.config})
    metrics.observe_all(hall.take() if events is None else events)
    return metrics


def busy_morning(hall: RecordedHall) -> list[Event]:
    """Three windows, a dozen citizens, some called, finished, skipped; still a queue."""
    hall.open(1, 2, 3)
    for i in range(12):
        hall.issue(["social", "household", "business"][i % 3])
        hall.advance(45)
    for window in (1, 2, 3, 1, 2, 3):
        hall.call(window)
        hall.advance(200)
        if window == 2:
            hall.skip(window)
        else:
            hall.finish(window)
        hall.advance(20)
    return hall.take()


def test_a_new_ticket_waits_and_ages_with_the_hall_clock(hall):
    hall.open(1)
    hall.issue("social")
    issued_at = hall.now()
    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "social", issued_at + 300)

    assert snap.waiting_count == 1
    assert snap.oldest_wait_s == 300
    assert snap.wait_s == 300
    assert snap.arrivals_30m == 1
    assert snap.open_windows == (1,)


def test_a_long_wait_that_was_just_called_still_counts_for_fifteen_minutes(hall):
    hall.open(1)
    hall.issue("social")
    hall.advance(1200)
    hall.call(1)  # waited 20 min
    called_at = hall.now()
    metrics = fed(hall)

    during = metrics.snapshot(hall.hall_id, "social", called_at + 14 * 60)
    after = metrics.snapshot(hall.hall_id, "social", called_at + 16 * 60)

    assert during.waiting_count == 0
    assert during.wait_s == 1200
    assert after.wait_s == 0


def test_wait_is_the_longest_of_waiting_age_and_recent_calls(hall):
    hall.open(1)
    hall.issue("social")
    hall.advance(600)
    hall.issue("social")
    hall.advance(100)
    hall.call(1)  # first ticket waited 700 s
    metrics = fed(hall)
    now = hall.now()

    early = metrics.snapshot(hall.hall_id, "social", now)
    late = metrics.snapshot(hall.hall_id, "social", now + 800)

    assert early.wait_s == 700  # the called one waited longer than the second's 100 s
    assert early.avg_wait_s == pytest.approx((700 + 100) / 2)
    assert late.wait_s == 900  # now the second ticket has waited longer
    assert late.oldest_wait_s == 900


def test_time_in_hall_and_handling_time_come_from_finished_tickets(hall):
    hall.open(1)
    hall.issue("social")
    hall.issue("social")
    hall.advance(100)
    hall.call(1)
    hall.advance(240)
    hall.finish(1)  # in hall 340 s, handled 240 s
    hall.call(1)
    hall.advance(360)
    hall.finish(1)  # in hall 700 s, handled 360 s
    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "social", hall.now())

    assert snap.served_count == 2
    assert snap.time_in_hall_s == 700
    assert snap.time_in_hall_avg_s == pytest.approx(520)
    assert snap.aht_s == pytest.approx(300)
    later = metrics.snapshot(hall.hall_id, "social", hall.now() + 31 * 60)
    assert later.time_in_hall_s == 0  # finished tickets leave the 30-minute window


def test_handling_time_falls_back_to_the_configured_one_before_history(hall):
    hall.issue("business")
    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "business", hall.now())

    assert snap.aht_s == hall.config.service("business").aht_s


def test_someone_still_in_the_hall_raises_time_in_hall_before_they_finish(hall):
    hall.open(1)
    hall.issue("social")
    hall.advance(50 * 60)
    hall.call(1)
    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "social", hall.now() + 15 * 60)

    assert snap.time_in_hall_s == 65 * 60
    assert snap.time_in_hall_avg_s == 0


def test_arrivals_count_only_the_last_thirty_minutes(hall):
    for i in range(4):
        if i:
            hall.advance(600)
        hall.issue("household")  # 08:30, 08:40, 08:50, 09:00
    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "household", hall.now())

    assert snap.arrivals_30m == 3  # 08:30 is exactly 30 minutes ago: out


def test_open_windows_follow_sign_in_and_the_windows_services(hall):
    hall.open(1, 2, 3)
    hall.close(2)
    metrics = fed(hall)
    now = hall.now()

    assert metrics.snapshot(hall.hall_id, "social", now).open_windows == (1, 3)
    assert metrics.snapshot(hall.hall_id, "household", now).open_windows == (3,)
    assert metrics.snapshot(hall.hall_id, "business", now).open_windows == (3,)
    assert metrics.hall_snapshot(hall.hall_id, now).open_windows == (1, 3)


def test_a_finish_that_arrives_before_its_issue_leaves_nobody_waiting(hall):
    hall.open(1)
    hall.issue("social")
    hall.advance(300)
    hall.call(1)
    hall.advance(200)
    hall.finish(1)
    events = hall.take()
    opened, issued, called, finished = events
    metrics = fed(hall, [opened, finished, called, issued])

    snap = metrics.snapshot(hall.hall_id, "social", hall.now())

    assert snap.waiting_count == 0
    assert snap.served_count == 1
    assert snap.time_in_hall_s == 500
    assert snap.aht_s == 200


def test_any_arrival_order_gives_the_same_picture(hall):
    events = busy_morning(hall)
    now = hall.now()
    in_order = fed(hall, events).hall_snapshot(hall.hall_id, now)
    rng = random.Random(41)

    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert fed(hall, shuffled).hall_snapshot(hall.hall_id, now) == in_order


def test_duplicates_change_nothing(hall):
    events = busy_morning(hall)
    now = hall.now()
    once = fed(hall, events).hall_snapshot(hall.hall_id, now)

    twice = fed(hall, events + events[::-1]).hall_snapshot(hall.hall_id, now)

    assert twice == once
    assert once.waiting_count == 6
    assert once.served_count == 4


def test_a_late_window_open_does_not_undo_a_newer_close(hall):
    hall.open(1, 2)
    hall.advance(60)
    hall.close(2)
    opened_1, opened_2, closed_2 = hall.take()
    metrics = fed(hall, [opened_1, closed_2, opened_2])

    assert metrics.snapshot(hall.hall_id, "social", hall.now()).open_windows == (1,)


def test_a_hall_without_config_uses_the_services_its_windows_announce(hall):
    hall.open(2)
    hall.issue("household")
    metrics = HallMetrics()
    metrics.observe_all(hall.take())

    snap = metrics.snapshot(hall.hall_id, "household", hall.now())

    assert snap.open_windows == (2,)
    assert metrics.services(hall.hall_id) == ["household"]


def test_the_next_business_day_starts_with_an_empty_queue(hall):
    hall.issue("social")
    yesterday = hall.take()
    hall.advance(24 * 3600)
    hall.issue("social")
    today = hall.take()
    metrics = fed(hall, today + yesterday)  # yesterday's upload arrives late

    snap = metrics.snapshot(hall.hall_id, "social", hall.now())

    assert snap.waiting_count == 1
    assert metrics.watermark(hall.hall_id) == hall.now()


def test_hall_totals_ratings_and_device_health(hall):
    events = busy_morning(hall)
    finished = [e for e in events if e.kind == Kind.TICKET_FINISHED]
    ratings = [
        Event(
            Kind.RATING_SUBMITTED,
            hall.hall_id,
            "rating-1",
            i + 1,
            e.at + 5,
            {
                "ticket_id": e.data["ticket_id"],
                "ticket_no": e.data["ticket_no"],
                "service": e.data["service"],
                "window": e.data["window"],
                "level": lv,
                "label": "x",
            },
        )
        for i, (e, lv) in enumerate(zip(finished, [5, 4, 5, 2], strict=True))
    ]
    health = [
        Event(
            Kind.DEVICE_HEALTH,
            hall.hall_id,
            "kiosk-1",
            100,
            hall.now() - 10,
            {"device": "printer-1", "state": "ok", "reasons": [], "code": 0},
        ),
        Event(
            Kind.DEVICE_HEALTH,
            hall.hall_id,
            "kiosk-1",
            101,
            hall.now() - 5,
            {"device": "printer-1", "state": "error", "reasons": ["paper_out"], "code": 310},
        ),
    ]
    metrics = fed(hall, events + ratings + ratings[:1] + health[::-1])

    total = metrics.hall_snapshot(hall.hall_id, hall.now())

    assert total.waiting_count == sum(s.waiting_count for s in total.services) == 6
    assert [s.service for s in total.services] == ["social", "household", "business"]
    assert total.rating_count == 4
    assert total.rating_avg == 4.0
    assert total.device_health == {"printer-1": "error"}


def test_a_transferred_ticket_waits_again_in_its_new_service_whatever_arrives_late(hall):
    hall.open(1)
    ticket = hall.issue("social")
    hall.advance(60)
    hall.call(1)
    called = hall.take()
    hall.advance(120)
    hall.queue.transfer(1, "pad-1", to_service="household")
    transfer = hall.take()

    metrics = fed(hall, transfer + called)  # the old call arrives after the transfer

    now = hall.now()
    assert metrics.snapshot(hall.hall_id, "social", now).waiting_count == 0
    household = metrics.snapshot(hall.hall_id, "household", now)
    assert household.waiting_count == 1
    assert household.wait_s >= 180  # still waiting since it was issued
    hall.advance(30)
    hall.open(2)  # window 1 serves social only
    assert hall.call(2).ticket_no == ticket.ticket_no
    metrics.observe_all(hall.take())
    assert metrics.snapshot(hall.hall_id, "household", hall.now()).waiting_count == 0


def test_an_undone_skip_is_served_again_and_its_finish_counts(hall):
    hall.open(1)
    hall.issue("social")
    hall.advance(60)
    hall.call(1)
    hall.advance(30)
    skipped = hall.skip(1)
    hall.advance(10)
    hall.queue.undo_skip(1, "pad-1", skipped.ticket_id)
    hall.advance(200)
    hall.finish(1)

    metrics = fed(hall)

    snap = metrics.snapshot(hall.hall_id, "social", hall.now())
    assert snap.served_count == 1
    assert snap.waiting_count == 0


def _long_day(hall: RecordedHall, rng: random.Random) -> list[list[Event]]:
    """A day of hours: tickets issued, called, finished, skipped, transferred and called
    again after an undone skip, journalled in the chunks a hall would upload."""
    hall.open(1, 2, 3)
    chunks = []
    services = ["social", "household", "business"]
    for _ in range(160):
        for _ in range(rng.randint(0, 3)):
            hall.issue(rng.choice(services))
        window = rng.randint(1, 3)
        ticket = hall.call(window)
        if ticket is not None:
            hall.advance(rng.uniform(30, 400))
            roll = rng.random()
            if roll < 0.12:
                skipped = hall.skip(window)
                if rng.random() < 0.3:
                    hall.queue.undo_skip(window, f"pad-{window}", skipped.ticket_id)
                    hall.finish(window)
            elif roll < 0.18:
                others = [s for s in services if s != ticket.service]
                hall.queue.transfer(window, f"pad-{window}", to_service=rng.choice(others))
            else:
                hall.finish(window)
        hall.advance(rng.uniform(20, 240))
        chunks.append(hall.take())
    return chunks


@pytest.mark.parametrize("seed", [3, 17, 29])
def test_a_long_running_hall_gives_the_snapshots_of_one_fed_afresh(hall, seed):
    # The collector keeps a hall's ended tickets as numbers once they are past every
    # lookback; the snapshots must stay those of walking every ticket, whatever comes late.
    rng = random.Random(seed)
    chunks = _long_day(hall, rng)
    live = HallMetrics({hall.hall_id: hall.config})
    delivered: list[Event] = []
    for n, chunk in enumerate(chunks):
        if rng.random() < 0.15 and delivered:
            chunk = chunk + rng.sample(delivered, min(3, len(delivered)))  # redelivered
        rng.shuffle(chunk)
        live.observe_all(chunk)
        delivered.extend(chunk)
        clock = live.watermark(hall.hall_id)
        if clock is None:
            continue
        moments = [clock]
        if n % 7 == 0:
            moments.append(clock - rng.uniform(0, 5400))  # a question about the past
        for now in moments:
            afresh = fed(hall, delivered).hall_snapshot(hall.hall_id, now)
            assert live.hall_snapshot(hall.hall_id, now) == afresh, (n, now)
    served = live.hall_snapshot(hall.hall_id, live.watermark(hall.hall_id)).served_count
    assert served > 100  # a day long enough that most of it was settled

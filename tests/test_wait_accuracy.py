"""The collector scores the wait told on each ticket against the wait the citizen had, per
hall, service and hour, with underestimates apart (issue #14)."""

from __future__ import annotations

import pytest

from collector.wait_accuracy import WaitAccuracy, day_accuracy, figures
from core.clock import at_hall_time
from core.events import Event, Kind
from tests.hall_events import RecordedHall

DAY = "2026-11-23"


def told(ticket: str, service: str, hhmm: str, est: float, low: float | None = None,
         high: float | None = None, **extra: object) -> Event:  # fmt: skip
    at = at_hall_time(DAY, hhmm)
    data = {"ticket_id": ticket, "ticket_no": ticket, "service": service, "issued_at": at,
            "people_ahead": 0, "est_wait_s": est} | extra  # fmt: skip
    if low is not None:
        data |= {"est_wait_low_s": low, "est_wait_high_s": high}
    return Event(Kind.TICKET_ISSUED, "hall-demo", "kiosk-1", 1, at, data)


def called(ticket: str, service: str, issued: str, waited_s: float) -> Event:
    issued_at = at_hall_time(DAY, issued)
    data = {"ticket_id": ticket, "ticket_no": ticket, "service": service, "issued_at": issued_at,
            "window": 1, "called_at": issued_at + waited_s, "call_count": 1,
            "wait_s": waited_s}  # fmt: skip
    return Event(Kind.TICKET_CALLED, "hall-demo", "pad-1", 1, issued_at + waited_s, data)


def test_each_estimate_is_scored_against_the_actual_wait_underestimates_apart() -> None:
    events = [
        told("A1", "social", "09:10", 600, 480, 780),   # waited 900: 300 short, past the range
        told("A2", "social", "09:20", 600, 480, 780),   # waited 500: 100 over, inside
        told("A3", "social", "10:05", 1200, 960, 1560),  # waited 1300: 100 short, inside
        called("A1", "social", "09:10", 900),
        called("A2", "social", "09:20", 500),
        called("A3", "social", "10:05", 1300),
    ]
    fold = WaitAccuracy()
    for e in reversed(events + events):  # any order, twice
        fold.observe(e)
    f = figures(fold.estimates())
    assert f["count"] == 3
    assert f["mae_s"] == pytest.approx(500 / 3, abs=0.1)
    assert f["bias_s"] == pytest.approx(-100, abs=0.1)
    assert f["under_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert f["under_mae_s"] == pytest.approx(200)
    assert f["within_range"] == pytest.approx(2 / 3, abs=1e-3)
    assert f["late_share"] == pytest.approx(1 / 3, abs=1e-3)


def test_rows_are_per_service_and_hour_of_issue() -> None:
    events = [
        told("A1", "social", "09:10", 600), called("A1", "social", "09:10", 900),
        told("A2", "social", "10:20", 600), called("A2", "social", "10:20", 600),
        told("B1", "household", "09:40", 300), called("B1", "household", "09:40", 200),
        told("B2", "household", "09:50", 300),  # still waiting: not scored yet
    ]  # fmt: skip
    block = day_accuracy(events, DAY)
    rows = {(r["service"], r["hour"]): (r["count"], r["mae_s"], r["bias_s"]) for r in block["hours"]}
    assert rows == {
        ("household", 9): (1, 100.0, 100.0),
        ("social", 9): (1, 300.0, -300.0),
        ("social", 10): (1, 0.0, 0.0),
    }
    assert block["totals"]["count"] == 3
    assert block["totals"]["within_range"] is None  # told without a range (an older hall)


def test_an_offline_ticket_and_a_second_call_after_a_transfer_do_not_count() -> None:
    transfer_call = called("A1", "household", "09:10", 2000)  # called again at its new window
    events = [
        told("A1", "social", "09:10", 600), called("A1", "social", "09:10", 700), transfer_call,
        told("A9001", "social", "09:15", 0, offline=True), called("A9001", "social", "09:15", 800),
    ]  # fmt: skip
    f = day_accuracy(events, DAY)["totals"]
    assert (f["count"], f["mae_s"]) == (1, 100.0)


def test_the_day_kpis_carry_the_hall_s_own_estimates(tmp_path) -> None:
    from collector.kpis import KpiInputs, day_kpis

    hall = RecordedHall(tmp_path / "hall.db")
    hall.open(1)
    for _ in range(3):
        hall.issue("social")
    for _ in range(3):
        hall.call(1)
        hall.advance(300)
        hall.finish(1)
    block = day_kpis("hall-demo", DAY, hall.take(), KpiInputs(config=hall.config))["wait_estimate"]
    assert block["totals"]["count"] == 3
    assert block["totals"]["within_range"] is not None
    assert [s["service"] for s in block["services"]] == ["social"]
    hall.close_db()

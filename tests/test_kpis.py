"""A hall day's KPIs, from what the hall journaled: the figures a manager reads on the wall
screen and in the day's report."""

from __future__ import annotations

import pytest

from collector.baseline import BaselineTable, SlotLevels, slot_of
from collector.kpis import KpiInputs, availability, day_kpis, live_floor
from collector.platform_totals import PlatformTotals
from collector.rating_followup import BadRatingDesk
from core.clock import at_hall_time
from core.config import parse_hall_config
from core.events import Event, Kind
from flows.transactions import transaction_event
from tests.hall_events import RecordedHall

DAY = "2026-11-23"


def at(hhmm: str) -> float:
    return at_hall_time(DAY, hhmm)


class Day:
    """A constructed morning with known waits, handling times, ratings, kiosk work and a
    printer fault, and every event it journaled."""

    def __init__(self, tmp_path) -> None:
        hall = RecordedHall(tmp_path / "hall.db", start=at("08:30"))
        self.config = hall.config
        self.hall = hall
        events: list[Event] = []
        q = hall.queue
        hall.open(1, 3)
        a1 = hall.issue("social")
        hall.advance(60)
        a2 = hall.issue("social")
        hall.advance(60)
        b1 = hall.issue("household")
        hall.clock.set(at("08:40"))
        hall.call(1)  # A1 waited 600 s
        hall.call(3)  # A2 waited 540 s
        hall.clock.set(at("08:50"))
        hall.finish(1)  # handled 600 s by staff-1
        hall.finish(3)  # handled 600 s by staff-3
        hall.call(3)  # B1 waited 1080 s: over the 900 s promise
        hall.clock.set(at("09:00"))
        hall.close(1)
        q.open_window(1, "pad-1", "staff-9")  # another clerk takes window 1
        with q.store.transaction() as tx:
            tx.journal(Kind.DEVICE_HEALTH, "printer-1",
                       {"device": "printer-1", "state": "error", "reasons": ["paper_out"],
                        "code": 301}, at=hall.now())  # fmt: skip
        hall.advance(60)
        hall.issue("social")  # A3
        hall.clock.set(at("09:05"))
        hall.call(1)  # A3 waited 240 s
        hall.clock.set(at("09:08"))
        hall.finish(1)  # handled 180 s by staff-9
        hall.clock.set(at("09:10"))
        hall.finish(3)  # B1 handled 1200 s by staff-3
        hall.clock.set(at("09:15"))
        with q.store.transaction() as tx:
            tx.journal(Kind.DEVICE_HEALTH, "printer-1",
                       {"device": "printer-1", "state": "ok", "reasons": [], "code": 0},
                       at=hall.now())  # fmt: skip
        for ticket, level in ((a1, 5), (a2, 2), (b1, 4)):
            q.record_rating(ticket, level, "rating-1")
        kiosk = q.transaction_journal("kiosk-1", hall.clock)
        for _ in range(3):
            kiosk.record(Kind.KIOSK_TRANSACTION,
                         transaction_event("appointments", "done", item="JG-000101"))
        kiosk.record(Kind.KIOSK_TRANSACTION,
                     transaction_event("appointments", "failed", item="JG-000101"))
        kiosk.record(Kind.KIOSK_RATED, {"function": "appointments", "item": "JG-000101",
                                        "level": 1, "label": "非常不满意", "reason": "太慢"})
        events.extend(hall.take())
        self.events = events
        self.desk = BadRatingDesk(tmp_path / "collector.db")
        self.desk.record(events)

    def bad_rows(self) -> list[dict]:
        return [r.to_dict() for r in self.desk.listing(limit=100)]

    def close(self) -> None:
        self.desk.close()
        self.hall.close_db()


@pytest.fixture
def day(tmp_path):
    d = Day(tmp_path)
    yield d
    d.close()


def kpis(day: Day, **inputs) -> dict:
    given = KpiInputs(config=day.config, bad_ratings=day.bad_rows(), **inputs)
    return day_kpis("hall-demo", DAY, day.events, given, until=at("10:00"))


def test_waits_and_time_in_hall_are_measured_against_the_promise(day):
    k = kpis(day)
    totals = k["totals"]
    assert (totals["issued"], totals["served"], totals["waiting"]) == (4, 4, 0)
    wait = totals["wait"]
    assert wait["count"] == 4 and wait["max_s"] == 1080.0 and wait["promise_s"] == 900
    assert wait["avg_s"] == pytest.approx((600 + 540 + 1080 + 240) / 4, abs=0.1)
    assert wait["within_promise"] == 0.75  # B1 waited 18 minutes against a 15-minute promise
    assert totals["time_in_hall"]["within_promise"] == 0.75  # B1: 38 minutes against 30
    household = next(s for s in k["services"] if s["service"] == "household")
    assert household["name"] == "户籍办理" and household["wait"]["within_promise"] == 0.0


def test_handling_times_per_window_and_per_clerk_follow_the_sign_ins(day):
    k = kpis(day)
    windows = {w["window"]: w for w in k["windows"]}
    assert windows[1]["served"] == 2 and windows[1]["handling_avg_s"] == pytest.approx(390, abs=1)
    assert windows[3]["served"] == 2 and windows[3]["handling_avg_s"] == pytest.approx(900, abs=1)
    staff = {s["staff_id"]: s for s in k["staff"]}
    assert set(staff) == {"staff-1", "staff-3", "staff-9"}
    assert staff["staff-9"]["handling_avg_s"] == pytest.approx(180, abs=1)
    assert staff["staff-1"]["served"] == 1 and staff["staff-3"]["windows"] == [3]


def test_ratings_distribution_and_the_bad_rating_follow_up_rate(day):
    k = kpis(day)["ratings"]
    assert k["counts"] == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1}
    assert k["kiosk"]["1"] == 1 and k["window"]["2"] == 1
    assert k["satisfied_share"] == 0.5
    assert k["bad"] == {"count": 2, "followed": 0, "closed": 0, "follow_up_rate": 0.0,
                        "closed_rate": 0.0}  # fmt: skip
    first = day.desk.listing(limit=10)[-1]
    day.desk.step(first.id, "verified", "周经理", "已核实", at("11:00"))
    assert kpis(day)["ratings"]["bad"]["follow_up_rate"] == 0.5


def test_kiosk_rate_says_the_platform_total_is_missing_instead_of_guessing(day, tmp_path):
    k = kpis(day)["kiosk"]
    assert k["platform"] == "missing" and k["platform_text"] == "平台总量未接入"
    assert k["rate"] is None and k["kiosk_done"] == 3 and k["kiosk_not_done"] == 1
    assert k["items"][0]["note"] == "平台总量未接入"

    totals = PlatformTotals(tmp_path / "totals")
    totals.save("hall-demo", DAY, {"items": {"JG-000101": 12, "JG-000999": 30},
                                   "source": "一体化平台日报"})  # fmt: skip
    k = kpis(day, platform=totals.load("hall-demo", DAY))["kiosk"]
    items = {i["item"]: i for i in k["items"]}
    assert items["JG-000101"]["rate"] == 0.25  # 3 at the kiosks of 12 in all
    assert items["JG-000999"]["rate"] == 0.0
    assert k["rate"] == round(3 / 42, 4)
    assert totals.load("hall-demo", "2026-11-24") is None


def test_a_broken_platform_file_is_not_a_day_without_transactions(tmp_path):
    totals = PlatformTotals(tmp_path)
    (tmp_path / "hall-demo").mkdir()
    (tmp_path / "hall-demo" / f"{DAY}.json").write_text('{"items": {"X": -4}}')
    assert totals.load("hall-demo", DAY) is None
    with pytest.raises(ValueError):
        totals.save("../etc", DAY, {"items": {}})


def test_device_availability_counts_the_printer_fault(day):
    devices = {d["device"]: d for d in kpis(day)["devices"]}
    printer = devices["printer-1"]
    assert printer["down_s"] == 900.0  # paper out 09:00–09:15
    assert printer["availability"] == pytest.approx(1 - 900 / 5400, abs=1e-4)
    offline = [{"device": "kiosk-2", "status": "offline", "since": at("09:30")}]
    devices = {d["device"]: d for d in kpis(day, presence=offline)["devices"]}
    assert devices["kiosk-2"]["availability"] == pytest.approx(1 - 1800 / 5400, abs=1e-4)
    assert availability(list(devices.values())) < 1


def test_trend_puts_each_slot_beside_the_weekly_baseline(day):
    weekday, slot = slot_of(at("08:30"), 30)
    table = BaselineTable("hall-demo", DAY, 0.0, 30)
    table.levels[("social", "wait_s", weekday, slot)] = SlotLevels(300.0, 600.0, 5, 40)
    table.arrivals_per_h[("social", weekday, slot)] = 4.0
    table.arrivals_per_h[("household", weekday, slot)] = 2.0
    trend = kpis(day, baseline=table)["trend"]
    rows = {r["label"]: r for r in trend["slots"]}
    assert rows["08:30"]["arrivals"] == 3 and rows["08:30"]["arrivals_baseline"] == 3.0
    assert rows["08:30"]["wait_baseline_p80_s"] == 300.0
    assert rows["08:30"]["wait_peak_s"] >= 1000  # B1 still waiting at 08:50 and beyond
    assert rows["09:00"]["arrivals"] == 1
    assert trend["baseline"] == "available" and trend["promise_wait_s"]["red"] == 1800


def test_the_floor_shows_each_window_serving_idle_or_closed(day):
    events = [e for e in day.events if e.at <= at("08:55")]
    floor = live_floor("hall-demo", day.config, events, at("08:55"))
    windows = {w["window"]: w for w in floor["windows"]}
    assert windows[3]["state"] == "serving" and windows[3]["ticket_no"].startswith("B")
    assert windows[3]["service_name"] == "户籍办理" and windows[3]["staff_id"] == "staff-3"
    assert windows[1]["state"] == "idle" and windows[1]["served_today"] == 1
    assert windows[2]["state"] == "closed" and windows[4]["state_text"] == "未开放"
    plan = floor["plan"]
    assert not plan["drawn"] and {s["no"] for s in plan["windows"]} == {1, 2, 3, 4}


def test_a_drawn_floor_plan_is_kept_and_checked():
    raw = {
        "hall": {"id": "h", "name": "测试大厅"},
        "services": [{"code": "s", "name": "综合", "prefix": "A"}],
        "windows": [{"no": 1, "services": ["s"]}, {"no": 2, "services": ["s"]}],
        "floor": {"width": 20, "depth": 12, "windows": [{"no": 2, "x": 15, "y": 1}],
                  "areas": [{"name": "等候区", "kind": "waiting", "x": 2, "y": 5, "w": 10,
                             "h": 5}]},
    }  # fmt: skip
    hall = parse_hall_config(raw)
    assert hall.floor is not None and hall.floor.windows[0].x == 15
    floor = live_floor("h", hall, [], None)
    spots = {s["no"]: s for s in floor["plan"]["windows"]}
    assert spots[2]["x"] == 15 and spots[1]["y"] > 12  # the unplaced window goes below
    from core.errors import ConfigError

    raw["floor"]["windows"][0]["no"] = 7
    with pytest.raises(ConfigError, match="window 7"):
        parse_hall_config(raw)

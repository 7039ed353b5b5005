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


def test_a_transferred_ticket_counts_under_the_service_that_served_it(day):
    """社保 calls A9 at window 1, transfers it to 户籍 (its place kept by issue time), and
    window 3 serves it there: the day counts it once, as 户籍's, as the live metrics do."""
    issued = at("09:30")
    ticket = {"ticket_id": "t-a9", "ticket_no": "A009", "issued_at": issued}

    def ev(kind: str, device: str, seq: int, when: str, **data) -> Event:
        return Event(kind, "hall-demo", device, seq, at(when), ticket | data)

    moved = [
        ev(Kind.TICKET_ISSUED, "kiosk-9", 1, "09:30", service="social"),
        ev(Kind.TICKET_CALLED, "pad-9", 1, "09:35", service="social", window=1,
           called_at=at("09:35")),
        ev(Kind.TICKET_TRANSFERRED, "pad-9", 2, "09:40", service="household",
           from_service="social", from_window=1),
        ev(Kind.TICKET_CALLED, "pad-9", 3, "09:42", service="household", window=3,
           called_at=at("09:42")),
        ev(Kind.TICKET_FINISHED, "pad-9", 4, "09:50", service="household", window=3,
           called_at=at("09:42"), finished_at=at("09:50")),
    ]
    before = {s["service"]: s for s in kpis(day)["services"]}
    given = KpiInputs(config=day.config, bad_ratings=day.bad_rows())
    # Any arrival order: the day is read in time order.
    k = day_kpis("hall-demo", DAY, moved[::-1] + day.events, given, until=at("10:00"))
    after = {s["service"]: s for s in k["services"]}
    assert after["social"]["issued"] == before["social"]["issued"]
    assert after["social"]["served"] == before["social"]["served"]
    assert after["household"]["issued"] == before["household"]["issued"] + 1
    assert after["household"]["served"] == before["household"]["served"] + 1
    # Waited from its issue to the call that served it (12 min), handled 8 min at window 3.
    assert after["household"]["wait"]["max_s"] == max(720.0,
                                                      before["household"]["wait"]["max_s"])
    windows = {w["window"]: w for w in k["windows"]}
    assert windows[3]["served"] == {w["window"]: w for w in kpis(day)["windows"]}[3]["served"] + 1
    assert k["totals"]["issued"] == kpis(day)["totals"]["issued"] + 1


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


def test_day_events_keep_only_the_halls_a_screen_follows():
    """The live KPIs keep events only for halls a screen asked for: the first ask reads the
    day so far from the store, later events are added as they come, and a hall nobody asked
    for in ``follow_s`` (or beyond ``max_halls``) is let go with its events."""
    from collector.kpis import DayEvents

    def health(hall: str, seq: int, when: str) -> Event:
        return Event(Kind.DEVICE_HEALTH, hall, "kiosk-1", seq, at(when), {"state": "ok"})

    stored = {"hall-a": [health("hall-a", 1, "08:00")], "hall-b": [health("hall-b", 1, "08:00")]}
    loads: list[str] = []

    def load(hall: str, since: float) -> list[Event]:
        loads.append(hall)
        return [e for e in stored.get(hall, []) if e.at >= since]

    today = DayEvents(load, follow_s=600, max_halls=2)
    today.observe([health("hall-a", 2, "08:01"), health("hall-c", 1, "08:01")])
    assert today.followed() == [] and today.events("hall-a") == []  # nobody asked yet

    today.follow("hall-a", DAY, now=0.0)
    today.observe([health("hall-a", 2, "08:01"), health("hall-c", 1, "08:01")])
    assert sorted(e.seq for e in today.events("hall-a")) == [1, 2]
    assert today.events("hall-c") == []
    today.follow("hall-a", DAY, now=5.0)
    assert loads == ["hall-a"]  # read from the store once

    today.follow("hall-b", DAY, now=10.0)
    today.follow("hall-c", DAY, now=20.0)  # a third hall: the one asked for longest ago goes
    assert sorted(today.followed()) == ["hall-b", "hall-c"] and today.events("hall-a") == []
    today.follow("hall-c", DAY, now=700.0)  # hall-b unasked for 690 s
    assert today.followed() == ["hall-c"]


def test_day_events_turn_with_the_business_day():
    from collector.kpis import DayEvents

    today = DayEvents(lambda hall, since: [])
    today.follow("hall-a", DAY, now=0.0)
    first = Event(Kind.DEVICE_HEALTH, "hall-a", "kiosk-1", 1, at("17:00"), {"state": "ok"})
    next_day = Event(Kind.DEVICE_HEALTH, "hall-a", "kiosk-1", 2, at("17:00") + 86400,
                     {"state": "ok"})
    today.observe([first, next_day])
    assert [e.seq for e in today.events("hall-a")] == [2]
    assert today.day("hall-a") > DAY


def test_tickets_the_day_closed_on_are_not_no_shows_and_withdrawn_ones_not_counted(tmp_path):
    """A ticket still waiting at midnight is 日终未办理, not 过号; one the hall box withdrew for
    a kiosk's offline ticket was never held by anybody and is not counted at all."""
    hall = RecordedHall(tmp_path / "hall.db", start=at("16:30"))
    hall.open(1)
    no_show = hall.issue("social")
    left = hall.issue("social")
    withdrawn = hall.issue("social")
    hall.call(1)
    hall.skip(1)  # the first citizen never came: 过号
    hall.queue.withdraw(withdrawn.ticket_id, "kiosk-1", "A9001")
    hall.clock.set(at_hall_time("2026-11-24", "00:01"))
    hall.queue.close_past_days("hallbox-hall-demo")
    events = hall.take()
    hall.close_db()
    given = KpiInputs(config=hall.config, bad_ratings=[])
    midnight = at_hall_time("2026-11-24", "00:00")
    totals = day_kpis("hall-demo", DAY, events, given, until=midnight)["totals"]
    assert (totals["issued"], totals["skipped"], totals["expired"]) == (2, 1, 1)
    assert no_show.ticket_no != left.ticket_no

"""The tidal method on constructed weeks: levels from the weekly baseline, floored by the
promise, the pending period and the hold, the valley, change points, cold start, and advice
bounded by the hall's windows."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from collector.baseline import BaselineLevels, compute_baseline
from collector.baseline_store import BaselineStore
from collector.holidays import HolidayCalendar
from collector.metrics import ServiceSnapshot
from collector.tidal_config import TidalSettings
from collector.warnings import HallFacts, TidalWarningEngine
from core.clock import at_hall_time
from core.config import load_hall_config
from tests.tidal_weeks import LOW_PROMISE, ConstructedWeeks, business_days

SETTINGS = TidalSettings()
CALENDAR = HolidayCalendar()
#: A Monday; the baseline is the eight weeks before it (清明 and 劳动节 2026 fall inside).
TODAY = "2026-06-01"
FIRST = "2026-04-06"


def snap(at: float, wait_s: float = 0.0, waiting: int = 0, windows: tuple[int, ...] = (1,),
         arrivals: int = 0, aht_s: float = 300.0) -> ServiceSnapshot:  # fmt: skip
    return ServiceSnapshot(
        hall="hall-demo", service="social", at=at, waiting_count=waiting,
        oldest_wait_s=wait_s, wait_s=wait_s, avg_wait_s=wait_s, time_in_hall_s=0.0,
        time_in_hall_avg_s=0.0, arrivals_30m=arrivals, served_count=0, skipped_count=0,
        aht_s=aht_s, open_windows=windows,
    )  # fmt: skip


def levels_from(table, promise=LOW_PROMISE) -> BaselineLevels:
    levels = BaselineLevels(promise, SETTINGS, CALENDAR)
    levels.table = table
    return levels


def wait_story(engine: TidalWarningEngine, snaps) -> list[tuple[str, float, float, str | None]]:
    return [(t.level, t.at, t.threshold, t.basis) for s in snaps for t in engine.evaluate(s)
            if t.metric == "wait_s"]  # fmt: skip


@pytest.fixture(scope="module")
def usual_mondays(tmp_path_factory):
    """Eight weeks in which a morning's citizens wait about 10 minutes; on the holidays the
    few who came waited an hour (they must not count)."""
    weeks = ConstructedWeeks(tmp_path_factory.mktemp("weeks") / "hall.db")
    for i, day in enumerate(business_days(FIRST, 8)):
        if CALENDAR.is_irregular(day):
            weeks.morning(day, [60, 60])
        else:
            weeks.morning(day, [6 + i % 7, 10, 14 - i % 5, 8, 12])
    table = compute_baseline(weeks.hall.config, weeks.events, TODAY, SETTINGS, CALENDAR, time.time())
    yield table
    weeks.close()


def test_the_baseline_skips_holidays_and_reads_the_usual_morning(usual_mondays):
    table = usual_mondays
    monday_nine = table.levels[("social", "wait_s", 0, 18)]  # Monday, 09:00–09:30

    assert {"2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05"} <= set(table.skipped_days)
    assert monday_nine.days == 6  # eight Mondays less 清明 and 劳动节
    # About ten minutes, not the hour the holiday crowd waited.
    assert 8 * 60 <= monday_nine.yellow < monday_nine.red <= 16 * 60
    assert table.since == {}  # no change point in a steady pattern


def test_a_flood_raises_yellow_then_red_at_the_baseline_levels_and_resolves_after_the_hold(
    usual_mondays,
):
    levels = levels_from(usual_mondays)
    engine = TidalWarningEngine(LOW_PROMISE, levels)
    t0 = at_hall_time(TODAY, "09:00")
    lv = levels.levels("hall-demo", "social", "wait_s", t0)
    assert lv.yellow > LOW_PROMISE.wait_s.yellow  # the baseline, not the configured level

    # The queue climbs past yellow; yellow only after the pending period (120 s).
    assert lv.red > lv.yellow + 10
    between = lv.yellow + 10
    rising = [snap(t0 + s, wait_s=between) for s in (0, 60, 119)]
    assert wait_story(engine, rising) == []
    assert wait_story(engine, [snap(t0 + 120, between)]) == [
        ("yellow", t0 + 120, lv.yellow, "baseline")
    ]
    # Past red: red once red has held for the pending period, not before.
    high = lv.red + 60
    assert wait_story(engine, [snap(t0 + 180, high), snap(t0 + 299, high)]) == []
    assert wait_story(engine, [snap(t0 + 300, high)]) == [("red", t0 + 300, lv.red, "baseline")]
    # Windows open, the wait falls below yellow: cleared only after the hold (600 s).
    calm = [snap(t0 + 400 + 60 * i, 60) for i in range(10)]
    assert wait_story(engine, calm) == []
    assert [t.level for t in engine.evaluate(snap(t0 + 1000, 60))] == ["clear"]


def test_noise_around_the_yellow_level_does_not_flap(usual_mondays):
    levels = levels_from(usual_mondays)
    engine = TidalWarningEngine(LOW_PROMISE, levels)
    t0 = at_hall_time(TODAY, "09:00")
    yellow = levels.levels("hall-demo", "social", "wait_s", t0).yellow

    # Ten minutes of a wait hopping 20 s either side of yellow every 30 s: nothing.
    hopping = [snap(t0 + 30 * i, yellow + (20 if i % 2 else -20)) for i in range(20)]
    assert wait_story(engine, hopping) == []
    # Above it for good: one yellow; hopping again afterwards neither clears nor repeats it.
    steady = [snap(t0 + 600 + 30 * i, yellow + 20) for i in range(5)]
    after = [snap(t0 + 750 + 30 * i, yellow + (20 if i % 2 else -20)) for i in range(20)]
    assert [lvl for lvl, *_ in wait_story(engine, steady + after)] == ["yellow"]


def test_a_quiet_afternoon_raises_the_valley_signal_with_a_merge_count(usual_mondays):
    engine = TidalWarningEngine(LOW_PROMISE, levels_from(usual_mondays))
    t0 = at_hall_time(TODAY, "14:00")
    # Three windows open, a citizen every ten minutes, each called at once.
    quiet = [snap(t0 + 300 * i, wait_s=10, windows=(1, 2, 3), arrivals=3) for i in range(7)]

    raised = [t for s in quiet for t in engine.evaluate(s)]

    assert [(t.level, t.at) for t in raised] == [("valley", t0 + 1800)]
    advice = raised[0].recommendation
    # Erlang C: 6 an hour at 5 minutes, 80 % called within the 2-minute promise: 2 windows.
    assert (advice.action, advice.windows) == ("merge", 1)
    assert advice.text == "建议合并窗口，可减少1个"


def test_no_valley_just_before_the_usual_rush(tmp_path):
    """Idle at 08:30, but every usual morning 09:00 brings a crowd: keep the windows."""
    weeks = ConstructedWeeks(tmp_path / "hall.db")
    for day in business_days(FIRST, 8):
        if not CALENDAR.is_irregular(day):
            weeks.morning(day, [0] * 40, start="09:00")  # forty citizens in 40 minutes
    table = compute_baseline(weeks.hall.config, weeks.events, TODAY, SETTINGS, CALENDAR, 0.0)
    weeks.close()
    engine = TidalWarningEngine(LOW_PROMISE, levels_from(table))
    t0 = at_hall_time(TODAY, "08:00")
    idle = [snap(t0 + 300 * i, wait_s=0, windows=(1, 2), arrivals=0) for i in range(8)]

    assert [t.level for s in idle for t in engine.evaluate(s)] == []


def test_the_baseline_follows_a_changed_weekly_pattern_after_a_change_point(tmp_path):
    """Five weeks of half-hour waits, then a new appointment system: four minutes."""
    weeks = ConstructedWeeks(tmp_path / "hall.db")
    days = [d for d in business_days(FIRST, 8) if not CALENDAR.is_irregular(d)]
    changed_on = "2026-05-11"
    for day in days:
        weeks.morning(day, [30, 28, 32] if day < changed_on else [4, 3, 5, 4, 3, 4])
    table = compute_baseline(weeks.hall.config, weeks.events, TODAY, SETTINGS, CALENDAR, 0.0)
    weeks.close()
    t0 = at_hall_time(TODAY, "09:00")

    assert table.since == {"social": changed_on}
    yellow = levels_from(table).levels("hall-demo", "social", "wait_s", t0).yellow
    assert yellow <= 6 * 60  # the new mornings' level, not the old half hour
    # So a 15-minute wait, unremarkable before the change, is a warning now.
    engine = TidalWarningEngine(LOW_PROMISE, levels_from(table))
    assert wait_story(engine, [snap(t0, 900), snap(t0 + 120, 900)])[0][0] == "red"


def test_a_new_hall_starts_from_its_promise_then_its_own_weeks(tmp_path):
    promise = load_hall_config().thresholds  # 15/30 minutes
    weeks = ConstructedWeeks(tmp_path / "hall.db", load_hall_config())
    mondays = ["2026-05-11", "2026-05-18", "2026-05-25"]
    t0 = at_hall_time(TODAY, "09:00")

    # No history at all: the configured promise.
    empty = compute_baseline(weeks.hall.config, [], TODAY, SETTINGS, CALENDAR, 0.0)
    assert levels_from(empty, promise).levels("hall-demo", "social", "wait_s", t0) == promise.wait_s
    assert levels_from(empty, promise).basis("hall-demo", "social", "wait_s", t0) == "promise"
    # Two Mondays of 40-minute waits: still cold start (three days needed).
    for day in mondays[:2]:
        weeks.morning(day, [40, 42, 41])
    two = compute_baseline(weeks.hall.config, weeks.events, TODAY, SETTINGS, CALENDAR, 0.0)
    assert levels_from(two, promise).levels("hall-demo", "social", "wait_s", t0) == promise.wait_s
    # The third Monday: the hall's own level, above its promise.
    weeks.morning(mondays[2], [40, 42, 41])
    three = compute_baseline(weeks.hall.config, weeks.events, TODAY, SETTINGS, CALENDAR, 0.0)
    weeks.close()
    lv = levels_from(three, promise).levels("hall-demo", "social", "wait_s", t0)
    assert lv.yellow > promise.wait_s.yellow and lv.red >= lv.yellow
    assert levels_from(three, promise).basis("hall-demo", "social", "wait_s", t0) == "baseline"


def test_the_baseline_survives_a_restart(usual_mondays, tmp_path):
    store = BaselineStore(tmp_path / "collector.db")
    store.save(usual_mondays)
    store.close()
    again = BaselineStore(tmp_path / "collector.db")
    loaded = again.load("hall-demo")
    again.close()

    assert loaded is not None and loaded.levels == usual_mondays.levels
    assert loaded.arrivals_per_h == usual_mondays.arrivals_per_h


# --- advice bounded by the hall -----------------------------------------------------------

DEMO = load_hall_config()  # social security: windows 1, 2 and 3


def peak_advice(facts: HallFacts, at: float, **crowd) -> object:
    engine = TidalWarningEngine(DEMO.thresholds, facts=facts)
    engine.evaluate(snap(at, **crowd))
    (red,) = [t for t in engine.evaluate(snap(at + 120, **crowd)) if t.metric == "wait_s"]
    return red.recommendation


def test_the_morning_peak_never_asks_for_more_windows_than_the_hall_has():
    """The reported case: 80 an hour at five minutes asked for 增开8个窗口 in a 4-window hall."""
    at = at_hall_time("2026-11-23", "09:30")
    advice = peak_advice(HallFacts.of(DEMO), at, wait_s=2000, waiting=12, windows=(1,),
                         arrivals=40)  # fmt: skip

    assert (advice.action, advice.windows, advice.capacity) == ("open", 2, 3)
    assert advice.needed == 8
    assert advice.text.startswith("建议增开2个窗口（本业务最多可开3个窗口，按测算需8个）")
    (divert,) = advice.alternatives
    assert divert.action == "appointments" and "预约分流" in advice.text
    assert "需8个窗口" in divert.reason and "最多3个" in divert.reason


def test_with_every_window_open_the_advice_is_the_alternatives_with_reasons():
    facts = HallFacts.of(DEMO, closes_at="17:00", kiosk_services=("social",))
    at = at_hall_time("2026-11-23", "15:58")  # raised two minutes later, at 16:00
    advice = peak_advice(facts, at, wait_s=2400, waiting=30, windows=(1, 2, 3), arrivals=30)

    assert (advice.action, advice.windows) == ("divert", 0)
    assert [a.action for a in advice.alternatives] == ["extend_hours", "appointments", "kiosk"]
    assert advice.text == "本业务3个窗口已全部开放；另建议延时服务、预约分流、引导群众到自助终端办理"
    extend = advice.alternatives[0]
    # 30 waiting + 60/h for the last hour = 90 citizens; 3 windows at 5 minutes serve 36.
    assert "距闭厅60分钟" in extend.reason and "预计还有90人" in extend.reason


def test_within_capacity_the_advice_is_only_windows():
    at = at_hall_time("2026-11-23", "09:30")
    advice = peak_advice(HallFacts.of(DEMO), at, wait_s=1000, waiting=4, windows=(1,), arrivals=8)

    assert (advice.action, advice.windows, advice.alternatives) == ("open", 1, ())
    assert advice.text == "建议增开1个窗口"


def test_a_hall_without_a_config_keeps_uncapped_advice():
    advice = peak_advice(HallFacts(), at_hall_time("2026-11-23", "09:30"), wait_s=2000,
                         waiting=12, windows=(1,), arrivals=40)  # fmt: skip
    assert (advice.windows, advice.capacity) == (7, None)


def test_settings_reject_a_slot_that_does_not_divide_the_day():
    from collector.tidal_config import parse_collector_settings
    from core.errors import ConfigError

    with pytest.raises(ConfigError):
        parse_collector_settings({"tidal": {"slot_min": 7}})
    assert parse_collector_settings({"tidal": {"weeks": 6}}).tidal == replace(SETTINGS, weeks=6)

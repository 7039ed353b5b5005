"""The tidal-window warning state machine on the hall clock."""

from __future__ import annotations

import pytest

from collector.metrics import HallMetrics, ServiceSnapshot
from collector.warnings import TidalWarningEngine
from core.config import Level, Thresholds
from tests.hall_events import MORNING, RecordedHall

T0 = MORNING
TH = Thresholds()  # wait 900/1800 s, pending 120 s, clear after 600 s, valley 60 s for 1800 s


def snap(
    at: float,
    wait_s: float = 0.0,
    waiting: int = 0,
    in_hall: float = 0.0,
    windows: tuple[int, ...] = (1,),
    arrivals: int = 0,
    service: str = "social",
) -> ServiceSnapshot:
    return ServiceSnapshot(
        hall="hall-demo",
        service=service,
        at=at,
        waiting_count=waiting,
        oldest_wait_s=wait_s,
        wait_s=wait_s,
        avg_wait_s=wait_s,
        time_in_hall_s=in_hall,
        time_in_hall_avg_s=in_hall,
        arrivals_30m=arrivals,
        served_count=0,
        skipped_count=0,
        aht_s=300.0,
        open_windows=windows,
    )


def run(engine: TidalWarningEngine, *snaps: ServiceSnapshot) -> list[tuple[str, str, float]]:
    return [(t.level, t.metric, t.at) for s in snaps for t in engine.evaluate(s)]


def test_a_wait_over_yellow_fires_only_after_the_pending_time():
    engine = TidalWarningEngine(TH)

    assert run(engine, snap(T0, 1000), snap(T0 + 60, 1060)) == []
    assert run(engine, snap(T0 + 120, 1120)) == [("yellow", "wait_s", T0 + 120)]
    assert engine.states("hall-demo", "social")["wait_s"] == "firing:yellow"


def test_a_firing_warning_is_not_repeated():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, 1000), snap(T0 + 120, 1000))

    assert run(engine, *(snap(T0 + 120 + 30 * i, 1000 + i) for i in range(1, 20))) == []
    assert len(engine.active("hall-demo")) == 1


def test_a_spike_shorter_than_the_pending_time_raises_nothing():
    engine = TidalWarningEngine(TH)

    changes = run(
        engine, snap(T0, 1000), snap(T0 + 100, 500), snap(T0 + 150, 1000), snap(T0 + 260, 1000)
    )

    assert changes == []
    assert engine.states("hall-demo", "social")["wait_s"] == "pending"


def test_yellow_escalates_to_red_only_after_red_held_the_pending_time():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, 1000), snap(T0 + 120, 1000))

    assert run(engine, snap(T0 + 300, 1900), snap(T0 + 400, 1950)) == []
    escalation = engine.evaluate(snap(T0 + 420, 2000))

    assert [(t.level, t.previous, t.threshold, t.value) for t in escalation] == [
        ("red", "yellow", 1800, 2000)
    ]


def test_a_wait_already_over_red_goes_straight_to_red():
    engine = TidalWarningEngine(TH)

    assert run(engine, snap(T0, 2000), snap(T0 + 120, 2120)) == [("red", "wait_s", T0 + 120)]


def test_a_warning_clears_only_after_staying_below_yellow_for_clear_after():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, 1000), snap(T0 + 120, 1000))

    # Dips below yellow and comes back: recovering, then firing again, silently.
    assert run(engine, snap(T0 + 200, 800), snap(T0 + 500, 1000)) == []
    assert engine.states("hall-demo", "social")["wait_s"] == "firing:yellow"
    assert run(engine, snap(T0 + 600, 700), snap(T0 + 1199, 600)) == []
    assert engine.states("hall-demo", "social")["wait_s"] == "recovering"
    cleared = engine.evaluate(snap(T0 + 1200, 500))

    assert [(t.level, t.previous, t.recommendation) for t in cleared] == [("clear", "yellow", None)]
    assert engine.active() == []


def test_red_steps_down_to_yellow_after_staying_between_the_levels():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, 2000), snap(T0 + 120, 2000))

    assert run(engine, snap(T0 + 200, 1200), snap(T0 + 799, 1200)) == []
    assert run(engine, snap(T0 + 800, 1200)) == [("yellow", "wait_s", T0 + 800)]


def test_every_metric_has_its_own_warning():
    engine = TidalWarningEngine(TH)

    changes = run(
        engine,
        snap(T0, 100, waiting=25, in_hall=2000),
        snap(T0 + 120, 100, waiting=25, in_hall=2000),
    )

    assert sorted(changes) == [
        ("red", "waiting_count", T0 + 120),
        ("yellow", "time_in_hall_s", T0 + 120),
    ]
    assert [t.metric for t in engine.active()] == ["waiting_count", "time_in_hall_s"]


def test_a_peak_warning_recommends_opening_windows():
    engine = TidalWarningEngine(TH)
    # 40 arrivals in 30 minutes (80/h) at 300 s each, one window open, 12 waiting.
    busy = dict(wait_s=2000, waiting=12, windows=(1,), arrivals=40)
    engine.evaluate(snap(T0, **busy))
    (red,) = [t for t in engine.evaluate(snap(T0 + 120, **busy)) if t.metric == "wait_s"]

    assert red.recommendation is not None
    assert red.recommendation.action == "open"
    # Erlang C: 80/h at 5 min (6.7 erlangs) needs 8 windows to stay ≤ 85 % busy; the backlog
    # alone (12 × 5 min within 15 min) would need 4. One is open.
    assert red.recommendation.windows == 7
    assert red.recommendation.text == "建议增开7个窗口"
    assert red.to_dict()["recommendation"]["text"] == "建议增开7个窗口"


def test_an_idle_service_with_two_windows_gets_a_valley_after_valley_for():
    engine = TidalWarningEngine(TH)
    idle = dict(wait_s=20, waiting=0, windows=(1, 2), arrivals=2)

    assert run(engine, *(snap(T0 + 300 * i, **idle) for i in range(6))) == []
    (valley,) = engine.evaluate(snap(T0 + 1800, **idle))

    assert (valley.level, valley.metric, valley.threshold) == ("valley", "wait_s", 60)
    assert valley.recommendation.to_dict() == {
        "action": "merge",
        "windows": 1,
        "text": "建议合并窗口，可减少1个",
    }
    assert run(engine, snap(T0 + 2400, **idle)) == []


def test_a_walk_in_called_at_once_does_not_end_the_idle_time():
    engine = TidalWarningEngine(TH)
    idle = dict(wait_s=0, waiting=0, windows=(1, 2))

    changes = run(
        engine,
        snap(T0, **idle),
        snap(T0 + 900, wait_s=15, waiting=1, windows=(1, 2)),
        snap(T0 + 1800, **idle),
    )

    assert changes == [("valley", "wait_s", T0 + 1800)]


def test_a_single_open_window_is_never_a_valley():
    engine = TidalWarningEngine(TH)

    assert run(engine, *(snap(T0 + 600 * i, windows=(1,)) for i in range(6))) == []


def test_a_valley_clears_at_once_when_windows_are_merged():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, windows=(1, 2)), snap(T0 + 1800, windows=(1, 2)))

    assert run(engine, snap(T0 + 1860, windows=(1,))) == [("clear", "wait_s", T0 + 1860)]
    assert engine.active() == []


def test_a_valley_clears_when_citizens_wait_again_for_the_pending_time():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, windows=(1, 2)), snap(T0 + 1800, windows=(1, 2)))

    assert run(engine, snap(T0 + 1900, 90, waiting=3, windows=(1, 2))) == []
    assert run(engine, snap(T0 + 2020, 210, waiting=3, windows=(1, 2))) == [
        ("clear", "wait_s", T0 + 2020)
    ]


def test_levels_can_come_from_a_baseline_instead_of_the_config():
    class QuietMonday:
        def levels(self, hall, service, metric, at):
            return Level(300, 600) if metric == "wait_s" else getattr(TH, metric)

    engine = TidalWarningEngine(TH, levels=QuietMonday())

    changes = engine.evaluate(snap(T0, 700)) + engine.evaluate(snap(T0 + 120, 700))

    assert [(t.level, t.threshold) for t in changes] == [("red", 600)]


def test_an_older_snapshot_is_ignored():
    engine = TidalWarningEngine(TH)
    run(engine, snap(T0, 1000), snap(T0 + 120, 1000))

    assert run(engine, snap(T0 + 30, 0)) == []
    assert engine.states("hall-demo", "social")["wait_s"] == "firing:yellow"


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


def test_a_real_queue_backs_up_warns_and_then_settles_into_a_valley(hall):
    """One window for social security, a citizen a minute, five minutes each; then three."""
    metrics = HallMetrics({hall.hall_id: hall.config})
    engine = TidalWarningEngine(hall.config.thresholds)
    seen: list[tuple[str, str]] = []

    def tick() -> None:
        metrics.observe_all(hall.take())
        now = metrics.watermark(hall.hall_id)
        seen.extend(
            (t.level, t.metric)
            for t in engine.evaluate(metrics.snapshot(hall.hall_id, "social", now))
        )

    hall.open(1)
    for minute in range(60):
        hall.issue("social")
        if minute % 5 == 0:
            if minute:
                hall.finish(1)
            hall.call(1)
        tick()
        hall.advance(60)
    hall.open(2, 3)
    while hall.queue.waiting_count("social"):
        for window in (1, 2, 3):
            if hall.queue.window_view(window).current is not None:
                hall.finish(window)
            hall.call(window)
        tick()
        hall.advance(60)
    for window in (1, 2, 3):
        hall.finish(window)
    for _ in range(55):
        hall.advance(60)
        hall.issue("business")  # the hall clock moves on with other services' events
        tick()

    def story(metric: str) -> list[str]:
        return [level for level, m in seen if m == metric]

    assert seen[0] == ("yellow", "waiting_count")
    assert story("waiting_count") == ["yellow", "red", "clear"]
    assert story("time_in_hall_s") == ["yellow", "clear"]
    assert story("wait_s") == ["yellow", "red", "clear", "valley"]
    (valley,) = engine.active(hall.hall_id)
    assert valley.recommendation.text == "建议合并窗口，可减少2个"

"""A warning that is due goes out without waiting behind bulk work: the fold takes first the
halls whose hold ends with their new events and publishes each hall's list as soon as it
changed, 差评 are kept on a thread of their own, a live clock's timer looks at the halls whose
hold has ended between its passes over every hall, and a province's long-lived state is
kept out of full garbage collections. None of it changes which warnings are raised, or
when on the hall clock (``bench collector`` measures the latency itself)."""

from __future__ import annotations

import gc
import json
import random
import threading
import weakref
from collections import defaultdict

import pytest

import collector.service as service_module
from benchmarks.collector_bench import hall_events
from collector.metrics import ServiceSnapshot
from collector.monitor import HallMonitor
from collector.service import CollectorService
from collector.warnings import TidalWarningEngine
from core.clock import SimClock, at_hall_time
from core.config import Thresholds
from core.events import Event, Kind
from core.topics import warnings_topic
from tests.brokers import Subscriber, wait_until
from tests.hall_events import RecordedHall
from tests.test_warnings_service import HallSender

TIMEOUT = 60
START = at_hall_time("2026-12-06", "08:30")
FLOODED = ("flooded-1", "flooded-2")


def flood(hall: str, at: float, count: int = 25) -> list[Event]:
    """``count`` citizens take a social-security ticket at once: more than red's 20."""
    return [
        Event(Kind.TICKET_ISSUED, hall, "kiosk-flood", k + 1, at + k * 0.01,
              {"ticket_id": f"{hall}-{k}", "ticket_no": f"F{k:03d}", "service": "social",
               "issued_at": at + k * 0.01})
        for k in range(count)
    ]  # fmt: skip


def health(hall: str, seq: int, at: float) -> Event:
    """Any event of the hall: it moves the hall clock on."""
    return Event(Kind.DEVICE_HEALTH, hall, "kiosk-flood", seq, at,
                 {"device": "kiosk-flood", "state": "ok", "reasons": [], "code": 0})  # fmt: skip


def province(prefix: str, halls: range, tickets: int) -> list[Event]:
    """Simulated halls' mornings, interleaved a few events at a time as their messages are."""
    mornings = [hall_events(prefix, i, START, tickets) for i in halls]
    stream: list[Event] = []
    at = 0
    while any(at < len(m) for m in mornings):
        for m in mornings:
            stream.extend(m[at:at + 3])
        at += 3
    return stream


def groups_of(events: list[Event], size: int) -> list[list[Event]]:
    return [events[i:i + size] for i in range(0, len(events), size)]


class Wire:
    """Stands in for the warning publisher's MQTT client: what went out, and how much of the
    province the fold had taken in at that moment."""

    def __init__(self, service: CollectorService, late_halls: list[str]) -> None:
        self.service, self.late_halls = service, late_halls
        self.sent: list[tuple[str, dict, int]] = []

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        folded = sum(self.service.monitor.hall_clock(h) is not None for h in self.late_halls)
        self.sent.append((topic, json.loads(payload), folded))


def per_hall(transitions) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for t in transitions:
        found[t.hall].append(t.to_dict())
    return dict(found)


@pytest.mark.parametrize("seed", range(20))
def test_every_warning_that_ends_a_hold_is_announced_by_the_due_time(seed):
    """The due time is what the collector's timer (between its passes over every hall) and
    its fold (taking due halls first) go by: a warning raised or cleared at the end of a
    hold always follows a due time at or before it. Only a valley whose windows close
    clears without one: it comes with the hall's own event, which is evaluated anyway."""
    rnd = random.Random(seed)
    engine = TidalWarningEngine(Thresholds())
    at, wait, waiting, windows = START, 0.0, 0, (1, 2)
    checked = 0
    for _ in range(400):
        at += rnd.choice((5.0, 30.0, 60.0, 300.0))
        wait = max(0.0, wait + rnd.choice((-600.0, -60.0, 0.0, 60.0, 600.0)))
        waiting = max(0, waiting + rnd.choice((-8, -1, 0, 1, 8)))
        windows = rnd.choice(((1, 2), (1, 2), (1, 2, 3), (1,))) if rnd.random() < 0.1 else windows
        due = engine.due_at()
        for t in engine.evaluate(ServiceSnapshot(
            hall="h", service="social", at=at, waiting_count=waiting, oldest_wait_s=wait,
            wait_s=wait, avg_wait_s=wait, time_in_hall_s=wait, time_in_hall_avg_s=wait,
            arrivals_30m=waiting, served_count=0, skipped_count=0, aht_s=300.0,
            open_windows=windows,
        )):  # fmt: skip
            if t.previous == "valley" and len(windows) < 2:
                continue  # merged windows: at once, with the event that closed one
            assert due is not None and due <= t.at, (t, due)
            checked += 1
    assert checked > 5


def test_a_due_warning_goes_out_before_the_backlog_and_the_warnings_stay_the_same(tmp_path):
    early = province("early", range(12), tickets=40)
    late = province("late", range(12, 40), tickets=40)
    flood_at = START + 4 * 3600
    crowd = [e for hall in FLOODED for e in flood(hall, flood_at)]
    due = [health(hall, 26, flood_at + 121) for hall in FLOODED]  # pending_s (120 s) passed
    # What the ingest hands over, group by group in store order, and how the fold finds
    # them queued: one round while the crowds gather, then one with a long backlog of
    # other halls in front of the events that end the crowds' pending period.
    rounds = [
        groups_of(early[:300], 50),
        groups_of(early[300:] + crowd, 50),
        groups_of(late, 50) + [due],
    ]
    late_halls = sorted({e.hall_id for e in late})

    service = CollectorService(tmp_path / "collector.db", "127.0.0.1", 1, {},
                               baseline_check_s=None)  # fmt: skip
    wire = Wire(service, late_halls)
    service._publisher = wire
    reference = HallMonitor({})
    try:
        for groups in rounds:
            service._fold_groups(groups)
            for group in groups:  # the store order, one commit after the other
                reference.observe(group)
    finally:
        service._publisher = None
        service.stop()

    reds = [(topic, folded) for topic, body, folded in wire.sent
            if any(w["level"] == "red" for w in body["warnings"])]  # fmt: skip
    assert [topic for topic, _ in reds] == [warnings_topic(h) for h in FLOODED]
    # Sent before any event of the 28 halls queued in front was folded in...
    assert [folded for _, folded in reds] == [0, 0]
    # ...which were all folded in by the end of the round.
    assert all(service.monitor.hall_clock(h) is not None for h in late_halls)
    # The same warnings, at the same hall times, as folding in store order raises.
    assert per_hall(service.transitions) == per_hall(reference.transitions)
    assert len(per_hall(reference.transitions)) > len(FLOODED)  # other halls warn too


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


def test_a_warning_goes_out_while_the_bad_rating_desk_waits_for_the_database(
    tmp_path, mosquitto, hall
):
    service = CollectorService(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                               {hall.hall_id: hall.config}, baseline_check_s=None)  # fmt: skip
    # The desk shares the database the ingest writes: stand in for a long wait there.
    database_free = threading.Event()
    record = service.ratings.record

    def waiting_record(events):
        assert database_free.wait(TIMEOUT)
        return record(events)

    sender = HallSender(mosquitto.host, mosquitto.port)
    watcher = Subscriber(mosquitto.host, mosquitto.port, warnings_topic(hall.hall_id))
    service.start()
    service.ratings.record = waiting_record
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        hall.open(1)
        hall.issue("social")
        hall.call(1)
        hall.advance(300)
        served = hall.finish(1)
        hall.queue.record_rating(served, 1, "rating-pad-1")  # 非常不满意
        for _ in range(25):
            hall.issue("social")
        sender.send(hall.hall_id, hall.take())
        hall.advance(150)  # the crowd's pending period (120 s) passes
        hall.issue("business")
        sender.send(hall.hall_id, hall.take())

        def red() -> bool:
            return any(w["level"] == "red" for m in watcher.received()
                       for w in json.loads(m.payload)["warnings"])  # fmt: skip

        assert wait_until(red, TIMEOUT)
        assert not database_free.is_set() and service.ratings.listing(hall.hall_id) == []
        database_free.set()
        assert service.wait_folded(TIMEOUT)  # the 差评 counts in what is folded
        (kept,) = service.ratings.listing(hall.hall_id)
        assert (kept.level, kept.ticket_no) == (1, served.ticket_no)
    finally:
        database_free.set()
        service.stop()
        watcher.close()
        sender.close()


def test_a_slow_full_collection_freezes_the_state_and_a_stopped_collector_is_freed(
    tmp_path, mosquitto, hall, monkeypatch
):
    monkeypatch.setattr(service_module, "GC_FREEZE_AFTER_S", 0.0)  # every one is slow
    service = CollectorService(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                               {hall.hall_id: hall.config}, baseline_check_s=None)  # fmt: skip
    sender = HallSender(mosquitto.host, mosquitto.port)
    service.start()
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        hall.open(1)
        hall.issue("social")
        sender.send(hall.hall_id, hall.take())
        assert service.wait_folded(TIMEOUT)
        gc.collect()
        hall.issue("social")  # the fold's next round freezes what survived
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: gc.get_freeze_count() > 0, TIMEOUT)
        monitor = weakref.ref(service.monitor)
    finally:
        service.stop()
        sender.close()
    del service
    gc.collect()
    assert gc.get_freeze_count() == 0
    assert monitor() is None  # a stopped collector's state is not kept frozen


def test_with_a_live_clock_a_hold_that_ends_between_events_is_warned_before_the_next_pass(
    tmp_path, mosquitto, hall
):
    clock = SimClock(hall.now())
    service = CollectorService(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                               {hall.hall_id: hall.config}, clock=clock,
                               eval_interval_s=3600.0)  # no pass over every hall in this test
    sender = HallSender(mosquitto.host, mosquitto.port)
    service.start()
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        hall.open(1)
        for _ in range(25):
            hall.issue("social")
        sender.send(hall.hall_id, hall.take())
        assert wait_until(lambda: service.ingestor.events_ingested == 26, TIMEOUT)
        assert service.wait_folded(TIMEOUT)
        assert service.transitions == []  # pending: red needs 120 s more

        clock.advance(150)  # the hall sends nothing; only the clock moves

        assert wait_until(lambda: service.transitions, TIMEOUT)
    finally:
        service.stop()
        sender.close()
    (red,) = service.transitions
    assert (red.level, red.metric) == ("red", "waiting_count")
    assert red.at >= hall.now() + 120


def test_a_hall_that_only_reports_device_health_is_warned_when_its_pending_period_ends():
    # Health reports leave every queue as it was, so they are folded without evaluating the
    # hall unless its clock passed a running hold's end or a replay's step: the red of a
    # crowd nobody calls must still come with the first report after its pending period.
    monitor = HallMonitor({})
    monitor.observe(flood("hall-health", START))
    due = monitor._due_at["hall-health"]  # the pending period's end
    raised, at, seq = [], START, 0
    while not any(t.level == "red" for t in raised) and at < START + 900:
        at, seq = at + 7.0, seq + 1
        for transitions in monitor.observe([health("hall-health", seq, at)]).values():
            raised.extend(transitions)
    (red,) = [t for t in raised if t.level == "red"]
    assert due <= red.at < due + 7.0

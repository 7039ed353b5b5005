"""Must show: nothing a hall sends can lose data or stop the collector.

Found against real Mosquitto before this was built: an event at Infinity, 1e300 or -1e18 was
stored and then hung the restart replay for ever (and broke ``/api/state`` before it); 200,000
nested brackets killed the MQTT thread; a NaN time vanished as a false "seq conflict"; a
ticket finished before it was called stopped every warning of its hall; one unknown kind
lost its whole batch. Here a hypothesis fuzz feeds the collector's MQTT boundary
(``Ingestor.process``, the path the MQTT callback takes) and the named cases go through a
real broker from a plain paho client. Afterwards every valid event is stored, a restarted
collector replays in bounded time, and the dashboard answers.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.dashboard import Dashboard
from collector.ingest import Ingestor
from collector.monitor import HallMonitor
from collector.service import CollectorService
from collector.store import EventStore
from core.config import load_hall_config
from core.events import Event, Kind, encode_batch
from core.telemetry import Sample, TelemetryBatch
from core.telemetry import encode_batch as encode_telemetry
from tests.brokers import MosquittoUnderTest, wait_until
from tests.hall_events import RecordedHall

TIMEOUT = 60  # generous: the machine is shared
HALL = "hall-demo"
TOPIC = f"halledge/v1/{HALL}/events"
#: A restart must replay within this, whatever the store holds.
RESTART_BOUND_S = 30.0


def now() -> float:
    return time.time()


def window_event(device: str, seq: int, at: float | None = None) -> Event:
    return Event(Kind.WINDOW_OPENED, HALL, device, seq, now() - 600 if at is None else at,
                 {"window": 1, "staff_id": "s1", "services": ["social"]})


def ticket(device: str, seq: int, kind: str = Kind.TICKET_FINISHED, **times: float) -> Event:
    t = now() - 3600
    data = {"ticket_id": f"t-{device}-{seq}", "ticket_no": "A001", "service": "social",
            "issued_at": t, "called_at": t + 60, "finished_at": t + 300} | times
    return Event(kind, HALL, device, seq, t + 300, data)


def batch(*events: Any) -> bytes:
    """A batch of events given as Event objects or raw dicts, NaN and Infinity allowed."""
    raw = [e.to_dict() if isinstance(e, Event) else e for e in events]
    return json.dumps({"v": 1, "events": raw}, allow_nan=True).encode()


def http_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "api/state", timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


# --- fuzz at the MQTT boundary -------------------------------------------------------------

WEIRD_NUMBERS = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e300, -1e300, -1e18, 1e18, 2**63, -(2**64), 10**40, 0,
     -1, 1e-300, 0.5]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), WEIRD_NUMBERS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12,
)
FIELDS = ("kind", "hall_id", "device_id", "seq", "at", "data", "event_id", "v", "minor",
          "data.issued_at", "data.called_at", "data.finished_at", "data.service", "drop",
          "shift", "shift")


@st.composite
def mutated(draw: Any, base: dict[str, Any]) -> dict[str, Any]:
    """A valid event with one field replaced by something odd (it may stay valid)."""
    raw = json.loads(json.dumps(base))
    name = draw(st.sampled_from(FIELDS))
    if name == "drop":
        raw.pop(draw(st.sampled_from(sorted(raw))))
        return raw
    if name == "shift":  # a believable time, maybe out of order with the others
        which = draw(st.sampled_from(["issued_at", "called_at", "finished_at"]))
        raw["data"][which] += draw(st.floats(min_value=-7200, max_value=7200))
        return raw
    value = draw(st.one_of(VALUES, WEIRD_NUMBERS, st.sampled_from(["queue.transferred", "x"])))
    if name.startswith("data."):
        raw["data"][name[5:]] = value
    else:
        raw[name] = value
    return raw


TOPICS = st.one_of(
    st.just(TOPIC), st.just(f"halledge/v1/{HALL}/telemetry"), st.just("halledge/v1//events"),
    st.text(max_size=40), st.text(max_size=20).map(lambda h: f"halledge/v1/{h}/events"),
)


@st.composite
def poison(draw: Any, counter: list[int]) -> tuple[str, bytes, list[Event]]:
    """A topic, a payload, and the valid events in it (which must all be stored)."""
    shape = draw(st.sampled_from(["batch", "batch", "batch", "bytes", "deep", "value", "big"]))
    if shape == "bytes":
        return draw(TOPICS), draw(st.binary(max_size=600)), []
    if shape == "deep":
        depth = draw(st.integers(min_value=20, max_value=5000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = draw(st.sampled_from(["", "1", '"x"']))
        return draw(TOPICS), (opener * depth + inner + closer * depth).encode(), []
    if shape == "value":
        return draw(TOPICS), json.dumps(draw(VALUES), allow_nan=True).encode(), []
    counter[0] += 1
    device = f"good-{counter[0]}"
    if shape == "big":  # over the batch limit: dead-lettered whole, nothing stored
        return TOPIC, batch(window_event(device, 1), {"pad": "x" * 1_100_000}), []
    good = [
        window_event(device, n) if n % 2 else ticket(device, n)
        for n in range(1, draw(st.integers(min_value=1, max_value=4)) + 1)
    ]
    counter[0] += 1
    bad_device = f"odd-{counter[0]}"
    bad = [
        draw(mutated(ticket(bad_device, n).to_dict()))
        for n in range(1, draw(st.integers(min_value=0, max_value=3)) + 1)
    ]
    events: list[Any] = list(good)
    for raw in bad:
        events.insert(draw(st.integers(min_value=0, max_value=len(events))), raw)
    return TOPIC, batch(*events), good


def test_no_payload_stops_the_collector_and_every_valid_event_is_stored(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """Fuzz: random bytes, deep nesting, random JSON, too big, and good batches carrying
    mutated events (non-finite and extreme numbers, wrong types, unknown kinds, missing
    fields, times out of order). Every message is settled (acknowledged), every event of a
    batch is stored or dead-lettered, every valid one is stored. Then the collector restarts
    on the same database and replays in bounded time, and the dashboard answers."""
    path = tmp_path / "collector.db"
    ingestor = Ingestor(path, "127.0.0.1", 1)
    counter = [0]
    expected: set[str] = set()

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def feed(data: Any) -> None:
        topic, payload, good = data.draw(poison(counter))
        outcome = ingestor.process(topic, payload)
        assert outcome.settled
        if outcome.whole is None and good:
            count = len(json.loads(payload)["events"])
            assert len(outcome.new) + outcome.duplicates + len(outcome.dead) == count
        ids = {e.event_id for e in good}
        assert ingestor.store.stored_ids(ids) == ids
        expected.update(ids)

    try:
        feed()
        # The collector still works: a plain good batch after all that is stored.
        after = window_event("after-fuzz", 1)
        assert ingestor.ingest(TOPIC, encode_batch([after]))
        expected.add(after.event_id)
        assert ingestor.store.stored_ids(expected) == expected
        kept = ingestor.store.dead_letter_counts()
        assert kept, "the fuzz never produced a dead letter"
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()

    service = CollectorService(path, mosquitto.host, mosquitto.port,
                               {HALL: load_hall_config()}, client_id="poison-restart")
    began = time.monotonic()
    service.start()
    try:
        assert time.monotonic() - began < RESTART_BOUND_S
        assert service.wait_ready(TIMEOUT)
        assert service.store.stored_ids(expected) == expected
        state = service.dashboard_state()
        assert HALL in [h["hall"] for h in state["halls"]]
        with Dashboard(service.dashboard_state) as board:
            assert http_state(board.url)["v"] == 1
    finally:
        service.stop()


# --- the named cases, through a real broker ---------------------------------------------


class PlainPublisher:
    """A bare paho client that publishes exactly the bytes a test gives it, QoS 1."""

    def __init__(self, broker: MosquittoUnderTest) -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def health(device: str, seq: int, at: float) -> Event:
    return Event(Kind.DEVICE_HEALTH, HALL, device, seq, at,
                 {"device": device, "state": "ok", "reasons": [], "code": 0})


def named_cases(t0: float) -> tuple[list[tuple[str, bytes]], list[Event], set[str]]:
    """(topic, payload) pairs, the valid events among them (at hall time ``t0``), and the
    dead-letter reasons expected."""
    good: list[Event] = []
    cases: list[tuple[str, bytes]] = []

    def neighbours(device: str) -> list[Event]:
        pair = [health(device, 1, t0), health(device, 3, t0)]
        good.extend(pair)
        return pair

    for n, at in enumerate([math.inf, 1e300, -1e18, math.nan, -math.inf]):
        device = f"clock-{n}"
        first, last = neighbours(device)
        cases.append((TOPIC, batch(first, health(device, 2, t0).to_dict() | {"at": at}, last)))
    cases.append((TOPIC, b"[" * 200_000 + b"]" * 200_000))
    huge = health("huge", 1, t0).to_dict() | {"data": {"blob": "x" * 10_000_000}}
    cases.append((TOPIC, batch(huge)))
    first, last = neighbours("order")
    cases.append((TOPIC, batch(first, ticket("order", 2, called_at=now() - 100,
                                             finished_at=now() - 200), last)))
    unknown = replace(health("newer", 1, t0), kind="queue.transferred", data={"to": 3})
    good.append(unknown)
    first, last = neighbours("types")
    wrong = [health("types", 2, t0).to_dict() | {"seq": "2"},
             health("types", 4, t0).to_dict() | {"data": [1, 2]},
             health("types", 5, t0).to_dict() | {"at": True}]
    cases.append((TOPIC, batch(first, unknown, *wrong, last)))
    cases.append((TOPIC, bytes(range(256)) * 8))
    cases.append((f"halledge/v1/{HALL}/telemetry", b"{" * 100_000 + b"}" * 100_000))
    cases.append((f"halledge/v1/{HALL}/telemetry", b'{"v":1,"samples":[NaN]}'))
    reasons = {"non_finite", "time_future", "time_past", "too_deep", "too_big", "ticket_order",
               "wrong_type", "not_json"}
    return cases, good, reasons


def test_named_poison_through_mosquitto_stores_every_valid_event_and_warnings_still_work(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """Each named case from the report, sent by a plain paho client to a running collector,
    between the events of a crowded hall. The crowd still raises its red warning, the valid
    events are all stored, the rest is dead-lettered with its reason, the dashboard answers
    over HTTP, and a restarted collector comes back with the same warning."""
    hall = RecordedHall(tmp_path / "hall.db")
    path = tmp_path / "collector.db"
    config = {hall.hall_id: hall.config}
    service = CollectorService(path, mosquitto.host, mosquitto.port, config,
                               client_id="poison-named")
    service.start()
    sender = PlainPublisher(mosquitto)
    cases, good, reasons = named_cases(hall.now())
    try:
        assert service.wait_ready(TIMEOUT), mosquitto.log_text()
        hall.open(1)
        for _ in range(25):
            hall.issue("social")
        sender.send(TOPIC, encode_batch(hall.take()))
        # The crowd folded and evaluated (pending) before anything else of the hall comes.
        assert wait_until(lambda: service.state(HALL)["totals"], TIMEOUT)
        for topic, payload in cases:
            sender.send(topic, payload)
        hall.advance(150)
        hall.issue("business")
        last = hall.take()
        sender.send(TOPIC, encode_batch(last))
        # The ingest settles a group's telemetry after its events: a good sample sent after
        # the bad telemetry is stored once they are dead-lettered.
        sender.send(f"halledge/v1/{HALL}/telemetry", encode_telemetry(
            TelemetryBatch(HALL, [Sample("kiosk-1", "cpu.load", hall.now(), 0.5)], 0, 0)))
        assert wait_until(lambda: service.store.stored_ids([last[-1].event_id]), TIMEOUT)
        assert wait_until(lambda: service.ingestor.samples_ingested == 1, TIMEOUT)
        assert service.wait_folded(TIMEOUT)  # metrics and warnings follow on their own thread

        ids = {e.event_id for e in good}
        assert service.store.stored_ids(ids) == ids
        kept = service.store.dead_letter_counts()
        assert reasons <= set(kept[HALL]), kept
        assert service.ingestor.seq_conflicts == 0  # NaN is refused as such, not as a conflict
        assert [(t.level, t.metric) for t in service.transitions] == [("red", "waiting_count")]
        state = service.dashboard_state()
        (shown,) = [h for h in state["halls"] if h["hall"] == HALL]
        assert shown["ingest"]["unknown_kinds"] == {"queue.transferred": 1}
        assert shown["ingest"]["dead_letters"] == sum(kept[HALL].values())
        with Dashboard(service.dashboard_state) as board:
            assert [h["hall"] for h in http_state(board.url)["halls"]] == [HALL]
    finally:
        sender.close()
        service.stop()

    began = time.monotonic()
    again = CollectorService(path, mosquitto.host, mosquitto.port, config,
                             client_id="poison-named")
    again.start()
    try:
        assert time.monotonic() - began < RESTART_BOUND_S
        assert [(t.level, t.metric) for t in again.monitor.active(HALL)] == [
            ("red", "waiting_count")
        ]
        with Dashboard(again.dashboard_state) as board:
            assert http_state(board.url)["halls"][0]["totals"]["waiting_count"] == 26
    finally:
        again.stop()
        hall.close_db()


# --- what an older collector already stored ------------------------------------------------


def test_events_an_older_collector_stored_with_impossible_times_do_not_hang_the_restart(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """Rows as the previous release stored them: Infinity, 1e300, -1e18, a finish before its
    call, an unknown kind, a 10 MB event. The restart skips and counts them, ends in bounded
    time, and the hall's real events still give their warning."""
    hall = RecordedHall(tmp_path / "hall.db")
    path = tmp_path / "collector.db"
    store = EventStore(path)
    hall.open(1)
    for _ in range(25):
        hall.issue("social")
    hall.advance(150)
    hall.issue("business")
    real = hall.take()
    store.add(real)
    absurd = [
        replace(window_event("old", 1), at=math.inf),
        replace(window_event("old", 2), at=1e300),
        replace(window_event("old", 3), at=-1e18),
        ticket("old", 4, called_at=now() - 100, finished_at=now() - 200),
        replace(window_event("old", 5), data={"blob": "x" * 10_000_000}),
    ]
    with store._lock:  # written as the old store did: no checks at all
        for e in absurd:
            store._conn.execute(
                "INSERT INTO events(event_id, hall_id, device_id, seq, kind, at, payload)"
                " VALUES (?,?,?,?,?,?,?)",
                (e.event_id, e.hall_id, e.device_id, e.seq, e.kind, e.at,
                 json.dumps(e.to_dict(), allow_nan=True)),
            )
    store.add([replace(window_event("old", 6), kind="queue.transferred")])
    store.close()

    service = CollectorService(path, mosquitto.host, mosquitto.port,
                               {hall.hall_id: hall.config}, client_id="poison-legacy")
    began = time.monotonic()
    service.start()
    try:
        assert time.monotonic() - began < RESTART_BOUND_S
        assert service.monitor.replay_skipped[HALL] == 5
        assert [(t.level, t.metric) for t in service.monitor.active(HALL)] == [
            ("red", "waiting_count")
        ]
        state = service.dashboard_state()
        (shown,) = state["halls"]
        assert shown["clock"].startswith("2026-11-23")
        assert shown["ingest"]["replay_skipped"] == 5
        assert shown["ingest"]["unknown_kinds"] == {"queue.transferred": 1}
        with Dashboard(service.dashboard_state) as board:
            assert http_state(board.url)["halls"][0]["totals"]["waiting_count"] == 26
    finally:
        service.stop()
        hall.close_db()


def test_the_replay_ends_for_any_stored_time():
    """The replay loop itself: times whose +30 s is themselves, NaN, ±Infinity."""
    monitor = HallMonitor({})
    events = [replace(window_event("pad-1", n), at=at)
              for n, at in enumerate([1e300, math.nan, math.inf, -math.inf, 1e17, 1e17, -1e18,
                                      now()], start=1)]
    began = time.monotonic()
    skipped = monitor.replay(events)
    assert time.monotonic() - began < 5
    assert skipped == 7  # 1e17 s is some 3 billion years: no clock shows it either
    assert monitor.replay_skipped[HALL] == 7
    assert monitor.hall_clock(HALL) == events[-1].at


# --- one hall cannot stop another --------------------------------------------------------


def two_halls(tmp_path: Path) -> tuple[RecordedHall, RecordedHall]:
    a = RecordedHall(tmp_path / "a.db")
    b = RecordedHall(tmp_path / "b.db", replace(load_hall_config(), hall_id="hall-b"))
    for hall in (a, b):
        hall.open(1)
        for _ in range(25):
            hall.issue("social")
    return a, b


def raised_later(hall: RecordedHall) -> list[list[Event]]:
    """The crowd's batch, then one 150 s later (the pending time has passed): red."""
    crowd = hall.take()
    hall.advance(150)
    hall.issue("business")
    return [crowd, hall.take()]


def test_an_exception_evaluating_one_hall_does_not_stop_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """hall-b's metrics raise on every evaluation; hall-demo, in the same batches, still gets
    its red warning, and the failure is logged with hall-b's id and code 500."""
    a, b = two_halls(tmp_path)
    monitor = HallMonitor({a.hall_id: a.config, b.hall_id: b.config})
    metrics = monitor._metrics
    real = metrics.snapshots

    def broken(hall: str, at: float, services=None):
        if hall == "hall-b":
            raise ZeroDivisionError("a bug that only hall-b's data reaches")
        return real(hall, at, services)

    monkeypatch.setattr(metrics, "snapshots", broken)
    first_a, first_b = a.take(), b.take()
    monitor.observe(first_a + first_b)
    a.advance(150), b.advance(150)
    a.issue("business"), b.issue("business")
    monitor.observe(b.take() + a.take())

    assert [(t.hall, t.level, t.metric) for t in monitor.transitions] == [
        (a.hall_id, "red", "waiting_count")
    ]
    assert monitor.failures["hall-b"] >= 2 and monitor.failures[a.hall_id] == 0
    logged = [r.getMessage() for r in caplog.records if "hall=hall-b" in r.getMessage()]
    assert logged and all("code=500" in m for m in logged)
    with pytest.raises(ZeroDivisionError):
        monitor.state("hall-b")  # what the service's dashboard state contains, below
    assert monitor.state(a.hall_id)["totals"]["waiting_count"] == 26
    a.close_db(), b.close_db()


def test_the_dashboard_state_shows_a_failing_hall_as_unavailable_and_the_others(
    tmp_path: Path, mosquitto: MosquittoUnderTest, monkeypatch: pytest.MonkeyPatch
):
    a, b = two_halls(tmp_path)
    service = CollectorService(tmp_path / "collector.db", mosquitto.host, mosquitto.port,
                               {a.hall_id: a.config, b.hall_id: b.config},
                               client_id="poison-dashboard")
    service.start()
    try:
        for hall in (a, b):
            for events in raised_later(hall):
                assert service.ingestor.ingest(f"halledge/v1/{hall.hall_id}/events",
                                               encode_batch(events))
        assert service.wait_folded(TIMEOUT)  # metrics follow on the fold thread
        real = service.monitor._metrics.hall_snapshot

        def broken(hall: str, at: float):
            if hall == "hall-b":
                raise OverflowError("date value out of range")
            return real(hall, at)

        monkeypatch.setattr(service.monitor._metrics, "hall_snapshot", broken)
        with Dashboard(service.dashboard_state) as board:
            halls = {h["hall"]: h for h in http_state(board.url)["halls"]}
    finally:
        service.stop()
        a.close_db(), b.close_db()
    assert halls["hall-b"]["error"] == "state_unavailable" and halls["hall-b"]["code"] == 500
    assert halls[a.hall_id]["totals"]["waiting_count"] == 26
    assert [w["level"] for w in halls[a.hall_id]["warnings"]] == ["red"]


def test_a_ticket_whose_events_disagree_leaves_its_hall_warnings(tmp_path: Path):
    """Each event on its own is in order, but together they say the ticket finished before it
    was called (handling time -200 s). That used to raise "handling time must be positive"
    in every evaluation; the time is now left out of the average, and the red warning comes."""
    hall = RecordedHall(tmp_path / "hall.db")
    monitor = HallMonitor({hall.hall_id: hall.config})
    t = hall.now()
    data = {"ticket_id": "odd", "ticket_no": "A999", "service": "social", "issued_at": t - 60,
            "window": 1}
    called = Event(Kind.TICKET_CALLED, HALL, "pad-9", 1, t, data | {"called_at": t})
    finished = Event(Kind.TICKET_FINISHED, HALL, "pad-9", 2, t,
                     data | {"called_at": t - 50, "finished_at": t - 40})
    hall.open(1)
    for _ in range(25):
        hall.issue("social")
    crowd, later = raised_later(hall)
    monitor.observe([called, finished] + crowd)
    monitor.observe(later)
    assert [(tr.level, tr.metric) for tr in monitor.transitions] == [("red", "waiting_count")]
    assert monitor.failures[HALL] == 0
    hall.close_db()

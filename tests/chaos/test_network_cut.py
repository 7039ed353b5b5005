"""Must show: a cut or stalled link between agent and broker loses nothing; all arrives after.

The agent talks to Mosquitto through a TCP proxy the test controls (:mod:`tests.chaos.tcp_proxy`);
the collector talks to Mosquitto directly, as it would from the data centre. While the link is
down the hall keeps working and the journal holds its events; after the link is restored the
collector ends with exactly the hall's events, each once, with no gap.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.publisher import Publisher
from collector.ingest import Ingestor
from hallstore import journal
from tests.brokers import MosquittoUnderTest, wait_until
from tests.chaos.tcp_proxy import TcpProxy
from tests.conftest import HallDb
from tests.test_broker_outage import busy_minutes, produced, record_produced_events


@pytest.fixture
def proxy(mosquitto: MosquittoUnderTest) -> Iterator[TcpProxy]:
    p = TcpProxy(mosquitto.host, mosquitto.port)
    try:
        yield p
    finally:
        p.close()


def start_link(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, proxy: TcpProxy, tmp_path: Path
) -> tuple[Publisher, Ingestor]:
    record_produced_events(hall_db)
    for w in hall_db.hall.windows:
        hall_db.queue.open_window(w.no, f"pad-{w.no}", f"staff-{w.no}")
    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    ingestor.start()
    assert ingestor.wait_subscribed(30)
    # A 1 s keepalive lets a stalled link be noticed in about two seconds.
    publisher = Publisher(
        hall_db.path,
        hall_db.hall.hall_id,
        "127.0.0.1",
        proxy.port,
        "hall-demo-agent",
        batch_size=10,
        max_inflight=5,
        backoff_max=0.5,
        keepalive=1,
    )
    publisher.start()
    return publisher, ingestor


def check_all_arrived_once(hall_db: HallDb, publisher: Publisher, ingestor: Ingestor) -> None:
    assert publisher.wait_drained(120)
    expected = produced(hall_db)
    assert wait_until(lambda: ingestor.store.count() >= len(expected), 60), (
        ingestor.counters(),
        len(expected),
    )
    stored = ingestor.store.all_events(hall_db.hall.hall_id)
    assert sorted(e.event_id for e in stored) == sorted(expected)
    assert journal.backlog(hall_db.conn) == 0
    counters = ingestor.counters()
    assert counters["gaps"] == [] and counters["gaps_opened"] == 0
    last: dict[str, int] = {}
    for device, seq in ingestor.store.ingest_order(hall_db.hall.hall_id):
        assert seq == last.get(device, 0) + 1
        last[device] = seq


def fault(proxy: TcpProxy, mode: str) -> None:
    proxy.cut() if mode == "cut" else proxy.stall()


@pytest.mark.parametrize("mode", ["cut", "stall"])
def test_link_down_mid_morning_then_everything_arrives(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, proxy: TcpProxy, tmp_path: Path, mode: str
):
    """``cut`` closes the connection (noticed at once); ``stall`` silences it (noticed by the
    keepalive). Either way the agent ends up disconnected with events waiting, and after
    restore every event reaches the collector once."""
    publisher, ingestor = start_link(hall_db, mosquitto, proxy, tmp_path)
    counter = itertools.count()
    try:
        busy_minutes(hall_db, 10, counter)
        assert wait_until(lambda: ingestor.events_ingested > 0, 30)

        fault(proxy, mode)
        busy_minutes(hall_db, 15, counter)
        assert wait_until(lambda: not publisher.connected, 30)
        assert journal.backlog(hall_db.conn) > 0, "events made while cut must wait in the journal"
        stored_while_down = ingestor.store.count()
        busy_minutes(hall_db, 5, counter)

        proxy.restore()
        busy_minutes(hall_db, 10, counter)
        check_all_arrived_once(hall_db, publisher, ingestor)
        assert ingestor.store.count() > stored_while_down
        assert publisher.reconnects >= 1
    finally:
        publisher.stop()
        ingestor.stop()
    ingestor.store.close()


@pytest.mark.slow
def test_link_flaps_at_random_moments(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, proxy: TcpProxy, tmp_path: Path
):
    """Twelve cuts and stalls of random length at random moments during a long morning."""
    rng = random.Random(7)
    publisher, ingestor = start_link(hall_db, mosquitto, proxy, tmp_path)
    counter = itertools.count()
    try:
        for _ in range(12):
            busy_minutes(hall_db, rng.randint(1, 20), counter)
            fault(proxy, rng.choice(["cut", "stall"]))
            busy_minutes(hall_db, rng.randint(1, 20), counter)
            wait_until(lambda: False, rng.uniform(0.1, 3.0))
            proxy.restore()
        busy_minutes(hall_db, 10, counter)
        check_all_arrived_once(hall_db, publisher, ingestor)
    finally:
        publisher.stop()
        ingestor.stop()
    ingestor.store.close()

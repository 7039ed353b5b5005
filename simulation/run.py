"""`python main.py simulate`: one scenario, headless, through every real part of the spine.

Simulated citizens and staff drive the hall queue on an accelerated clock; every event goes
through the journal, the publisher, a real MQTT broker and the collector, which raises the
warnings. The report counts both ends of the pipe so a lost or doubled event shows.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from agent.broker import AmqttBroker, MosquittoBroker, mosquitto_binary, start_embedded_broker
from agent.publisher import Publisher
from collector.service import CollectorService
from core.clock import SimClock, hall_time
from core.config import HallConfig, load_hall_config
from core.errors import BrokerUnavailable, ConfigError
from flows.queue import HallQueue
from hallstore import journal
from simulation.devices import open_front_of_house
from simulation.hall_sim import HallSimulation, SimStats, paced
from simulation.scenarios import SCENARIOS

#: Real seconds allowed for the tail of the telemetry to arrive after the last hall event.
DRAIN_TIMEOUT_S = 120.0


def run_scenario(
    name: str,
    seed: int = 7,
    speed: float = 2000.0,
    broker: str = "auto",
    config: HallConfig | None = None,
) -> dict[str, Any]:
    """Run a named scenario and report what both ends of the telemetry saw.

    Args:
        name: a key of :data:`simulation.scenarios.SCENARIOS`.
        seed: random seed of arrivals and handling times.
        speed: hall seconds per wall second.
        broker: ``auto`` (Mosquitto if installed, else in-process), ``mosquitto`` or
            ``embedded`` (always the in-process broker).
        config: the hall; the shipped demo hall by default.

    Raises:
        ConfigError (100): unknown scenario.
        BrokerUnavailable (410): no broker could be started, or ``mosquitto`` was asked for
            and is not installed.
    """
    if name not in SCENARIOS:
        raise ConfigError(f"unknown scenario {name!r}; known: {sorted(SCENARIOS)}")
    scenario = SCENARIOS[name]
    hall = config or load_hall_config()
    with tempfile.TemporaryDirectory(prefix="halledge-sim-") as tmp:
        brk = _start_broker(broker)
        try:
            return _run(Path(tmp), brk, hall, scenario, seed, speed)
        finally:
            brk.close()


def _start_broker(choice: str) -> MosquittoBroker | AmqttBroker:
    if choice == "embedded":
        return start_embedded_broker(prefer="amqtt")
    if choice == "mosquitto" and mosquitto_binary() is None:
        raise BrokerUnavailable("mosquitto is not installed (apt-get install mosquitto)")
    return start_embedded_broker(prefer="mosquitto")


def _run(
    tmp: Path,
    brk: MosquittoBroker | AmqttBroker,
    hall: HallConfig,
    scenario: Any,
    seed: int,
    speed: float,
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    collector = CollectorService(
        tmp / "collector.db",
        brk.host,
        brk.port,
        {hall.hall_id: hall},
        client_id=f"sim-collector-{run_id}",
    )
    collector.start()
    publisher = Publisher(
        tmp / "hall.db", hall.hall_id, brk.host, brk.port, client_id=f"sim-agent-{run_id}"
    )
    clock = SimClock(0)
    conn = journal.connect(tmp / "hall.db")
    front = open_front_of_house(HallQueue(conn, hall, clock), clock, scenario.open_windows)
    try:
        if not collector.wait_ready(30):
            raise BrokerUnavailable("the collector could not subscribe", port=brk.port)
        publisher.start()
        wall_start = time.monotonic()
        stats = HallSimulation(front, clock, scenario, seed).run(pace=paced(speed))
        # A rating pressed at the very end arrives on a pad's reader thread.
        _wait_for(lambda: front.ratings_recorded() >= stats.ratings, 10)
        # Drained means the collector's watermarks deleted every journaled event: stored.
        drained = publisher.wait_drained(DRAIN_TIMEOUT_S)
        stored = publisher.counters()["events_stored"]
        _wait_for(lambda: collector.ingestor.counters()["events_ingested"] >= stored)
        wall_s = time.monotonic() - wall_start
        report = _report(scenario.name, brk.kind, stats, publisher, collector, conn, drained, wall_s)
        report["ratings_recorded"] = front.ratings_recorded()
        return report
    finally:
        front.close()
        publisher.stop()
        collector.stop()
        conn.close()


def _wait_for(condition: Any, timeout: float = DRAIN_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _report(
    scenario: str,
    broker_kind: str,
    stats: SimStats,
    publisher: Publisher,
    collector: CollectorService,
    conn: Any,
    drained: bool,
    wall_s: float,
) -> dict[str, Any]:
    ingest = collector.ingestor.counters()
    return {
        "scenario": scenario,
        "hall_start": hall_time(stats.sim_start).isoformat(),
        "hall_end": hall_time(stats.sim_end).isoformat(),
        "tickets_issued": stats.tickets_issued,
        "tickets_printed": stats.tickets_printed,
        "tickets_served": stats.tickets_served,
        "tickets_skipped": stats.tickets_skipped,
        "ratings": stats.ratings,
        "events_published": publisher.counters()["events_published"],
        "events_stored": publisher.counters()["events_stored"],
        "events_ingested": ingest["events_ingested"],
        "duplicates_dropped": ingest["duplicates"],
        "rejected_messages": ingest["rejected"],
        "journal_backlog": journal.backlog(conn),
        "drained": drained,
        "max_wait_s": round(stats.max_wait_s, 1),
        "mean_wait_s": round(stats.mean_wait_s, 1),
        "warnings": [_warning(t.to_dict()) for t in collector.transitions if t.level != "clear"],
        "cleared": sum(1 for t in collector.transitions if t.level == "clear"),
        "broker": broker_kind,
        "wall_s": round(wall_s, 2),
    }


def _warning(t: dict[str, Any]) -> dict[str, Any]:
    out = {k: t[k] for k in ("hall", "service", "level", "metric", "value", "at")}
    out["at_hall_time"] = hall_time(t["at"]).strftime("%H:%M")
    out["value"] = round(float(out["value"]), 1)
    if "recommendation" in t:
        out["recommendation"] = t["recommendation"]
    return out

"""Must show: kill -9 of the agent at random moments loses nothing and stores nothing twice.

The hall runs in its own process, journaling events through the real queue; the agent runs
in another (``python main.py agent``) and is killed with SIGKILL at random moments, then
started again. The collector (a real Ingestor on a real Mosquitto) must end with every event
the hall journaled, each once, and per device stored in seq order, with no gap ever opened.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.ingest import Ingestor
from hallstore import journal
from tests.brokers import MosquittoUnderTest, wait_until
from tests.chaos import hall_producer

ROOT = Path(__file__).resolve().parents[2]
HALL = "hall-demo"
#: Mean seconds between kills (agent start plus a random 0.2–1.8 s of life).
KILL_SPACING_S = 1.5


def start_producer(hall_db: Path, events: int, per_second: float, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.chaos.hall_producer",
            "--hall-db",
            str(hall_db),
            "--events",
            str(events),
            "--per-second",
            str(per_second),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
    )


def start_agent(hall_db: Path, broker: MosquittoUnderTest, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "main.py",
            "agent",
            "--mqtt",
            f"{broker.host}:{broker.port}",
            "--hall-db",
            str(hall_db),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def backlog(hall_db: Path) -> int:
    conn = journal.connect(hall_db)
    try:
        return journal.backlog(conn)
    finally:
        conn.close()


def run_kill_chaos(
    tmp_path: Path, broker: MosquittoUnderTest, events: int, kills: int, seed: int
) -> None:
    rng = random.Random(seed)
    hall_db = tmp_path / "hall.db"
    log = tmp_path / "processes.log"
    hall_producer.prepare(hall_db)
    ingestor = Ingestor(tmp_path / "collector.db", broker.host, broker.port)
    ingestor.start()
    producer = agent = None
    producing_at_kill: list[bool] = []
    try:
        assert ingestor.wait_subscribed(30)
        # Paced so the hall is still journaling through the whole kill phase.
        producer = start_producer(hall_db, events, events / (kills * KILL_SPACING_S), log)
        for k in range(kills):
            agent = start_agent(hall_db, broker, log)
            if k == kills - 1:
                # At least one kill lands on an agent known to be mid-delivery.
                before = ingestor.store.count(HALL)
                wait_until(lambda: ingestor.store.count(HALL) > before, 30)
            # From "still importing" to "mid-batch": the kill lands anywhere in its life.
            time.sleep(rng.uniform(0.2, 1.8))
            producing_at_kill.append(producer.poll() is None)
            os.kill(agent.pid, signal.SIGKILL)
            agent.wait(30)
        assert producer.wait(600) == 0, log.read_text()
        expected = hall_producer.produced(hall_db)
        delivered_between_kills = ingestor.store.count(HALL)
        assert len(expected) >= events
        agent = start_agent(hall_db, broker, log)
        assert wait_until(lambda: ingestor.store.count(HALL) >= len(expected), 300), (
            ingestor.counters(),
            len(expected),
            log.read_text()[-3000:],
        )
        assert wait_until(lambda: backlog(hall_db) == 0, 60)
    finally:
        for proc in (agent, producer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(30)
        ingestor.stop()

    stored = ingestor.store.all_events(HALL)
    assert {e.event_id: (e.device_id, e.seq) for e in stored} == expected
    assert len(stored) == len(expected)
    order = ingestor.store.ingest_order(HALL)
    last: dict[str, int] = {}
    for device, seq in order:
        assert seq == last.get(device, 0) + 1, f"{device} stored {seq} after {last.get(device)}"
        last[device] = seq
    counters = ingestor.counters()
    assert counters["gaps_opened"] == 0 and counters["gaps"] == []
    assert counters["seq_conflicts"] == 0 and counters["rejected"] == 0
    # The kills hit a working agent while the hall was still journaling.
    assert any(producing_at_kill) and delivered_between_kills > 0
    ingestor.store.close()


def test_agent_killed_at_random_moments_short(tmp_path: Path, mosquitto: MosquittoUnderTest):
    """Three kills during 1,000 events."""
    run_kill_chaos(tmp_path, mosquitto, events=1000, kills=3, seed=12)


@pytest.mark.slow
def test_agent_killed_20_times_during_10000_events(tmp_path: Path, mosquitto: MosquittoUnderTest):
    """Twenty-four kills during a 10,000-event run."""
    run_kill_chaos(tmp_path, mosquitto, events=10_000, kills=24, seed=2026)

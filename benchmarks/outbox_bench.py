"""The outbox: durable commits, drain rate, memory under a backlog, time to drain.

Each figure sits beside a baseline measured in the same run:

* ``commits``: one event journaled per ``BEGIN IMMEDIATE`` transaction (seq allocation, JSON,
  insert; ``synchronous=FULL``) against raw ``sqlite3`` committing a row of the same size with
  the same pragmas. Target ≥ 0.8×: the fsync should dominate, not our code.
* ``telemetry``: readings recorded and group-committed (100 per commit, ``synchronous=NORMAL``)
  per second, against the durable single-event commits above: what group commit buys.
* ``drain``: the publisher draining a backlog to a loopback Mosquitto against a raw paho loop
  publishing one event per QoS 1 message and waiting for its PUBACK, the way an outbox that
  deletes a row per acknowledgement would. Target ≥ 10×, thanks to batches and the in-flight
  window.
* ``memory``: peak resident memory of an agent process draining a small against a huge
  backlog (10k vs 1M events; quick mode 2k vs 20k) for the same few seconds. Target: flat,
  under 20 MB apart; the journal is read a batch at a time.
* ``drain_100k``: seconds to drain a 100k backlog (quick: 10k) against the raw loop's time
  for the same number of events, projected from its measured rate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent import journal
from agent.broker import MosquittoBroker, mosquitto_binary
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from core.events import Event, Kind
from core.topics import events_topic

HALL = "hall-bench"
DEVICES = ("kiosk-1", "kiosk-2", "pad-1", "pad-2")
ROOT = Path(__file__).resolve().parent.parent
#: An issued-ticket event's data, so payloads have their real size (about 400 bytes).
DATA = {
    "ticket_id": "0" * 32,
    "ticket_no": "A001",
    "service": "social",
    "issued_at": 1795395600.0,
    "people_ahead": 3,
    "est_wait_s": 540,
}


def _event(device: str, seq: int) -> Event:
    return Event(Kind.TICKET_ISSUED, HALL, device, seq, 1795395600.0 + seq, DATA)


#: Commits per side before timing starts: the first ones create the WAL and its pages.
WARMUP_COMMITS = 50
#: The commit run is cut into this many blocks; the ratio reported is their median.
COMMIT_BLOCKS = 10


def _commits(tmp: Path, n: int) -> tuple[float, float, list[float]]:
    """Seconds for ``n`` journal commits and ``n`` raw sqlite3 commits, alternating one and
    one, so that the shared disk's bursts of load hit both sides alike; and the ratio
    (raw time / ours) of each of ``COMMIT_BLOCKS`` consecutive blocks. Both sides are
    dominated by the fsync, whose cost on a shared disk swings by 2× within seconds, so the
    median block ratio is the steadier figure."""
    import sqlite3

    conn = journal.connect(tmp / "journal.db")
    raw = sqlite3.connect(str(tmp / "raw.db"), isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    payload = _event("kiosk-1", 1).to_json()
    ours = base = block_ours = block_base = 0.0
    ratios: list[float] = []
    block = max(1, n // COMMIT_BLOCKS)
    for i in range(-WARMUP_COMMITS, n):
        device = DEVICES[i % len(DEVICES)]
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        journal.append(conn, _event(device, journal.next_seq(conn, device)))
        conn.execute("COMMIT")
        t1 = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO t(payload) VALUES (?)", (payload,))
        raw.execute("COMMIT")
        t2 = time.perf_counter()
        if i < 0:
            continue
        ours += t1 - t0
        base += t2 - t1
        block_ours += t1 - t0
        block_base += t2 - t1
        if (i + 1) % block == 0:
            ratios.append(block_base / block_ours)
            block_ours = block_base = 0.0
    conn.close()
    raw.close()
    return ours, base, ratios


def _telemetry_readings(tmp: Path, n: int, per_commit: int = 100) -> float:
    """Seconds to record and commit ``n`` readings, ``per_commit`` to a group commit (a
    second's worth of readings from a busy hall box)."""
    recorder = TelemetryRecorder(tmp / "telemetry.db")
    start = time.perf_counter()
    for i in range(n):
        recorder.record(DEVICES[i % len(DEVICES)], "cpu.load", i % 100 / 100, at=float(i))
        if (i + 1) % per_commit == 0:
            recorder.flush()
    recorder.stop()
    return time.perf_counter() - start


def fill_backlog(db: Path, n: int) -> None:
    """Journal ``n`` events in one transaction (a hall box that was offline for a long time)."""
    conn = journal.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    chunk = 10_000
    for lo in range(0, n, chunk):
        rows = []
        for i in range(lo, min(n, lo + chunk)):
            e = _event(DEVICES[i % len(DEVICES)], i // len(DEVICES) + 1)
            rows.append((e.event_id, e.device_id, e.seq, e.to_json()))
        conn.executemany(
            "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?,?,?,?)", rows
        )
    conn.execute("COMMIT")
    conn.close()


def _publisher_drain(db: Path, broker: MosquittoBroker, timeout: float) -> float:
    publisher = Publisher(db, HALL, broker.host, broker.port, "bench-agent")
    start = time.perf_counter()
    publisher.start()
    try:
        if not publisher.wait_drained(timeout):
            raise RuntimeError("publisher did not drain the backlog")
        return time.perf_counter() - start
    finally:
        publisher.stop()


def _raw_paho(broker: MosquittoBroker, n: int) -> float:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.connect(broker.host, broker.port)
    client.loop_start()
    topic = events_topic(HALL)
    payloads = [_event("kiosk-1", i + 1).to_json().encode() for i in range(n)]
    start = time.perf_counter()
    for p in payloads:
        client.publish(topic, p, qos=1).wait_for_publish(30)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


#: Runs in a child process: drain for a while, print peak RSS in KiB and events sent.
_RSS_CHILD = """
import resource, sys, time
from agent.publisher import Publisher
db, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
p = Publisher(db, "hall-bench", host, port, "bench-rss")
p.start()
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and not p.wait_drained(0.2):
    pass
p.stop()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, p.events_published)
"""


def _peak_rss_kib(db: Path, broker: MosquittoBroker, seconds: float) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(db), broker.host, str(broker.port), str(seconds)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rss, sent = out.stdout.split()
    return int(rss), int(sent)


def run(options: dict[str, Any]) -> dict[str, Any]:
    quick = bool(options.get("quick"))
    commits = 200 if quick else 2000
    drain_n = 5000 if quick else 50_000
    raw_n = 300 if quick else 2000
    small, big = (2000, 20_000) if quick else (10_000, 1_000_000)
    rss_window = 2.0 if quick else 10.0
    long_n = 10_000 if quick else 100_000
    if mosquitto_binary() is None:
        raise RuntimeError("the outbox benchmark needs mosquitto (scripts/system-deps.sh)")
    result: dict[str, Any] = {"quick": quick}
    with tempfile.TemporaryDirectory(prefix="halledge-outbox-") as tmp_name:
        tmp = Path(tmp_name)
        ours, raw, ratios = _commits(tmp, commits)
        readings = commits * 20
        telemetry_s = _telemetry_readings(tmp, readings)
        result |= {
            "commit_events": commits,
            "journal_commits_per_s": round(commits / ours, 1),
            "baseline_raw_sqlite_commits_per_s": round(commits / raw, 1),
            "commit_ratio_vs_raw_sqlite": round(statistics.median(ratios), 3),
            "commit_ratio_whole_run": round(raw / ours, 3),
            "commit_ratio_blocks_min_max": [round(min(ratios), 3), round(max(ratios), 3)],
            "commit_target_ratio": 0.8,
            "telemetry_readings": readings,
            "telemetry_readings_per_s": round(readings / telemetry_s, 1),
            "telemetry_ratio_vs_durable_commits": round(
                readings / telemetry_s / (commits / ours), 1
            ),
        }

        broker = MosquittoBroker(data_dir=tmp / "mosquitto")
        broker.start()
        try:
            fill_backlog(tmp / "drain.db", drain_n)
            drain_s = _publisher_drain(tmp / "drain.db", broker, timeout=600)
            raw_s = _raw_paho(broker, raw_n)
            raw_rate = raw_n / raw_s
            result |= {
                "drain_events": drain_n,
                "drain_events_per_s": round(drain_n / drain_s, 1),
                "baseline_raw_paho_qos1_msgs_per_s": round(raw_rate, 1),
                "drain_ratio_vs_raw_paho": round(drain_n / drain_s / raw_rate, 2),
                "drain_target_ratio": 10,
            }

            fill_backlog(tmp / "small.db", small)
            fill_backlog(tmp / "big.db", big)
            rss_small, sent_small = _peak_rss_kib(tmp / "small.db", broker, rss_window)
            rss_big, sent_big = _peak_rss_kib(tmp / "big.db", broker, rss_window)
            result |= {
                "rss_backlogs": [small, big],
                "rss_window_s": rss_window,
                "rss_events_sent_in_window": [sent_small, sent_big],
                "baseline_peak_rss_mb_small_backlog": round(rss_small / 1024, 1),
                "peak_rss_mb_big_backlog": round(rss_big / 1024, 1),
                "rss_difference_mb": round((rss_big - rss_small) / 1024, 1),
                "rss_ratio_big_vs_small": round(rss_big / rss_small, 3),
                "rss_target_difference_mb": 20,
            }

            fill_backlog(tmp / "long.db", long_n)
            long_s = _publisher_drain(tmp / "long.db", broker, timeout=1800)
            projected = long_n / raw_rate
            result |= {
                "backlog_events": long_n,
                "backlog_drain_s": round(long_s, 2),
                "baseline_raw_paho_projected_s": round(projected, 2),
                "backlog_drain_ratio_vs_raw_paho": round(projected / long_s, 2),
            }
        finally:
            broker.close()
    return result


if __name__ == "__main__":
    print(json.dumps(run({"quick": "--quick" in sys.argv}), indent=2))

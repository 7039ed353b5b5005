"""The outbox: durable commits, drain rate, memory under a backlog, time to drain.

Each figure sits beside a baseline measured in the same run:

* ``commits``: one event journaled per ``BEGIN IMMEDIATE`` transaction (seq allocation, JSON,
  insert; ``synchronous=FULL``) against raw ``sqlite3`` committing a row of the same size with
  the same pragmas (WAL, FULL, the journal's checkpoint threshold and WAL limit). Target ≥ 0.8×: the fsync should dominate, not our code.
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

from agent.broker import MosquittoBroker, mosquitto_binary
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from core.events import Event, Kind
from core.topics import events_topic
from hallstore import journal, retention

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


def _raw_connection(path: Path) -> Any:
    """A plain ``sqlite3`` connection with the journal's pragmas: WAL, FULL, and the same
    checkpoint threshold and WAL limit."""
    import sqlite3

    raw = sqlite3.connect(str(path), isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    retention.apply_wal_limit(raw, retention.RetentionPolicy())
    return raw


def _commits(tmp: Path, n: int) -> dict[str, Any]:
    """``n`` durable commits on each of three sides, taking turns one commit at a time so that
    the shared disk's bursts of load hit all alike:

    * ``journal``: ``next_seq`` + a new :class:`Event` + ``append``, as a flow does;
    * ``raw_row``: raw ``sqlite3`` inserting one prepared row of the same size (the issue's
      baseline);
    * ``raw_same_writes``: raw ``sqlite3`` doing the journal's two writes (bump the device's
      counter, insert the prepared row): what SQLite itself costs for this schema, so the gap
      to it is our Python layer alone.

    Returns per side its total seconds, and per baseline the median of the ratios (baseline
    time / journal time) over ``COMMIT_BLOCKS`` consecutive blocks: fsync cost on a shared
    disk swings by 2× within seconds, and the median block is the steadier figure.
    """
    conn = journal.connect(tmp / "journal.db")
    row = _raw_connection(tmp / "raw_row.db")
    row.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    same = _raw_connection(tmp / "raw_same.db")
    same.execute("CREATE TABLE c (device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)")
    same.executemany("INSERT INTO c VALUES (?, 0)", [(d,) for d in DEVICES])
    same.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, event_id TEXT, device_id TEXT,"
        " seq INTEGER, payload TEXT)"
    )
    prepared = _event("kiosk-1", 1)
    payload = prepared.to_json()

    def journal_commit(device: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        journal.append(conn, _event(device, journal.next_seq(conn, device)))
        conn.execute("COMMIT")

    def raw_row(device: str) -> None:
        row.execute("BEGIN IMMEDIATE")
        row.execute("INSERT INTO t(payload) VALUES (?)", (payload,))
        row.execute("COMMIT")

    def raw_same_writes(device: str) -> None:
        same.execute("BEGIN IMMEDIATE")
        seq = same.execute(
            "UPDATE c SET last_seq = last_seq + 1 WHERE device_id = ? RETURNING last_seq",
            (device,),
        ).fetchone()[0]
        same.execute(
            "INSERT INTO t(event_id, device_id, seq, payload) VALUES (?,?,?,?)",
            (prepared.event_id, device, seq, payload),
        )
        same.execute("COMMIT")

    sides = {"journal": journal_commit, "raw_row": raw_row, "raw_same_writes": raw_same_writes}
    totals = dict.fromkeys(sides, 0.0)
    block_totals = dict.fromkeys(sides, 0.0)
    ratios: dict[str, list[float]] = {"raw_row": [], "raw_same_writes": []}
    block = max(1, n // COMMIT_BLOCKS)
    for i in range(-WARMUP_COMMITS, n):
        device = DEVICES[i % len(DEVICES)]
        for name, commit in sides.items():
            start = time.perf_counter()
            commit(device)
            if i >= 0:
                elapsed = time.perf_counter() - start
                totals[name] += elapsed
                block_totals[name] += elapsed
        if i >= 0 and (i + 1) % block == 0:
            for name in ratios:
                ratios[name].append(block_totals[name] / block_totals["journal"])
            block_totals = dict.fromkeys(sides, 0.0)
    for c in (conn, row, same):
        c.close()
    return {"seconds": totals, "ratios": ratios}


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
        measured = _commits(tmp, commits)
        seconds, ratios = measured["seconds"], measured["ratios"]
        ours = seconds["journal"]
        readings = commits * 20
        telemetry_s = _telemetry_readings(tmp, readings)
        result |= {
            "commit_events": commits,
            "journal_commits_per_s": round(commits / ours, 1),
            "baseline_raw_sqlite_commits_per_s": round(commits / seconds["raw_row"], 1),
            "commit_ratio_vs_raw_sqlite": round(statistics.median(ratios["raw_row"]), 3),
            "commit_ratio_whole_run": round(seconds["raw_row"] / ours, 3),
            "commit_blocks_min_max": [
                round(min(ratios["raw_row"]), 3), round(max(ratios["raw_row"]), 3)
            ],
            "commit_target_ratio": 0.8,
            "baseline_raw_same_writes_commits_per_s": round(
                commits / seconds["raw_same_writes"], 1
            ),
            "commit_ratio_vs_raw_same_writes": round(
                statistics.median(ratios["raw_same_writes"]), 3
            ),
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

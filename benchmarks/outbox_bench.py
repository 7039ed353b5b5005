"""The outbox: durable commits, drain rate, memory under a backlog, time to drain.

Each figure sits beside a baseline measured in the same run:

* ``commits``: one event journaled per ``BEGIN IMMEDIATE`` transaction (seq allocation, JSON,
  insert; ``synchronous=FULL``) against raw ``sqlite3`` committing a row of the same size with
  the same pragmas (WAL, FULL, the journal's checkpoint threshold and WAL limit). Target ≥ 0.8×: the fsync should dominate, not our code.
* ``telemetry``: readings recorded and group-committed (100 per commit, ``synchronous=NORMAL``)
  per second, against the durable single-event commits above: what group commit buys.
* ``drain``: the publisher draining a backlog *end to end*: timed until the collector's
  stored-watermarks have deleted every row from the journal, so the collector is inside the
  timed loop. The publisher runs in a child process (an agent), the real collector ingest
  (:class:`collector.ingest.Ingestor`, its SQLite store committing with ``synchronous=NORMAL``
  and synced once per watermark round before the watermark goes out) in this
  process, both on one loopback Mosquitto. Baseline: a raw paho loop publishing one event per
  QoS 1 message and waiting for its PUBACK (no subscriber), the way an outbox that deletes a
  row per acknowledgement would. Target ≥ 10×, thanks to batches, the in-flight window and
  not waiting for a watermark per batch.
* ``memory``: peak resident memory of an agent process draining a small against a huge
  backlog (10k vs 1M events; quick mode 2k vs 20k) for the same few seconds, with the
  collector storing and acknowledging. Target: flat, under 20 MB apart; the journal is read
  a batch at a time and at most ``max_unstored`` rows are out.
* ``ceiling``: the collector's ingest alone, handed the same batches directly (no MQTT, no
  agent): the most any end-to-end drain can reach here, since every event passes through it.
* ``drain_100k``: seconds to drain a 100k backlog (quick: 10k) end to end against the raw
  loop's time for the same number of events, projected from its measured rate.

Each drain gets a hall of its own (``hall-bench-<phase>``): the collector keeps every phase's
events, and the same (hall, device, seq) under a new event id would be a seq conflict.
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
from agent.publisher import batch_payload
from agent.telemetry import TelemetryRecorder
from collector.ingest import Ingestor
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


def _event(device: str, seq: int, hall: str = HALL) -> Event:
    return Event(Kind.TICKET_ISSUED, hall, device, seq, 1795395600.0 + seq, DATA)


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


def fill_backlog(db: Path, n: int, hall: str = HALL) -> None:
    """Journal ``n`` events in one transaction (a hall box that was offline for a long time)."""
    conn = journal.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    chunk = 10_000
    for lo in range(0, n, chunk):
        rows = []
        for i in range(lo, min(n, lo + chunk)):
            e = _event(DEVICES[i % len(DEVICES)], i // len(DEVICES) + 1, hall)
            rows.append((e.event_id, e.device_id, e.seq, e.to_json()))
        conn.executemany(
            "INSERT INTO outbox(event_id, device_id, seq, payload) VALUES (?,?,?,?)", rows
        )
    # The seq counters a hall that journaled these would have (the publisher checks the
    # collector's watermarks against them).
    last = {DEVICES[i % len(DEVICES)]: i // len(DEVICES) + 1 for i in range(max(0, n - 4), n)}
    conn.executemany(
        "INSERT INTO device_seq(device_id, last_seq) VALUES (?, ?) ON CONFLICT(device_id)"
        " DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
        list(last.items()),
    )
    conn.execute("COMMIT")
    conn.close()


#: Runs in a child process (the agent): drain a backlog until the collector's watermarks have
#: deleted every row; print the seconds from start to drained, and the publisher's counters.
_DRAIN_CHILD = """
import json, sys, time
from agent.publisher import Publisher
db, hall, host = sys.argv[1:4]
port, timeout = int(sys.argv[4]), float(sys.argv[5])
p = Publisher(db, hall, host, port, "bench-agent-" + hall)
start = time.perf_counter()
p.start()
drained = p.wait_drained(timeout)
elapsed = time.perf_counter() - start
p.stop()
print(json.dumps({"drained": drained, "seconds": elapsed, "counters": p.counters()}))
"""


def _publisher_drain(
    db: Path, hall: str, broker: MosquittoBroker, timeout: float
) -> dict[str, Any]:
    """Drain ``db`` end to end in an agent process; its seconds and publisher counters."""
    out = subprocess.run(
        [sys.executable, "-c", _DRAIN_CHILD, str(db), hall, broker.host, str(broker.port),
         str(timeout)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout + 60, check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if not result["drained"]:
        raise RuntimeError(f"the collector did not store the backlog in time: {result}")
    return result


def _collector(broker: MosquittoBroker, tmp: Path) -> Ingestor:
    """The real collector ingest, on its own paho thread, storing to disk (``FULL``)."""
    ingestor = Ingestor(tmp / "collector.db", broker.host, broker.port, client_id="bench-collector")
    ingestor.start()
    if not ingestor.wait_subscribed(30):
        raise RuntimeError("the collector could not subscribe")
    return ingestor


def _settled(ingestor: Ingestor, quiet_s: float = 0.5, timeout: float = 120.0) -> None:
    """Wait until the collector has taken in nothing new for ``quiet_s`` (what a previous
    phase left queued for it must not be timed in the next)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        counters = ingestor.counters()
        now = (counters["events_ingested"], counters["duplicates"])
        if now == last:
            return
        last = now
        time.sleep(quiet_s)


def _collector_alone(tmp: Path, n: int) -> float:
    """Events per second the collector's ingest stores when handed the agent's batches
    directly (no MQTT, no agent): the ceiling of any end-to-end drain on this machine."""
    ingestor = Ingestor(tmp / "ceiling.db", "127.0.0.1", 1)
    try:
        hall = f"{HALL}-ceiling"
        topic = events_topic(hall)
        payloads = []
        for lo in range(0, n, 100):
            events = [
                _event(DEVICES[i % len(DEVICES)], i // len(DEVICES) + 1, hall)
                for i in range(lo, min(n, lo + 100))
            ]
            payloads.append(batch_payload([journal.event_json(e) for e in events]))
        start = time.perf_counter()
        for payload in payloads:
            if not ingestor.ingest(topic, payload):
                raise RuntimeError("the collector refused a benchmark batch")
        return n / (time.perf_counter() - start)
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()


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


#: Runs in a child process: drain for a while, print peak RSS in KiB and events stored.
_RSS_CHILD = """
import resource, sys, time
from agent.publisher import Publisher
db, hall, host = sys.argv[1:4]
port, seconds = int(sys.argv[4]), float(sys.argv[5])
p = Publisher(db, hall, host, port, "bench-rss-" + hall)
p.start()
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and not p.wait_drained(0.2):
    pass
p.stop()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, p.events_stored)
"""


def _peak_rss_kib(db: Path, hall: str, broker: MosquittoBroker, seconds: float) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(db), hall, broker.host, str(broker.port),
         str(seconds)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rss, stored = out.stdout.split()
    return int(rss), int(stored)


def _mosquitto_version() -> str:
    binary = mosquitto_binary()
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "unknown"


def run(options: dict[str, Any]) -> dict[str, Any]:
    quick = bool(options.get("quick"))
    commits = 200 if quick else 2000
    drain_n = 5000 if quick else 50_000
    raw_n = 300 if quick else 2000
    small, big = (2000, 20_000) if quick else (10_000, 1_000_000)
    rss_window = 2.0 if quick else 10.0
    long_n = 10_000 if quick else 100_000
    ceiling_n = 5000 if quick else 20_000
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
        ingestor = None
        try:
            # The baseline first, before any collector session exists: as before, the raw
            # loop's messages go to a broker with no subscriber.
            raw_s = _raw_paho(broker, raw_n)
            raw_rate = raw_n / raw_s
            ingestor = _collector(broker, tmp)

            fill_backlog(tmp / "drain.db", drain_n, f"{HALL}-drain")
            drain = _publisher_drain(tmp / "drain.db", f"{HALL}-drain", broker, timeout=600)
            drain_s = drain["seconds"]
            result |= {
                "drain_end_to_end": True,
                "drain_collector": "collector.ingest.Ingestor in the bench process, store on "
                "disk (commits NORMAL, one FULL sync per watermark round); publisher in a "
                "child process; one loopback mosquitto",
                "broker": _mosquitto_version(),
                "drain_events": drain_n,
                "drain_events_per_s": round(drain_n / drain_s, 1),
                "drain_publisher": drain["counters"],
                "baseline_raw_paho_qos1_msgs_per_s": round(raw_rate, 1),
                "drain_ratio_vs_raw_paho": round(drain_n / drain_s / raw_rate, 2),
                "drain_target_ratio": 10,
                "ceiling_collector_ingest_alone_events_per_s": round(
                    _collector_alone(tmp, ceiling_n), 1
                ),
            }

            fill_backlog(tmp / "small.db", small, f"{HALL}-small")
            fill_backlog(tmp / "big.db", big, f"{HALL}-big")
            _settled(ingestor)
            rss_small, stored_small = _peak_rss_kib(
                tmp / "small.db", f"{HALL}-small", broker, rss_window
            )
            _settled(ingestor)
            rss_big, stored_big = _peak_rss_kib(tmp / "big.db", f"{HALL}-big", broker, rss_window)
            result |= {
                "rss_backlogs": [small, big],
                "rss_window_s": rss_window,
                "rss_events_stored_in_window": [stored_small, stored_big],
                "baseline_peak_rss_mb_small_backlog": round(rss_small / 1024, 1),
                "peak_rss_mb_big_backlog": round(rss_big / 1024, 1),
                "rss_difference_mb": round((rss_big - rss_small) / 1024, 1),
                "rss_ratio_big_vs_small": round(rss_big / rss_small, 3),
                "rss_target_difference_mb": 20,
            }

            fill_backlog(tmp / "long.db", long_n, f"{HALL}-long")
            _settled(ingestor)
            long = _publisher_drain(tmp / "long.db", f"{HALL}-long", broker, timeout=1800)
            long_s = long["seconds"]
            projected = long_n / raw_rate
            counters = ingestor.counters()
            result |= {
                "backlog_events": long_n,
                "backlog_drain_s": round(long_s, 2),
                "baseline_raw_paho_projected_s": round(projected, 2),
                "backlog_drain_ratio_vs_raw_paho": round(projected / long_s, 2),
                "collector": {
                    k: counters[k]
                    for k in ("events_ingested", "duplicates", "rejected", "seq_conflicts")
                },
            }
        finally:
            if ingestor is not None:
                ingestor.stop()
                ingestor.store.close()
                ingestor.telemetry.close()
            broker.close()
    return result


if __name__ == "__main__":
    print(json.dumps(run({"quick": "--quick" in sys.argv}), indent=2))

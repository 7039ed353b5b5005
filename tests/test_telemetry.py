"""Telemetry samples: group-committed, thinned oldest-first under an outage, every reading
accounted for at the collector (stored, merged into an aggregate, or counted as dropped)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from agent import telemetry
from agent.host_metrics import HostMetrics
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from collector.ingest import Ingestor
from core.errors import MalformedMessage
from core.telemetry import Sample, TelemetryBatch, decode_batch, encode_batch
from core.topics import telemetry_topic
from hallstore import journal, retention
from hallstore.retention import RetentionPolicy
from tests.brokers import MosquittoUnderTest, wait_until
from tests.conftest import HallDb

ROOT = Path(__file__).resolve().parent.parent
HALL = "hall-t"


def small_policy(conn, downsample: int, cap: int) -> None:
    retention.set_policy(
        conn, RetentionPolicy(telemetry_downsample_rows=downsample, telemetry_max_rows=cap)
    )


def table(conn) -> list[tuple[str, str, float, float, int, int]]:
    return conn.execute(
        "SELECT device_id, metric, at, value, n, aggregated FROM telemetry ORDER BY row_"
    ).fetchall()


def test_readings_commit_together_and_a_kill_loses_only_the_unflushed(tmp_path: Path):
    """Readings flushed before a kill -9 are on disk; those recorded after the last flush
    are gone; the file opens cleanly."""
    db = tmp_path / "hall.db"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from agent.telemetry import TelemetryRecorder
        rec = TelemetryRecorder({str(db)!r})
        for i in range(300):
            rec.record("kiosk-1", "cpu.load", i / 10, at=1000.0 + i)
        rec.flush()
        for i in range(50):
            rec.record("kiosk-1", "cpu.load", 99.0, at=2000.0 + i)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9
    conn = journal.connect(db)
    try:
        rows = table(conn)
        assert [r[2] for r in rows] == [1000.0 + i for i in range(300)]
        assert telemetry.counters(conn)["recorded"] == 300
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_backlog_past_the_threshold_is_merged_per_minute_without_losing_a_reading(
    tmp_path: Path,
):
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    small_policy(conn, downsample=2_000, cap=50_000)
    rec = TelemetryRecorder(db)
    values = {}
    try:
        for i in range(12_000):
            at = 60_000.0 + i  # one reading a second for 200 minutes
            values[at] = (i * 7919) % 101 / 3
            rec.record("kiosk-1", "disk.free_gb", values[at], at=at)
            if i % 500 == 499:
                rec.flush()
    finally:
        rec.stop()
    rows = table(conn)
    totals = telemetry.counters(conn)
    conn.close()
    # Bounded: the publisher's guard plus what stays under the threshold.
    assert len(rows) <= telemetry.PUBLISH_GUARD_ROWS + 2_000
    assert sum(r[4] for r in rows) == 12_000 == totals["recorded"]
    assert totals["dropped"] == 0
    aggregates = [r for r in rows if r[5]]
    assert aggregates and totals["downsampled"] == sum(r[4] for r in aggregates)
    # The head of the table, which a publisher may have in flight, is left as it was.
    assert all(r[4] == 1 for r in rows[: telemetry.PUBLISH_GUARD_ROWS])
    # Per minute, the rows left (aggregates and single readings) stand for exactly that
    # minute's readings, with their mean.
    minutes = defaultdict(list)
    for _, _, at, mean, n, _ in rows:
        minutes[at // telemetry.BUCKET_S].append((mean, n))
    for minute, parts in minutes.items():
        truth = [values[t] for t in values if t // telemetry.BUCKET_S == minute]
        assert sum(n for _, n in parts) == len(truth)
        assert sum(m * n for m, n in parts) / len(truth) == pytest.approx(sum(truth) / len(truth))


def test_past_the_cap_the_oldest_readings_are_dropped_and_counted(tmp_path: Path):
    """Readings that cannot be merged (one per metric per minute) are dropped oldest-first
    by reading time; what is kept plus what was dropped is what was recorded."""
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    small_policy(conn, downsample=5_000, cap=5_000)
    rec = TelemetryRecorder(db)
    try:
        for minute in range(120):
            for metric in range(100):
                rec.record("pad-1", f"m{metric}", minute, at=minute * 60.0)
            rec.flush()
    finally:
        rec.stop()
    kept = [r[2] for r in table(conn)]
    totals = telemetry.counters(conn)
    conn.close()
    assert len(kept) <= 5_000
    assert totals["dropped"] + len(kept) == totals["recorded"] == 12_000
    newest_dropped = 120 * 60.0 - len(kept) / 100 * 60 - 60
    assert min(kept) > newest_dropped
    assert max(kept) == 119 * 60.0


def test_near_a_full_disk_telemetry_gives_way_and_tickets_still_issue(hall_db: HallDb):
    """Within twice the transactions' reserve, readings are dropped (and counted) instead of
    written; the kiosk still issues tickets."""
    conn = hall_db.conn
    room = retention.room_bytes(conn)
    retention.set_policy(conn, RetentionPolicy(reserve_bytes=int(room * 0.6)))
    rec = TelemetryRecorder(hall_db.path)
    try:
        for i in range(100):
            rec.record("kiosk-1", "cpu.load", 0.5, at=float(i))
        done = rec.flush()
    finally:
        rec.stop()
    assert done.dropped == 100
    assert telemetry.unsent(conn) == 0
    assert telemetry.counters(conn) == {"recorded": 100, "downsampled": 0, "dropped": 100}
    ticket = hall_db.queue.issue("social", "kiosk-1")
    assert ticket.ticket.ticket_no.startswith("A")


def test_a_full_memory_buffer_drops_its_oldest_and_counts_them(tmp_path: Path):
    rec = TelemetryRecorder(tmp_path / "hall.db", max_buffer=100)
    try:
        for i in range(250):
            rec.record("kiosk-1", "fps", 25.0, at=float(i))
        assert rec.buffered() == 100
        rec.flush()
    finally:
        rec.stop()
    conn = journal.connect(tmp_path / "hall.db")
    try:
        assert [r[2] for r in table(conn)] == [float(i) for i in range(150, 250)]
        assert telemetry.counters(conn) == {"recorded": 250, "downsampled": 0, "dropped": 150}
    finally:
        conn.close()


def test_after_an_outage_every_reading_is_accounted_for_at_the_collector(
    tmp_path: Path, mosquitto: MosquittoUnderTest
):
    """Readings recorded while the broker was unreachable are thinned on the edge; once the
    publisher runs, the collector's stored readings plus the hall's reported drops equal
    what was recorded, and events still arrive."""
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    small_policy(conn, downsample=6_000, cap=8_000)
    rec = TelemetryRecorder(db)
    try:
        for minute in range(200):
            for second in range(0, 60, 5):
                for metric in ("cpu.load", "disk.free_gb"):
                    rec.record("kiosk-1", metric, second, at=minute * 60.0 + second)
            for device in range(60):
                rec.record(f"rating-{device}", "battery", minute, at=minute * 60.0)
            rec.flush()
    finally:
        rec.stop()
    totals = telemetry.counters(conn)
    assert totals["dropped"] > 0 and totals["downsampled"] > 0
    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    ingestor.start()
    pub = Publisher(db, HALL, mosquitto.host, mosquitto.port, "agent-t", backoff_max=1.0)
    try:
        assert ingestor.wait_subscribed(30)
        pub.start()
        assert pub.wait_drained(60), mosquitto.log_text()
        assert telemetry.unsent(conn) == 0
        store = ingestor.telemetry
        assert wait_until(
            lambda: store.readings_count(HALL) + store.thinned().get(HALL, _none()).dropped
            == totals["recorded"],
            30,
        ), (store.readings_count(HALL), store.thinned(), totals)
        thinned = ingestor.counters()["telemetry_thinned"][HALL]
    finally:
        pub.stop()
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()
        conn.close()
    assert thinned == {"dropped": totals["dropped"], "downsampled": totals["downsampled"]}
    assert pub.counters()["samples_published"] == ingestor.samples_ingested


def _none():
    from collector.telemetry_store import Thinned

    return Thinned(0, 0)


def test_a_batch_delivered_twice_is_stored_once(tmp_path: Path):
    ingestor = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    batch = TelemetryBatch(HALL, [Sample("kiosk-1", "cpu.load", 10.0, 0.5)], 3, 7)
    payload = encode_batch(batch)
    try:
        assert ingestor.ingest(telemetry_topic(HALL), payload)
        assert ingestor.ingest(telemetry_topic(HALL), payload)
        # An older batch re-delivered late cannot lower the totals.
        older = encode_batch(TelemetryBatch(HALL, batch.samples, 1, 2))
        assert ingestor.ingest(telemetry_topic(HALL), older)
        counters = ingestor.counters()
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()
    assert counters["samples_ingested"] == 1
    assert counters["sample_duplicates"] == 2
    assert counters["telemetry_thinned"] == {HALL: {"dropped": 3, "downsampled": 7}}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b"not json", "not_json"),
        (lambda b: b.replace(b'"v":1', b'"v":9'), "version"),
        (lambda b: b.replace(b'"hall_id":"hall-t"', b'"hall_id":"hall-x"'), "wrong_hall"),
        (lambda b: b.replace(b'"value":0.5', b'"value":NaN'), "wrong_type"),
        (lambda b: b.replace(b'"n":1', b'"n":0'), "wrong_type"),
        (lambda b: b.replace(b'"min":0.5', b'"min":0.9'), "wrong_type"),
        (lambda b: b.replace(b'"metric":"cpu.load",', b""), "missing_field"),
    ],
)
def test_malformed_telemetry_is_refused_with_its_reason(tmp_path: Path, mutate, reason):
    ingestor = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    good = encode_batch(TelemetryBatch(HALL, [Sample("kiosk-1", "cpu.load", 10.0, 0.5)], 0, 0))
    try:
        assert ingestor.ingest(telemetry_topic(HALL), mutate(good))
        counters = ingestor.counters()
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()
    assert counters["rejected_reasons"] == {reason: 1}
    assert counters["samples_ingested"] == 0


def test_wire_form_round_trips():
    batch = TelemetryBatch(HALL, [Sample("k", "m", 60.0, 2.0, 3, 1.0, 4.0)], 5, 6)
    assert decode_batch(encode_batch(batch)) == batch
    with pytest.raises(MalformedMessage):
        decode_batch(encode_batch(TelemetryBatch(HALL, [], 0, 0)))


def test_per_minute_buckets_are_per_device_and_metric(tmp_path: Path):
    db = tmp_path / "hall.db"
    conn = journal.connect(db)
    small_policy(conn, downsample=10, cap=100_000)
    rec = TelemetryRecorder(db)
    try:
        for i in range(telemetry.PUBLISH_GUARD_ROWS + 600):
            rec.record(f"d{i % 2}", f"m{i % 3}", 1.0, at=float(i // 6))
        rec.flush()
    finally:
        rec.stop()
    groups = defaultdict(int)
    for device, metric, at, _, n, aggregated in table(conn):
        if aggregated:
            groups[(device, metric, at // telemetry.BUCKET_S)] += 1
    conn.close()
    assert groups and all(count == 1 for count in groups.values())
    assert {device for device, _, _ in groups} == {"d0", "d1"}


def test_the_hall_box_measures_its_backlog_disk_and_link(hall_db: HallDb):
    hall_db.queue.issue("social", "kiosk-1")
    hall_db.queue.issue("social", "kiosk-1")
    rec = TelemetryRecorder(hall_db.path)
    metrics = HostMetrics(rec, hall_db.path, "hallbox-t", connected=lambda: False)
    try:
        readings = metrics.read_once()
        rec.flush()
    finally:
        metrics.stop()
        rec.stop()
    assert readings["journal.backlog"] == journal.backlog(hall_db.conn) == 2
    assert readings["publisher.connected"] == 0.0
    assert readings["disk.free_bytes"] > 0
    stored = {r[1]: r[3] for r in table(hall_db.conn)}
    assert stored == readings


def test_the_agent_process_sends_the_boxs_readings_to_the_collector(
    hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path
):
    """``python main.py agent`` records the box's own readings and they reach the collector
    as telemetry, beside the hall's events."""
    hall_db.queue.issue("social", "kiosk-1")
    ingestor = Ingestor(tmp_path / "collector.db", mosquitto.host, mosquitto.port)
    ingestor.start()
    log = tmp_path / "agent.log"
    agent = subprocess.Popen(
        [sys.executable, "main.py", "agent", "--mqtt", f"{mosquitto.host}:{mosquitto.port}",
         "--hall-db", str(hall_db.path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    hall, box = hall_db.hall.hall_id, f"hallbox-{hall_db.hall.hall_id}"
    try:
        assert ingestor.wait_subscribed(30)
        assert wait_until(
            lambda: ingestor.telemetry.readings(hall, box, "disk.free_bytes"), 60
        ), log.read_text(errors="replace")
        # The ticket was issued on the fixture's day, before today: the agent's day closer
        # also journals its expiry.
        assert wait_until(lambda: ingestor.events_ingested == 2, 30)
        kinds = {(e.device_id, e.kind, e.data.get("reason")) for e in ingestor.store.all_events(hall)}
        assert kinds == {("kiosk-1", "ticket.issued", None), (box, "ticket.skipped", "expired")}
        connected = ingestor.telemetry.readings(hall, box, "publisher.connected")
    finally:
        agent.terminate()
        agent.wait(30)
        ingestor.stop()
        ingestor.store.close()
        ingestor.telemetry.close()
    assert connected and connected[0][1] in (0.0, 1.0)
    assert agent.returncode == 0

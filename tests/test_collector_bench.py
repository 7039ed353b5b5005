"""``python main.py bench collector``: the province bench runs end to end on a tiny province,
and the metrics' day bounds (a speed fix the bench led to) keep midnight where it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.collector_bench import hall_batches, hall_events
from collector.metrics import HallMetrics
from core.clock import at_hall_time
from core.events import Event, Kind, decode_batch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_province_bench_runs_on_a_tiny_province_and_loses_nothing() -> None:
    out = subprocess.run(
        [sys.executable, "main.py", "bench", "collector", "--quick", "--halls", "30", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(out.stdout)["collector"]
    ingest = result["ingest"]
    assert result["halls"] == 30
    assert ingest["events_per_s"] > 0 and ingest["ratio_vs_raw_baseline"] > 0
    assert ingest["baseline_raw_json_executemany_events_per_s"] > 0
    lost = ingest["nothing_lost"]
    assert lost["events_stored"] == lost["events_expected"] == ingest["events"]
    for counter in ("duplicates", "rejected", "seq_conflicts", "store_failures", "open_gaps",
                    "lost_seqs", "monitor_failures"):
        assert lost[counter] == 0, (counter, lost)
    assert lost["watermarks_at_last_seq_sampled_halls"] is True
    backlog = result["ingest_backlog"]  # queued while the collector was down, then drained
    assert backlog["events"] == ingest["events"] and backlog["events_per_s"] > 0
    lost = backlog["nothing_lost"]
    assert lost["events_stored"] == lost["events_expected"] == backlog["events"]
    assert lost["lost_seqs"] == lost["open_gaps"] == lost["duplicates"] == 0, lost
    assert lost["watermarks_at_last_seq_sampled_halls"] is True
    assert result["evaluation"]["halls"] == 30
    assert result["evaluation_busy_halls"]["evaluations_per_s_one_hall"] > 0
    latency = result["warning_latency"]
    assert latency["missing"] == 0 and latency["warnings_received"] == latency["flood_halls"]
    assert 0 < latency["latency_p99_s"] < 60
    assert result["wait_estimate"]["status"] in ("measured", "pending")
    versions = result["versions"]
    assert versions["paho-mqtt"][0].isdigit()
    assert versions["mosquitto"].startswith("mosquitto version")


def test_the_simulated_hall_is_valid_and_the_same_in_every_process() -> None:
    start = at_hall_time("2026-12-06", "08:30")
    first, again = hall_events("prov", 7, start, 6), hall_events("prov", 7, start, 6)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    kinds = {e.kind for e in first}
    assert {Kind.TICKET_ISSUED, Kind.TICKET_CALLED, Kind.TICKET_FINISHED, Kind.WINDOW_OPENED,
            Kind.DEVICE_HEALTH, Kind.KIOSK_TRANSACTION} <= kinds
    decoded = [decode_batch(p, hall_id="prov-00007", now=start + 86400)
               for p in hall_batches("prov", 7, start, 6)]
    assert not any(d.rejected for d in decoded)
    assert sum(len(d.events) for d in decoded) == len(first)


def _ticket(seq: int, at: float, number: str) -> Event:
    data = {"ticket_id": number, "ticket_no": number, "service": "social", "issued_at": at}
    return Event(Kind.TICKET_ISSUED, "h", "kiosk-1", seq, at, data)


def test_the_business_day_turns_exactly_at_the_halls_midnight() -> None:
    midnight = at_hall_time("2026-12-07", "00:00")
    metrics = HallMetrics()
    metrics.observe(_ticket(1, midnight - 0.001, "late"))
    metrics.observe(_ticket(2, midnight, "first"))
    # A ticket of the day before, arriving after the day turned, is not today's.
    metrics.observe(_ticket(3, midnight - 0.001, "later"))
    metrics.observe(_ticket(4, midnight + 86399.999, "last"))

    snap = metrics.snapshot("h", "social", midnight + 86399.999)
    assert snap.waiting_count == 2
    metrics.observe(_ticket(5, midnight + 86400, "next"))
    assert metrics.snapshot("h", "social", midnight + 86400).waiting_count == 1

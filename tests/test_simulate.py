"""`python main.py simulate`: the whole spine, headless, as a manager would read its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def simulate(scenario: str, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "main.py", "simulate", "--scenario", scenario, "--json", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)


def test_morning_peak_floods_the_hall_and_every_event_arrives_once() -> None:
    report = simulate("morning-peak")
    assert report["tickets_issued"] > 0
    assert report["tickets_served"] + report["tickets_skipped"] == report["tickets_issued"]
    assert report["events_stored"] > report["tickets_issued"]
    assert report["events_ingested"] == report["events_stored"] <= report["events_published"]
    assert report["journal_backlog"] == 0
    assert report["tickets_printed"] == report["tickets_issued"]
    assert report["ratings_recorded"] == report["ratings"] > 0
    red = [w for w in report["warnings"] if w["level"] == "red"]
    assert red, report["warnings"]
    for w in report["warnings"]:
        assert set(w) >= {"hall", "service", "level", "metric", "value", "at"}
    # Red only after the wait really passed the hall's red line (config: 1800 s).
    assert any(w["metric"] == "wait_s" and w["value"] >= 1800 for w in red)
    assert report["max_wait_s"] >= 1800


def test_quiet_afternoon_raises_no_red_and_advises_merging() -> None:
    report = simulate("quiet-afternoon")
    assert report["tickets_issued"] > 0
    assert report["events_ingested"] == report["events_stored"]
    assert not [w for w in report["warnings"] if w["level"] in ("red", "yellow")]
    valleys = [w for w in report["warnings"] if w["level"] == "valley"]
    assert valleys and all(w["recommendation"]["action"] == "merge" for w in valleys)


def test_the_embedded_broker_carries_the_same_hall() -> None:
    report = simulate("quiet-afternoon", "--broker", "embedded")
    assert report["broker"] == "amqtt"
    assert report["events_ingested"] == report["events_stored"] > 0


def test_an_unknown_scenario_is_refused_with_the_known_ones() -> None:
    out = subprocess.run(
        [sys.executable, "main.py", "simulate", "--scenario", "no-such"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "morning-peak" in out.stderr


def test_the_default_output_reads_as_hall_times_and_minutes() -> None:
    """Without --json a manager reads 08:30 and 分钟, not epoch seconds."""
    from simulation.cli import report_text

    report = {
        "scenario": "morning-peak", "hall_start": "2026-11-23T08:30:00+08:00",
        "hall_end": "2026-11-23T12:02:10+08:00", "tickets_issued": 130, "tickets_printed": 130,
        "tickets_served": 126, "tickets_skipped": 4, "ratings": 100, "events_published": 900,
        "events_stored": 900, "events_ingested": 900, "duplicates_dropped": 0,
        "rejected_messages": 0, "journal_backlog": 0, "drained": True, "max_wait_s": 3960.0,
        "mean_wait_s": 1500.0, "cleared": 1, "broker": "mosquitto", "wall_s": 6.2,
        "warnings": [{"hall": "hall-demo", "service": "social", "level": "red",
                      "metric": "wait_s", "value": 1830.0, "at": 1795400000.0,
                      "at_hall_time": "09:41", "recommendation": {"text": "建议增开1个窗口"}}],
    }  # fmt: skip
    text = report_text(report)
    assert "08:30–12:02" in text
    assert "最长等候 66.0 分钟" in text and "平均等候 25.0 分钟" in text
    assert "09:41 红色预警 social 等候时长 30.5 分钟，建议增开1个窗口" in text
    assert "1795400000" not in text

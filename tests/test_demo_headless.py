"""`python main.py demo --headless`: the hall runs on a bare machine and shuts down cleanly."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_headless_demo_serves_a_live_dashboard_and_flushes_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "main.py", "demo", "--headless", "--workdir", str(tmp_path),
         "--dashboard-port", "0", "--citizens", "7200"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = _dashboard_url(proc)
        # The demo's warnings and 差评 have somewhere to go: the simulated SMS gateway answers.
        gateway = _printed(proc, r"短信网关 .*messages sent: (http://\S+)")
        with urllib.request.urlopen(gateway, timeout=5) as resp:
            assert "messages" in json.load(resp)["data"]
        state = _poll_until(url, _walk_ins_arrived)
        hall = state["halls"][0]
        assert hall["name"] == "示范区政务服务中心"
        assert hall["totals"]["open_windows"] == [1, 2]
        box = _poll_until(url, lambda s: any(d["status"] == "online" for d in s["devices"]))
        assert [d["device"] for d in box["devices"]] == ["hallbox-hall-demo"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    # Ctrl-C drained the journal: every event the hall made reached the collector.
    assert sqlite3.connect(tmp_path / "hall.db").execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    stored = sqlite3.connect(tmp_path / "collector.db").execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert stored >= 5  # two windows signed in, three or more tickets issued


def _walk_ins_arrived(state: dict) -> bool:
    totals = state["halls"][0]["totals"]
    return totals is not None and totals["arrivals_30m"] >= 3


def _dashboard_url(proc: subprocess.Popen[str]) -> str:
    return _printed(proc, r"dashboard: (http://\S+)")


def _printed(proc: subprocess.Popen[str], pattern: str) -> str:
    """The first group of the next line of the demo's output that matches ``pattern``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    raise AssertionError(f"the demo never printed {pattern!r}")


def _poll_until(url: str, condition: object, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "api/state", timeout=5) as resp:
            state = json.load(resp)
        if state["halls"] and condition(state):  # type: ignore[operator]
            return state
        time.sleep(0.5)
    raise AssertionError(f"dashboard never showed the walk-ins: {state}")

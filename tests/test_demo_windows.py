"""`python main.py demo` with its windows: the hall's four apps come up under X and work
together through their device protocols, then everything stops cleanly."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.ui
def test_demo_opens_the_hall_windows_and_the_walk_ins_use_the_display_window(
    xvfb: dict[str, str], tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "main.py", "demo", "--workdir", str(tmp_path), "--no-browser",
         "--dashboard-port", "0", "--display-port", str(free_port()),
         "--rating-port", str(free_port()), "--citizens", "3600"],
        cwd=ROOT, env=xvfb, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    health: list[dict] = []
    children: list[str] = []
    try:
        # Windows 1 and 2 call walk-ins and announce them on the display *window* over TCP;
        # the display's health is journaled on its first answer.
        # On a loaded machine the window may come up after the first call, which then
        # journals the display offline; what matters is that calls reach it.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (health and health[-1]["state"] == "ok"):
            time.sleep(1)
            if proc.poll() is not None:
                break
            health = _display_health(tmp_path / "hall.db")
        children = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "main.py"],
                                  capture_output=True, text=True).stdout.split()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=90)
    # Once failed in a fresh clone (display-1 stuck at bad_frame 304) and never since: when
    # it fails again, say why from what the demo logged.
    why = _story(out, tmp_path, health)
    assert health, "no call reached the display window\n" + why
    assert health[-1]["state"] == "ok", why
    assert len(children) == 4, why  # display, rating pad, kiosk, PAD
    assert proc.returncode == 0, why
    assert "Traceback" not in out, why


def _story(out: str, workdir: Path, health: list[dict]) -> str:
    """The display's health reports, the demo's output and the tail of each app's log."""
    parts = [f"display-1 health: {health}", f"demo output:\n{out[-4000:]}"]
    for log in sorted((workdir / "logs").glob("*.log")):
        text = log.read_text(errors="replace")
        parts.append(f"{log.name}:\n{text[-3000:]}")
    return "\n\n".join(parts)


def _display_health(db: Path) -> list[dict]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        # The collector may already have taken the rows; the journal keeps nothing then, so
        # look in the collector's store as well.
        rows = [r[0] for r in conn.execute("SELECT payload FROM outbox")]
    except sqlite3.OperationalError:
        rows = []
    finally:
        conn.close()
    store = db.parent / "collector.db"
    if store.exists():
        sconn = sqlite3.connect(store)
        try:
            rows += [r[0] for r in sconn.execute("SELECT payload FROM events")]
        except sqlite3.OperationalError:
            pass
        finally:
            sconn.close()
    # Oldest first, each once (a row may be in both the journal and the collector's store).
    events = {(e["device_id"], e["seq"]): e for e in map(json.loads, rows)}.values()
    health = sorted(
        (e for e in events if e["kind"] == "device.health" and e["device_id"] == "display-1"),
        key=lambda e: e["seq"],
    )
    return [e["data"] for e in health]

"""`python main.py demo`: a whole hall on simulated hardware, on one machine.

It starts, with embedded defaults and nothing to configure:

* an MQTT broker (Mosquitto if installed, otherwise an in-process one);
* the central collector and its dashboard page;
* the hall agent publishing the hall journal and taking the collector's commands
  (``python main.py collector command … --hall hall-demo``, the address is printed);
* walk-in citizens and staff at windows 1 and 2, simulated in real time, so the hall is busy;
* unless ``--headless``: the call display, the rating pad, the kiosk (with a simulated USB
  ticket printer) and the PAD for window 3 as Kivy windows, each its own process, talking to
  each other through the same device protocols and hall database real hardware would use.

Closing the kiosk or PAD window, or Ctrl-C, stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path

from agent import journal
from agent.broker import start_embedded_broker, wait_listening
from agent.hallbox_remote import HallBoxRemote
from agent.presence import hall_box_presence
from agent.publisher import Publisher
from collector.dashboard import Dashboard
from collector.service import CollectorService
from core.clock import SimClock, SystemClock
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from flows.queue import HallQueue
from simulation.devices import open_front_of_house
from simulation.hall_sim import HallSimulation, StopSimulation
from simulation.scenarios import Scenario

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PAD_WINDOW = 3
#: How long a Kivy window may take to come up (first start compiles and caches shaders).
APP_START_TIMEOUT_S = 30.0


def walk_in_scenario(per_hour: float) -> Scenario:
    """Real-time background traffic: citizens spread over the services, two staffed windows."""
    share = {"social": 0.7, "household": 0.2, "business": 0.1}
    return Scenario(
        name="demo-walk-ins",
        day="2026-01-01",
        start="08:00",
        end="18:00",
        arrivals_per_hour={s: per_hour * f for s, f in share.items()},
        open_windows=(1, 2),
    )


def run_demo(args: argparse.Namespace) -> int:
    if not args.headless and not _has_display():
        print(
            "No display (DISPLAY/WAYLAND_DISPLAY unset): running the hall headless. "
            "Open the dashboard below, or run `make demo` from a desktop session for the windows.",
            flush=True,
        )
        args.headless = True
    workdir = Path(args.workdir or ROOT / "var" / "demo")
    _fresh(workdir)
    hall = load_hall_config(DEFAULT_CONFIG)
    hall_db = workdir / "hall.db"
    journal.connect(hall_db).close()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    broker = start_embedded_broker(data_dir=workdir / "broker")
    collector = CollectorService(
        workdir / "collector.db", broker.host, broker.port, {hall.hall_id: hall}, clock=SystemClock()
    )
    collector.start()
    dashboard = Dashboard(collector.dashboard_state, port=args.dashboard_port)
    url = dashboard.start()
    publisher = Publisher(hall_db, hall.hall_id, broker.host, broker.port, client_id="demo-agent")
    publisher.start()
    presence = hall_box_presence(hall, broker.host, broker.port)
    presence.start()
    # No supervisor restarts the demo, so restart_app is acknowledged and only logged.
    remote = HallBoxRemote(
        hall,
        DEFAULT_CONFIG,
        hall_db,
        broker.host,
        broker.port,
        publisher,
        lambda: log.warning("restart_app acknowledged; the demo has no supervisor to restart it"),
    )
    remote.start()
    apps: list[subprocess.Popen[bytes]] = []
    walk_ins = None
    try:
        print(f"管理看板 dashboard: {url}", flush=True)
        print(f"MQTT broker ({broker.kind}): {broker.host}:{broker.port}", flush=True)
        print(
            "远程命令 remote commands: python main.py collector command upload_diagnostics"
            f" --hall {hall.hall_id} --mqtt {broker.host}:{broker.port}",
            flush=True,
        )
        display_url = "sim://call-display"
        if not args.headless:
            apps = _start_apps(args, workdir, hall_db, f"{broker.host}:{broker.port}")
            display_url = f"tcp://127.0.0.1:{args.display_port}"
            if not args.no_browser:
                _open_page(url)
        walk_ins = _start_walk_ins(hall_db, hall, args.citizens, display_url, stop)
        _wait(stop, apps)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for app in apps:
            if app.poll() is None:
                app.terminate()
        for app in apps:
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()
        if walk_ins is not None:
            walk_ins.join(timeout=10)
        remote.stop()
        presence.stop()
        publisher.wait_drained(10)
        publisher.stop()
        dashboard.stop()
        collector.stop()
        broker.close()
    return 0


def _fresh(workdir: Path) -> None:
    # Each demo tells the story from A001: yesterday's demo hall is not today's.
    names = ("hall.db", "hall.remote.db", "collector.db", "tickets.jsonl")
    for name in (n + suffix for n in names for suffix in ("", "-wal", "-shm")):
        (workdir / name).unlink(missing_ok=True)
    shutil.rmtree(workdir / "broker", ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)


def _start_walk_ins(
    hall_db: Path, hall: HallConfig, per_hour: float, display_url: str, stop: threading.Event
) -> threading.Thread | None:
    if per_hour <= 0:
        return None

    def pace_real_time(hall_t: float) -> None:
        # The simulated staff share the hall with people tapping real windows, so their
        # clock is the wall clock: wait for each next moment, unless the demo is ending.
        if stop.wait(max(0.0, hall_t - time.time())):
            raise StopSimulation

    def run() -> None:
        clock = SimClock(time.time())
        scenario = walk_in_scenario(per_hour)
        queue = HallQueue(journal.connect(hall_db), hall, clock)
        # Walk-ins use the second ticket machine; the kiosk window is kiosk-1.
        front = open_front_of_house(
            queue, clock, scenario.open_windows, kiosk_ids=("kiosk-2",), display_url=display_url
        )
        try:
            HallSimulation(front, clock, scenario, seed=int(time.time())).run(
                pace=pace_real_time, start_at=time.time()
            )
        except Exception:
            log.exception("walk-in simulation stopped")
        finally:
            front.close()

    thread = threading.Thread(target=run, name="walk-ins", daemon=True)
    thread.start()
    return thread


def _start_apps(
    args: argparse.Namespace, workdir: Path, hall_db: Path, mqtt: str
) -> list[subprocess.Popen[bytes]]:
    common = ["--config", str(DEFAULT_CONFIG), "--hall-db", str(hall_db)]
    display = f"tcp://127.0.0.1:{args.display_port}"
    rating = f"tcp://127.0.0.1:{args.rating_port}"
    commands = [
        ["display", "--port", str(args.display_port)],
        ["rating-pad", "--port", str(args.rating_port)],
        [
            "kiosk",
            *common,
            "--device-id",
            "kiosk-1",
            "--printer",
            f"sim://usb-printer?record={workdir / 'tickets.jsonl'}",
            "--mqtt",
            mqtt,
        ],
        [
            "pad",
            *common,
            "--device-id",
            f"pad-{PAD_WINDOW}",
            "--window",
            str(PAD_WINDOW),
            "--staff",
            "003",
            "--display",
            display,
            "--rating-pad",
            rating,
            "--mqtt",
            mqtt,
        ],
    ]
    apps = []
    for cmd in commands:
        apps.append(subprocess.Popen([sys.executable, str(ROOT / "main.py"), *cmd], cwd=ROOT))
        if cmd[0] in ("display", "rating-pad"):
            # The PAD and the walk-in desks connect to these windows' devices at start.
            port = int(cmd[2])
            if not wait_listening("127.0.0.1", port, APP_START_TIMEOUT_S):
                log.warning("the %s window is not listening on %d; calls will say so", cmd[0], port)
    return apps


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_page(url: str) -> None:
    if _has_display():
        try:
            webbrowser.open(url)
        except webbrowser.Error:
            log.info("no browser found; open %s by hand", url)


def _wait(stop: threading.Event, apps: list[subprocess.Popen[bytes]]) -> None:
    """Until Ctrl-C, SIGTERM, or the citizen-facing kiosk or the PAD is closed."""
    watched = apps[2:]  # kiosk and PAD: closing either ends the demo
    while not stop.wait(0.5):
        if watched and any(a.poll() is not None for a in watched):
            return

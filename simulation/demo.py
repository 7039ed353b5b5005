"""`python main.py demo`: a whole hall on simulated hardware, on one machine.

It starts, with embedded defaults and nothing to configure:

* an MQTT broker (Mosquitto if installed, otherwise an in-process one);
* the central collector and its dashboard page, sending its warnings and 差评 by a simulated
  SMS gateway to the demo's people (:data:`DEMO_RECIPIENTS`);
* the hall agent publishing the hall journal and taking the collector's commands
  (``python main.py collector command … --hall hall-demo``, the address is printed);
* walk-in citizens and staff at windows 1 and 2, simulated in real time, so the hall is busy;
* the hall API (``docs/hall-api.md``) on port 7700 (or a free port when that one is taken):
  the hall box serves the queue; the demo writes the device list and a device file for the
  kiosk and the PAD under ``<workdir>/devices/``;
* unless ``--headless``: the call display, the rating pad, the kiosk (with a simulated USB
  ticket printer) and the PAD for window 3 as Kivy windows, each its own process. The kiosk and
  the PAD reach the queue as machines of their own would, over the hall API with their device
  files (``--hall-box``, ``--device-file``), not through the hall database; the PAD reaches the
  call display and the rating pad through the device protocols real hardware speaks.

The hall box's agent is :class:`agent.hall_box.HallBox`, the same assembly ``python main.py
agent`` runs, so the demo also records and publishes the box's telemetry. Every process logs to
``<workdir>/logs/``; the terminal shows only warnings and, last, what a person needs: the
dashboard address and how to send a command.

Closing the kiosk or PAD window, or Ctrl-C, stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import webbrowser
from pathlib import Path

from agent.broker import start_embedded_broker, wait_listening
from agent.hall_box import HallBox
from collector.dashboard import Dashboard
from collector.service import CollectorService
from collector.tidal_config import CollectorHallSettings, parse_collector_settings
from core.clock import SimClock, SystemClock
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from flows.queue import HallQueue
from hallnet.devices import enrol
from hallstore import journal
from simulation.devices import open_front_of_house
from simulation.hall_sim import IDLE_LOOK_S, HallSimulation, StopSimulation
from simulation.scenarios import Scenario
from upstream_sim.notify_gateway import notify_gateway_server
from upstream_sim.payment_gateways import start_gateways
from upstream_sim.platform import platform_server, sample_people

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PAD_WINDOW = 3
#: The hall API's port in the demo (a free one when it is taken).
HALL_PORT = 7700
#: Where each window opens on a 1920×1080 screen, and its size: side by side, not stacked.
WINDOW_LAYOUT = {
    "kiosk": ("720x960", "0,40"),
    "pad": ("960x640", "730,40"),
    "display": ("640x380", "730,700"),
    "rating-pad": ("540x330", "1380,700"),
}
#: The dashboard's browser window, over the right half of the PAD (its buttons stay visible).
BROWSER_POSITION, BROWSER_SIZE = (1100, 60), (820, 960)
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
    logs = workdir / "logs"
    _log_to_file(logs / "demo.log")
    hall = load_hall_config(DEFAULT_CONFIG)
    hall_db = workdir / "hall.db"
    journal.connect(hall_db).close()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    broker = start_embedded_broker(data_dir=workdir / "broker")
    # Warnings and 差评 go to the people of DEMO_RECIPIENTS through a simulated SMS gateway.
    notify_server, _ = notify_gateway_server()
    notify_server.start()
    collector = CollectorService(
        workdir / "collector.db",
        broker.host,
        broker.port,
        {hall.hall_id: hall},
        clock=SystemClock(),
        settings={hall.hall_id: _demo_settings(notify_server.url)},
    )
    collector.start()
    dashboard = Dashboard(
        collector.dashboard_state,
        port=args.dashboard_port,
        follow_up=collector.follow_up,
        kpis=collector.kpi_state,
        platform_totals=collector.save_platform_totals,
    )
    url = dashboard.start()
    # No supervisor restarts the demo, so restart_app is acknowledged and only logged.
    devices = workdir / "devices"
    box = HallBox(
        hall,
        DEFAULT_CONFIG,
        hall_db,
        broker.host,
        broker.port,
        lambda: log.warning("restart_app acknowledged; the demo has no supervisor to restart it"),
        client_id="demo-agent",
        serve_hall=("127.0.0.1", _free_or(HALL_PORT)),
        devices=devices / "hall-devices.json",
    )
    assert box.hall_api is not None
    hall_box = "{}:{}".format(*box.hall_api.address)
    device_files = _enrol_apps(hall.hall_id, devices, hall_box)
    box.start()
    # The kiosk's upstreams: the simulated government platform and the payment gateways.
    platform = platform_server().start()
    gateways = start_gateways(workdir / "payments")
    apps: list[subprocess.Popen[bytes]] = []
    walk_ins = None
    try:
        display_url = "sim://call-display"
        if not args.headless:
            kiosk_uplinks = [
                "--platform", platform.url,
                "--payments", str(gateways.payments_file),
                "--id-reader", "sim://id-reader",
                "--camera", "sim://camera",
            ]  # fmt: skip
            if shutil.which("cupsd"):
                kiosk_uplinks += ["--document-printer", "sim://cups-pdf"]
            apps = _start_apps(
                args,
                workdir,
                hall_box,
                device_files,
                f"{broker.host}:{broker.port}",
                logs,
                kiosk_uplinks,
            )
            display_url = f"tcp://127.0.0.1:{args.display_port}"
            if not args.no_browser:
                browser = _open_page(url, workdir, logs)
                if browser is not None:
                    apps.append(browser)
        walk_ins = _start_walk_ins(hall_db, hall, args.citizens, display_url, stop)
        # Last, so that no window's start-up log buries it.
        print(
            f"\n管理看板 dashboard: {url}\n"
            f"大厅大屏 wall screen: {url}wall\n"
            f"MQTT broker ({broker.kind}): {broker.host}:{broker.port}\n"
            f"叫号服务 hall API: http://{hall_box}/v1 (devices: {devices})\n"
            f"政务服务平台 (simulated): {platform.url}/openapi.json\n"
            f"短信网关 (simulated), messages sent: {notify_server.url}/api/v1/messages\n"
            "试用身份证号 (type at the kiosk): "
            + "、".join(f"{p.id_number} {p.name}" for p in sample_people())
            + "\n"
            "远程命令 remote commands: python main.py collector command upload_diagnostics"
            f" --hall {hall.hall_id} --mqtt {broker.host}:{broker.port}\n"
            f"日志 logs: {logs}\n"
            "Ctrl-C, or closing the kiosk or PAD window, stops the demo.",
            flush=True,
        )
        _wait(stop, apps[2:4])  # the kiosk and the PAD
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
        box.stop(drain_s=10)
        platform.stop()
        gateways.stop()
        dashboard.stop()
        collector.stop()
        notify_server.stop()
        broker.close()
    return 0


#: Who the demo hall's warnings and 差评 reach (``docs/tidal.md``, "Notifications"); the
#: shipped config leaves ``[notify]`` empty, since a real hall names its own people.
DEMO_RECIPIENTS = (
    {"role": "office_lead", "name": "王主任", "phone": "13800000001"},
    {"role": "window_lead", "name": "李科长", "phone": "13800000002", "department": "人社局",
     "services": ["social"]},
    {"role": "window_lead", "name": "赵科长", "phone": "13800000003", "department": "公安局",
     "services": ["household"]},
    {"role": "duty_manager", "name": "周经理", "phone": "13800000004"},
)  # fmt: skip


def _demo_settings(gateway: str) -> CollectorHallSettings:
    """The demo hall's ``[tidal]`` as shipped, and ``[notify]`` through the simulated gateway."""
    with DEFAULT_CONFIG.open("rb") as f:
        raw = tomllib.load(f)
    notify = {"gateway": gateway, "channel": "sms", "recipients": list(DEMO_RECIPIENTS)}
    return parse_collector_settings({"tidal": raw.get("tidal", {}), "notify": notify})


def _log_to_file(path: Path) -> None:
    """Everything at INFO into ``path``; the terminal keeps only warnings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)
    root.setLevel(min(root.level, logging.INFO) or logging.INFO)


def _fresh(workdir: Path) -> None:
    # Each demo tells the story from A001: yesterday's demo hall is not today's.
    names = ("hall.db", "hall.remote.db", "collector.db", "tickets.jsonl")
    for name in (n + suffix for n in names for suffix in ("", "-wal", "-shm")):
        (workdir / name).unlink(missing_ok=True)
    for folder in ("broker", "logs", "chromium", "devices", "payments"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
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
            HallSimulation(
                front, clock, scenario, seed=int(time.time()), idle_look_s=IDLE_LOOK_S
            ).run(
                pace=pace_real_time, start_at=time.time()
            )
        except Exception:
            log.exception("walk-in simulation stopped")
        finally:
            front.close()

    thread = threading.Thread(target=run, name="walk-ins", daemon=True)
    thread.start()
    return thread


def _free_or(port: int) -> int:
    """``port`` when it can be bound on loopback, else 0 (any free port)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            log.warning("port %d is taken; the hall API takes a free port", port)
            return 0
    return port


def _enrol_apps(hall_id: str, devices: Path, hall_box: str) -> dict[str, Path]:
    """The demo's device list and a device file for its kiosk and its PAD, as
    ``python main.py hall-devices add`` would write them on a real hall box."""
    files = {}
    apps = (("kiosk-1", "kiosk", None), (f"pad-{PAD_WINDOW}", "pad", PAD_WINDOW))
    for device_id, role, window in apps:
        files[role] = devices / device_id / "device.json"
        enrol(
            devices / "hall-devices.json", files[role], hall_id, device_id, role, hall_box, window
        )
    return files


def _start_apps(
    args: argparse.Namespace,
    workdir: Path,
    hall_box: str,
    device_files: dict[str, Path],
    mqtt: str,
    logs: Path,
    kiosk_uplinks: list[str],
) -> list[subprocess.Popen[bytes]]:
    common = ["--config", str(DEFAULT_CONFIG), "--hall-box", hall_box]
    display = f"tcp://127.0.0.1:{args.display_port}"
    rating = f"tcp://127.0.0.1:{args.rating_port}"
    commands = [
        ["display", "--port", str(args.display_port)],
        ["rating-pad", "--port", str(args.rating_port)],
        [
            "kiosk",
            *common,
            "--device-file",
            str(device_files["kiosk"]),
            "--printer",
            f"sim://usb-printer?record={workdir / 'tickets.jsonl'}",
            "--mqtt",
            mqtt,
            *kiosk_uplinks,
        ],
        [
            "pad",
            *common,
            "--device-file",
            str(device_files["pad"]),
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
        size, position = WINDOW_LAYOUT[cmd[0]]
        with (logs / f"{cmd[0]}.log").open("ab") as out:
            apps.append(subprocess.Popen(
                [sys.executable, str(ROOT / "main.py"), *cmd, "--size", size, "--position", position],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            ))
        if cmd[0] in ("display", "rating-pad"):
            # The PAD and the walk-in desks connect to these windows' devices at start.
            port = int(cmd[2])
            if not wait_listening("127.0.0.1", port, APP_START_TIMEOUT_S):
                log.warning("the %s window is not listening on %d; calls will say so", cmd[0], port)
    return apps


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_page(url: str, workdir: Path, logs: Path) -> subprocess.Popen[bytes] | None:
    """Open the dashboard. Chromium is started by us (and stopped with the demo); as root it
    refuses to start without ``--no-sandbox``, which the desktop's default browser would not
    pass, so the page silently never opened."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        try:
            if webbrowser.open(url):
                return None
        except webbrowser.Error:
            pass
        log.warning("no browser found; open %s by hand", url)
        return None
    flags = [
        f"--user-data-dir={workdir / 'chromium'}",
        "--no-first-run",
        "--no-default-browser-check",
        # The demo reaches nothing outside the machine; without these Chromium keeps trying.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-position={BROWSER_POSITION[0]},{BROWSER_POSITION[1]}",
        f"--window-size={BROWSER_SIZE[0]},{BROWSER_SIZE[1]}",
    ]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    with (logs / "chromium.log").open("ab") as out:
        return subprocess.Popen([chromium, *flags, url], stdout=out, stderr=subprocess.STDOUT)


def _wait(stop: threading.Event, watched: list[subprocess.Popen[bytes]]) -> None:
    """Until Ctrl-C, SIGTERM, or the citizen-facing kiosk or the PAD is closed."""
    while not stop.wait(0.5):
        if watched and any(a.poll() is not None for a in watched):
            return

"""`python main.py agent`: one hall box's agent until interrupted or told to restart.

It publishes the hall journal and the box's own telemetry (``agent/host_metrics.py``), keeps
the box's presence, and takes the collector's commands
(``agent/hallbox_remote.py``). After ``restart_app`` it shuts down cleanly and exits with
``RESTART_EXIT_CODE`` (75) so that its supervisor starts it again.

With ``--serve-hall HOST:PORT`` (or ``[hall_box] listen`` in the hall config) it also serves the
hall API to the kiosks and PADs of the hall (``docs/hall-api.md``), with the device list
``--devices`` (or ``[hall_box] devices``; default ``hall-devices.json`` beside ``--hall-db``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from agent.commands import RESTART_EXIT_CODE
from agent.hall_box import HallBox
from core.cli import Command
from core.config import DEFAULT_CONFIG, load_hall_config
from core.mqtt import add_mqtt_auth_arguments, mqtt_auth
from core.netaddr import parse_host_port
from hallnet.devices import HALL_BOX_PORT

log = logging.getLogger(__name__)


def run_agent(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    host, port = parse_host_port(args.mqtt)
    config_path = args.config or DEFAULT_CONFIG
    hall = load_hall_config(config_path)
    auth = mqtt_auth(args)
    stop = stop or threading.Event()
    restart = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # A supervisor stops the box with SIGTERM: leave as after Ctrl-C, buffered readings
        # committed and a clean goodbye to the broker, not killed mid-write.
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())

    def request_restart() -> None:
        log.warning("restart requested by the collector: exiting with %d", RESTART_EXIT_CODE)
        restart.set()
        stop.set()

    listen = args.serve_hall or hall.hall_box_listen
    box = HallBox(
        hall,
        config_path,
        args.hall_db,
        host,
        port,
        request_restart,
        auth=auth,
        serve_hall=parse_host_port(listen, HALL_BOX_PORT) if listen else None,
        devices=args.devices or hall.hall_box_devices,
    )
    box.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
    return RESTART_EXIT_CODE if restart.is_set() else 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    parser.add_argument("--hall-db", required=True)
    parser.add_argument("--config", help="hall config TOML")
    parser.add_argument(
        "--serve-hall",
        metavar="HOST:PORT",
        help="serve the hall API to the hall's kiosks and PADs (default: [hall_box] listen)",
    )
    parser.add_argument(
        "--devices", help="the hall API's device list (default: beside the hall database)"
    )
    add_mqtt_auth_arguments(parser)


COMMANDS = (
    Command("agent", "publish a hall's journal to the collector", _arguments,
            "agent.cli:run_agent"),
)

"""`python main.py agent`: one hall box's agent until interrupted or told to restart.

It publishes the hall journal and the box's own telemetry (``agent/host_metrics.py``), keeps
the box's presence, and takes the collector's commands
(``agent/hallbox_remote.py``). After ``restart_app`` it shuts down cleanly and exits with
``RESTART_EXIT_CODE`` (75) so that its supervisor starts it again.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading

from agent.commands import RESTART_EXIT_CODE
from agent.hallbox_remote import HallBoxRemote
from agent.host_metrics import HostMetrics
from agent.presence import hall_box_presence
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from core.config import DEFAULT_CONFIG, load_hall_config
from core.mqtt import mqtt_auth
from core.netaddr import parse_host_port
from core.topics import hall_box_id

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

    publisher = Publisher(
        args.hall_db,
        hall.hall_id,
        host,
        port,
        client_id=f"agent-{hall.hall_id}-{socket.gethostname()}",
        auth=auth,
    )
    remote = HallBoxRemote(
        hall, config_path, args.hall_db, host, port, publisher, request_restart, auth=auth
    )
    recorder = TelemetryRecorder(args.hall_db)
    metrics = HostMetrics(
        recorder, args.hall_db, hall_box_id(hall.hall_id), lambda: publisher.connected
    )
    publisher.start()
    recorder.start()
    metrics.start()
    presence = hall_box_presence(hall, host, port, auth=auth)
    presence.start()
    remote.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        remote.stop()
        presence.stop()
        metrics.stop()
        recorder.stop()
        publisher.stop()
    return RESTART_EXIT_CODE if restart.is_set() else 0

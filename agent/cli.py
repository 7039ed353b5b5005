"""`python main.py agent`: publish one hall's journal until interrupted."""

from __future__ import annotations

import argparse
import socket
import threading

from agent.presence import hall_box_presence
from agent.publisher import Publisher
from core.config import DEFAULT_CONFIG, load_hall_config
from core.mqtt import mqtt_auth
from core.netaddr import parse_host_port


def run_agent(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    host, port = parse_host_port(args.mqtt)
    hall = load_hall_config(args.config or DEFAULT_CONFIG)
    auth = mqtt_auth(args)
    publisher = Publisher(
        args.hall_db,
        hall.hall_id,
        host,
        port,
        client_id=f"agent-{hall.hall_id}-{socket.gethostname()}",
        auth=auth,
    )
    publisher.start()
    presence = hall_box_presence(hall, host, port, auth=auth)
    presence.start()
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        presence.stop()
        publisher.stop()
    return 0


"""`python main.py collector`: the central collector and its dashboard, until interrupted."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from collector.dashboard import Dashboard
from collector.service import CollectorService
from core.clock import SystemClock
from core.config import DEFAULT_CONFIG, load_hall_config
from core.mqtt import mqtt_auth
from core.netaddr import parse_host_port

log = logging.getLogger(__name__)


def run_collector(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    host, port = parse_host_port(args.mqtt)
    halls = {c.hall_id: c for c in map(load_hall_config, args.config or [DEFAULT_CONFIG])}
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    service = CollectorService(
        args.store, host, port, halls, clock=SystemClock(), auth=mqtt_auth(args)
    )
    service.start()
    dashboard = Dashboard(service.dashboard_state, port=args.dashboard_port)
    print(f"管理看板 dashboard: {dashboard.start()}", flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
        service.stop()
    return 0

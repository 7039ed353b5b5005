"""The hall box's agent, assembled from configuration in one place.

``python main.py agent`` (production) and ``python main.py demo`` build the same parts here,
so the demo cannot drift from what a hall runs: the journal publisher, the telemetry recorder
with the box's own readings, the box's presence, remote control by the collector, and, when
configured, the hall API that serves the queue to the hall's kiosks and PADs on their own
machines (:class:`hallnet.server.HallServer`, ``docs/hall-api.md``).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

from agent.hallbox_remote import HallBoxRemote
from agent.host_metrics import HostMetrics
from agent.presence import hall_box_presence
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from core.config import HallConfig
from core.mqtt import MqttAuth
from core.topics import hall_box_id
from hallnet.devices import default_device_list
from hallnet.server import HallServer

log = logging.getLogger(__name__)


class HallBox:
    """Every background part of one hall box's agent, started and stopped together.

    Args:
        hall: the hall's configuration.
        config_path: where that configuration lives (remote ``refresh_catalog`` rereads it).
        hall_db: the hall database the journal and telemetry live in.
        host: the broker's address.
        port: the broker's port.
        request_restart: called when the collector sends ``restart_app``; production exits
            with 75 for its supervisor, the demo only logs.
        auth: broker credentials and TLS; anonymous plain TCP when None.
        client_id: the publisher's MQTT client id (default ``agent-<hall>-<hostname>``).
        serve_hall: ``(host, port)`` to serve the hall API on; None serves nothing.
        devices: the hall API's device list (default ``hall-devices.json`` beside ``hall_db``).

    Raises:
        ConfigError (100): ``serve_hall`` cannot be bound, or the device list is unreadable.
    """

    def __init__(
        self,
        hall: HallConfig,
        config_path: Path | str,
        hall_db: Path | str,
        host: str,
        port: int,
        request_restart: Callable[[], None],
        auth: MqttAuth | None = None,
        client_id: str | None = None,
        serve_hall: tuple[str, int] | None = None,
        devices: Path | str | None = None,
    ) -> None:
        # First: a port that cannot be bound stops the box before anything else has started.
        self.hall_api = (
            None
            if serve_hall is None
            else HallServer(hall, hall_db, serve_hall, devices or default_device_list(hall_db))
        )
        self.publisher = Publisher(
            hall_db,
            hall.hall_id,
            host,
            port,
            client_id=client_id or f"agent-{hall.hall_id}-{socket.gethostname()}",
            auth=auth,
        )
        self.remote = HallBoxRemote(
            hall, config_path, hall_db, host, port, self.publisher, request_restart, auth=auth
        )
        self.recorder = TelemetryRecorder(hall_db)
        self.metrics = HostMetrics(
            self.recorder, hall_db, hall_box_id(hall.hall_id), lambda: self.publisher.connected
        )
        self.presence = hall_box_presence(hall, host, port, auth=auth)

    def start(self) -> None:
        if self.hall_api is not None:
            self.hall_api.start()
        self.publisher.start()
        self.recorder.start()
        self.metrics.start()
        self.presence.start()
        self.remote.start()

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop every part, last in first out; with ``drain_s`` the publisher first gets that
        long to send what the journal still holds."""
        self.remote.stop()
        self.presence.stop()
        self.metrics.stop()
        self.recorder.stop()
        if drain_s > 0 and not self.publisher.wait_drained(drain_s):
            log.warning("the journal was not drained within %.0f s; it is sent next start", drain_s)
        self.publisher.stop()
        if self.hall_api is not None:
            self.hall_api.stop()

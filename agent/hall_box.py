"""The hall box's agent, assembled from configuration in one place.

``python main.py agent`` (production) and ``python main.py demo`` build the same parts here,
so the demo cannot drift from what a hall runs: the journal publisher, the telemetry recorder
with the box's own readings, the box's presence, remote control by the collector, and, when
configured, the hall API that serves the queue to the hall's kiosks and PADs on their own
machines (:class:`hallnet.server.HallServer`, ``docs/hall-api.md``), and the end-of-day sweep
that closes what a business day left in the queue: the server's watcher runs it when the box
serves the hall API, a :class:`DayCloser` of its own when it does not.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from agent.hallbox_remote import HallBoxRemote
from agent.host_metrics import HostMetrics
from agent.presence import hall_box_presence
from agent.publisher import Publisher
from agent.telemetry import TelemetryRecorder
from core.clock import Clock, SystemClock, business_day
from core.config import HallConfig
from core.errors import HallEdgeError
from core.mqtt import MqttAuth
from core.periodic import Periodic
from core.topics import hall_box_id
from flows.queue import HallQueue, Ticket
from hallnet.devices import default_device_list
from hallnet.server import CLOSE_DAYS_S, HallServer
from hallstore import HallStore

log = logging.getLogger(__name__)

#: How often the :class:`DayCloser` looks at the clock: a day change is swept this soon.
DAY_CHECK_S = 1.0


class DayCloser:
    """The end-of-day sweep on a hall box that does not serve the hall API, where the apps
    on the box open the hall database themselves and nothing else would close yesterday's
    tickets (:meth:`flows.queue.HallQueue.close_past_days`).

    It sweeps at start (the box was off at midnight), as soon as the business day changes,
    and every :data:`hallnet.server.CLOSE_DAYS_S` besides, under the box's own device id. A
    hall API server on another process notices the sweep's events as another writer's and
    pushes a snapshot.

    Args:
        hall: the hall's configuration.
        hall_db: the hall database (opened at the first sweep, on a connection of its own).
        clock: the hall clock (the system clock by default).
        check_s: how often the clock is looked at.
    """

    def __init__(
        self,
        hall: HallConfig,
        hall_db: Path | str,
        clock: Clock | None = None,
        check_s: float = DAY_CHECK_S,
    ) -> None:
        self.hall = hall
        self.hall_db = hall_db
        self.clock = clock or SystemClock()
        self._queue: HallQueue | None = None
        self._closed_through: str | None = None
        self._next_close = 0.0
        self._timer = Periodic("day-close", check_s, self._tick, at_start=True)

    def close_once(self) -> list[Ticket]:
        """Sweep now; the tickets closed.

        Raises:
            sqlite3.Error, JournalTooNew (421): the hall database cannot be opened or written.
        """
        if self._queue is None:
            store = HallStore.open(self.hall_db, self.hall.hall_id)
            self._queue = HallQueue(store, self.hall, self.clock)
        return self._queue.close_past_days(hall_box_id(self.hall.hall_id))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._queue is not None:
            self._queue.store.close()
            self._queue = None

    def _tick(self) -> None:
        today = business_day(self.clock.now())
        if today == self._closed_through and time.monotonic() < self._next_close:
            return
        try:
            closed = self.close_once()
        except (sqlite3.Error, HallEdgeError) as err:
            # Tried again at the next check: a ticket is closed with its event or not at all.
            log.warning("end-of-day sweep: %s", err)
            return
        if closed:
            log.info("closed %d ticket(s) of a business day that is over", len(closed))
        self._closed_through, self._next_close = today, time.monotonic() + CLOSE_DAYS_S


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
        # Served, the server's watcher sweeps, pushing each closed ticket to the devices.
        self.day_closer = DayCloser(hall, hall_db) if self.hall_api is None else None

    def start(self) -> None:
        if self.hall_api is not None:
            self.hall_api.start()
        if self.day_closer is not None:
            self.day_closer.start()
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
        if self.day_closer is not None:
            self.day_closer.stop()
        if self.hall_api is not None:
            self.hall_api.stop()

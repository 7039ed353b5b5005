"""What the hall box measures about itself, as telemetry samples.

A manager watching a hall wants to know, before a citizen notices, that the box has stopped
reaching the collector (``publisher.connected``, a growing ``journal.backlog``) or that its
disk is filling (``disk.free_bytes``). These readings go out as telemetry: thinned in an
outage, never holding back an event.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from agent import telemetry
from agent.telemetry import TelemetryRecorder
from core.periodic import Periodic
from hallstore import journal

log = logging.getLogger(__name__)

#: Seconds between readings.
INTERVAL_S = 10.0


class HostMetrics:
    """Record the box's own readings every ``interval`` seconds.

    Args:
        recorder: where readings go.
        db_path: the hall database (its backlog and its disk are measured).
        device_id: the box's device id, e.g. ``hallbox-<hall_id>``.
        connected: whether the event publisher is connected right now.
        interval: seconds between readings.
    """

    def __init__(
        self,
        recorder: TelemetryRecorder,
        db_path: Path | str,
        device_id: str,
        connected: Callable[[], bool],
        interval: float = INTERVAL_S,
    ) -> None:
        self.recorder = recorder
        self.db_path = str(db_path)
        self.device_id = device_id
        self.connected = connected
        self._conn: sqlite3.Connection | None = None
        # The first readings at start: a box that just booted is worth a look at once.
        self._timer = Periodic("host-metrics", interval, self._read_logged, at_start=True)

    def read_once(self) -> dict[str, float]:
        """Take one set of readings and hand them to the recorder."""
        if self._conn is None:
            # Opened once: connecting runs the migration check and the WAL pragmas again.
            self._conn = journal.connect(self.db_path)
        readings = {
            "journal.backlog": float(journal.backlog(self._conn)),
            "telemetry.backlog": float(telemetry.unsent(self._conn)),
        }
        st = os.statvfs(os.path.dirname(os.path.abspath(self.db_path)))
        readings["disk.free_bytes"] = float(st.f_bavail * st.f_frsize)
        readings["publisher.connected"] = 1.0 if self.connected() else 0.0
        for metric, value in readings.items():
            self.recorder.record(self.device_id, metric, value)
        return readings

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _read_logged(self) -> None:
        try:
            self.read_once()
        except (OSError, sqlite3.Error) as err:
            # A missed reading is a gap in a graph; the next one comes in ten seconds.
            log.warning("host metrics not read: %s", err)

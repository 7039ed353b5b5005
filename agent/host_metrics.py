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
import threading
from collections.abc import Callable
from pathlib import Path

from agent import journal, telemetry
from agent.telemetry import TelemetryRecorder

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
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read_once(self) -> dict[str, float]:
        """Take one set of readings and hand them to the recorder."""
        conn = journal.connect(self.db_path)
        try:
            readings = {
                "journal.backlog": float(journal.backlog(conn)),
                "telemetry.backlog": float(telemetry.unsent(conn)),
            }
        finally:
            conn.close()
        st = os.statvfs(os.path.dirname(os.path.abspath(self.db_path)))
        readings["disk.free_bytes"] = float(st.f_bavail * st.f_frsize)
        readings["publisher.connected"] = 1.0 if self.connected() else 0.0
        for metric, value in readings.items():
            self.recorder.record(self.device_id, metric, value)
        return readings

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="host-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        # The first readings at start: a box that just booted is worth a look at once.
        while True:
            try:
                self.read_once()
            except (OSError, sqlite3.Error) as err:
                # A missed reading is a gap in a graph; the next one comes in ten seconds.
                log.warning("host metrics not read: %s", err)
            if self._stop.wait(self.interval):
                return

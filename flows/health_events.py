"""Device health changes become ``device.health`` events in the hall journal.

Only changes are journaled: a printer that stays out of paper through a hundred tickets is one
event when the paper runs out and one when it is back, not a hundred.
"""

from __future__ import annotations

import sqlite3
import threading

from agent import journal
from core.clock import Clock
from core.events import Kind
from devices.health import Health, HealthState


class HealthJournal:
    """Journals a device's health whenever it differs from the last one journaled.

    Args:
        conn: the hall database.
        hall_id: the hall the devices belong to.
        clock: the hall clock.
    """

    def __init__(self, conn: sqlite3.Connection, hall_id: str, clock: Clock) -> None:
        self.conn = conn
        self.hall_id = hall_id
        self.clock = clock
        self._last: dict[str, Health] = {}
        self._lock = threading.Lock()

    def record(self, health: Health) -> bool:
        """Journal ``health`` if it changed. Returns True when an event was written.

        A device's first bare ``unknown`` is not news: nobody has asked it yet. An ``unknown``
        with a reason (a timeout) is.
        """
        with self._lock:
            last = self._last.get(health.device_id)
            if last == health or (
                last is None and health.state is HealthState.UNKNOWN and not health.reasons
            ):
                return False
            journal.write_event(
                self.conn,
                Kind.DEVICE_HEALTH,
                self.hall_id,
                health.device_id,
                self.clock.now(),
                health.to_event_data(),
            )
            self._last[health.device_id] = health
            return True

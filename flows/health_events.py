"""Device health changes become ``device.health`` events in the hall journal.

Only changes are journaled: a printer that stays out of paper through a hundred tickets is one
event when the paper runs out and one when it is back, not a hundred.
"""

from __future__ import annotations

import threading

from core.events import Kind
from devices.health import Health, HealthState
from flows.queue import HallQueue


class HealthJournal:
    """Journals a device's health whenever it differs from the last one journaled.

    Args:
        queue: the hall queue, whose journal the events go to.
    """

    def __init__(self, queue: HallQueue) -> None:
        self.queue = queue
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
            self.queue.record_event(Kind.DEVICE_HEALTH, health.device_id, health.to_event_data())
            self._last[health.device_id] = health
            return True

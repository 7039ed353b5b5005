"""Device health changes become ``device.health`` events in the hall journal.

Only changes are journaled: a printer that stays out of paper through a hundred tickets is one
event when the paper runs out and one when it is back, not a hundred.

"Changed" is judged against the table ``device_health`` (created by ``hallstore/schema.py``),
the last health journaled per device. The row and its event commit in one transaction of the
hall store, so they never disagree: after a restart (or a crash between two reports) the flow
knows what it last reported and does not report it again, and a report that did not commit
is neither in the table nor in the outbox.
"""

from __future__ import annotations

import json
import sqlite3

from core.clock import Clock
from core.events import Kind
from devices.health import Health, HealthState
from hallstore import HallStore


class HealthJournal:
    """Journals a device's health whenever it differs from the last one journaled.

    Args:
        store: the hall store the events and the ``device_health`` rows go to (a kiosk's
            or PAD's ``queue.store``).
        clock: the hall clock, for the events' time.
    """

    def __init__(self, store: HallStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(self, health: Health) -> bool:
        """Journal ``health`` if it changed. Returns True when an event was written.

        A device's first bare ``unknown`` is not news: nobody has asked it yet. An ``unknown``
        with a reason (a timeout) is.
        """
        with self.store.read() as conn:
            if not _is_news(last_journaled(conn, health.device_id), health):
                return False
        with self.store.transaction() as tx:
            # Read again under the write lock: another process of the box may have
            # journaled the same change since.
            if not _is_news(last_journaled(tx.conn, health.device_id), health):
                return False
            event = tx.journal(
                Kind.DEVICE_HEALTH, health.device_id, health.to_event_data(), at=self.clock.now()
            )
            tx.conn.execute(
                "INSERT INTO device_health(device_id, state, reasons, code, at, seq)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET"
                " state=excluded.state, reasons=excluded.reasons, code=excluded.code,"
                " at=excluded.at, seq=excluded.seq",
                (
                    health.device_id,
                    health.state.value,
                    json.dumps(list(health.reasons)),
                    health.code,
                    event.at,
                    event.seq,
                ),
            )
        return True


def last_journaled(conn: sqlite3.Connection, device_id: str) -> Health | None:
    """The health last journaled for a device, or None if none ever was."""
    row = conn.execute(
        "SELECT state, reasons, code FROM device_health WHERE device_id=?", (device_id,)
    ).fetchone()
    if row is None:
        return None
    state, reasons, code = row
    return Health(device_id, HealthState(state), tuple(json.loads(reasons)), code)


def _is_news(last: Health | None, health: Health) -> bool:
    if last is None:
        return health.state is not HealthState.UNKNOWN or bool(health.reasons)
    return last != health

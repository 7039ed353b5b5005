"""Device health changes become ``device.health`` events in the hall journal.

Only changes are journaled: a printer that stays out of paper through a hundred tickets is one
event when the paper runs out and one when it is back, not a hundred.

"Changed" is judged against the table ``device_health`` (created by ``hallstore/schema.py``),
the last health journaled per device. The row and its event commit in one transaction of the
hall store, so they never disagree: after a restart (or a crash between two reports) the flow
knows what it last reported and does not report it again, and a report that did not commit
is neither in the table nor in the outbox.

:class:`ClockWatch` is the queue's guard against a clock that steps back: it dates a ticket's
event no earlier than the ticket's last time and reports the step as the device's health
(``ClockWentBack``, 360), in the transaction of the event it dated.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from core.clock import Clock
from core.errors import ClockWentBack
from core.events import Event, Kind
from devices.health import Health, HealthState
from hallstore import HallStore, HallTransaction

log = logging.getLogger(__name__)


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
            self.journal_in(tx, health, at=self.clock.now())
        return True

    def journal_in(self, tx: HallTransaction, health: Health, at: float) -> Event:
        """Journal ``health`` in the caller's transaction, changed or not, and make it the
        device's last journaled health.

        For an occurrence that is news by itself (a clock that stepped back again), and for
        a flow that must commit the report with its own writes.

        Args:
            tx: an open transaction of this journal's store.
            health: what to journal.
            at: the event's time on the hall clock.
        """
        event = tx.journal(Kind.DEVICE_HEALTH, health.device_id, health.to_event_data(), at=at)
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
        return event


def clock_went_back(device_id: str) -> Health:
    """A device's health while its clock reads earlier than times it already wrote: a
    warning (the device works; its events are dated forward) with code 360."""
    return Health(
        device_id, HealthState.WARNING, (ClockWentBack.key,), ClockWentBack.code
    )


class ClockWatch:
    """Keeps each ticket's times running forward when a device's clock steps back, and
    reports each step back once as the device's health.

    A step back shows when a device's clock reads earlier than the last time the ticket it
    acts on already carries (issued, called). The event is then dated at that last time, and
    the first such event of a step journals :func:`clock_went_back` for the device in the same
    transaction. While the device stays behind (its clock below the latest time it was held
    to), further events are dated forward silently. Once its clock has caught up, ``ok`` is
    journaled and the next step back is reported again.

    What is already reported lives in ``device_health``, so a restart does not report the
    same step twice; the latest time held to lives in memory (after a restart, the time of
    the report stands in for it).

    Args:
        health: the journal the reports go to (the queue's store).
    """

    def __init__(self, health: HealthJournal) -> None:
        self.health = health
        #: Per device behind its tickets: the latest time its events were held to.
        self._held_to: dict[str, float] = {}
        #: Devices known to have no step back reported (no read of ``device_health`` needed).
        self._clear: set[str] = set()

    def stamp(self, tx: HallTransaction, device_id: str, now: float, last: float) -> float:
        """The time to date a ticket event with: ``now``, or ``last`` if the clock is behind.

        Args:
            tx: the transaction the event is journaled in; a report joins it.
            device_id: the device doing the transition (whose clock ``now`` is).
            now: the device's clock.
            last: the ticket's latest time so far.
        """
        if now >= last and device_id in self._clear:
            return now
        reported = None if device_id in self._clear else _reported_at(tx.conn, device_id)
        if now < last:
            if reported is None:
                self._report(tx, device_id, now, last)
            else:
                self._held_to[device_id] = max(self._held_to.get(device_id, reported), last)
            return last
        if reported is not None:
            if now < self._held_to.get(device_id, reported):
                return now
            self.health.journal_in(tx, Health.ok(device_id), at=now)
            self._held_to.pop(device_id, None)
        self._clear.add(device_id)
        return now

    def _report(self, tx: HallTransaction, device_id: str, now: float, last: float) -> None:
        err = ClockWentBack("clock reads earlier than the ticket's last time",
                            device_id=device_id, behind_s=last - now)
        log.warning("error %d: %s: %s", err.code, device_id, err.as_dict())
        self.health.journal_in(tx, clock_went_back(device_id), at=last)
        self._clear.discard(device_id)
        self._held_to[device_id] = last


def _reported_at(conn: sqlite3.Connection, device_id: str) -> float | None:
    """When the step back reported for a device was journaled; None if none is pending."""
    row = conn.execute(
        "SELECT state, reasons, code, at FROM device_health WHERE device_id=?", (device_id,)
    ).fetchone()
    if row is None:
        return None
    state, reasons, code, at = row
    journaled = Health(device_id, HealthState(state), tuple(json.loads(reasons)), code)
    return float(at) if journaled == clock_went_back(device_id) else None


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

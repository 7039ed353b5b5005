"""The hall queue: a UI-free state machine over SQLite.

A ticket moves ``waiting → called → finished`` or ``waiting → called → skipped`` (no-show).
Every transition commits together with its event in one transaction of the hall store
(:class:`hallstore.HallStore`), so the journal can never disagree with the queue. The queue
owns its SQL; its tables are created and migrated by the store (``hallstore/schema.py``).

A ticket's times never run backwards (``issued_at ≤ called_at ≤ finished_at``; a recall or a
skip is dated no earlier than the call): when a device's clock reads earlier than the
ticket's last time, the event is dated at that time, and the step back is journaled once as
the device's health (``ClockWentBack``, 360; :class:`flows.health_events.ClockWatch`).

**Call order.** A window calls the ticket it serves that has waited longest: the earliest
``issued_at`` (then the lower number). When the hall says ``[queue] appointments_first`` (the
default), a ticket issued for a checked-in appointment (``issue(..., appointment=booking
number)``) is called before every walk-in the window serves, the earliest such ticket first
(:func:`call_order`). A ticket a kiosk issued while cut off from the hall box joins the queue
with the time it was issued and its priority (:meth:`HallQueue.accept_offline`), so it takes
the place it would have had; one whose business day is over by then is recorded closed
(``expired``), never queued.

**A business day ends at midnight** (:func:`core.clock.business_day`). A window calls, and the
views and counts show, only the tickets of today: a number of yesterday would otherwise be
called before today's citizens (it was issued earlier) for somebody who went home with the
closed hall, and ``A001`` of two days would meet in one queue. What a day left waiting or
called is closed unserved by the hall box's end-of-day sweep (:meth:`HallQueue.close_past_days`:
``ticket.skipped``, ``reason: "expired"``, dated at the last moment of its own day), one
transaction per ticket, so a sweep cut short by a kill leaves each ticket closed with its event
or untouched, and the next sweep closes the rest, once. Midnight and not the hall's closing
time: halls serve past closing (延时服务), and the day is what numbers and the collector's
counts are kept by. Windows stay signed in across midnight: only their PAD signs staff out.

**Priority** (:func:`call_order`, :func:`priority_of`). Before arrival order come, in turn: a
ticket of the 绿色通道 (``priority = "green"``) at every window that serves it; at a
special-groups window (特殊人群专窗, ``[[windows]] special = true``) a ticket issued for a
special group (``priority = "special"``), which other windows call by arrival; then an
appointment's ticket when the hall says ``appointments_first``. A ticket transferred to a window
(转移, :meth:`HallQueue.transfer`) is called by that window only, in its place by issue time.

**Window operations** besides calling: 暂停 / 恢复 (:meth:`HallQueue.pause_window`; a paused
window stays signed in, calls nobody and does not count as serving in the wait estimate
(:mod:`flows.wait_estimate`) or the collector's metrics), 转移, and undoing a 过号 within :data:`SKIP_UNDO_S`
(:meth:`HallQueue.undo_skip`). Each journals its own event (``docs/topics.md``).

**Numbers** come from :mod:`flows.ticket_numbers`: the hall box's own counter, and the blocks
it reserves for kiosks to issue from while cut off; the two never meet.

All devices of a hall (kiosks, PADs) use the same hall database, and each write starts with
``BEGIN IMMEDIATE``. Two kiosks issuing at the same instant therefore serialise on the
database lock, and a ticket number is never issued twice, even across processes. Within a
process, one :class:`HallQueue` and its store are shared by every flow and device thread
(taps, rating-pad results, health changes); the store's lock makes the connection safe to
share.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, replace
from typing import Any

from core.clock import HALL_TZ, Clock, at_hall_time, business_day
from core.config import HallConfig, Window
from core.errors import (
    NoCurrentTicket,
    OfflineTicketRefused,
    SkipNotUndoable,
    TicketInService,
    TransferInvalid,
    WindowNotOpen,
    WindowPaused,
)
from core.events import Kind
from core.rating import LEVEL_LABELS
from flows import ticket_numbers
from flows.health_events import ClockWatch, HealthJournal
from flows.ticket_numbers import NumberRange
from flows.transactions import StoreTransactionJournal
from flows.wait_estimate import (
    HISTORY,
    Desk,
    HandlingTimes,
    WaitEstimate,
    assumed_desks,
    estimate_wait,
    is_idle_while_waited_for,
    point_text,
    wait_text,
)
from hallstore import HallStore, HallTransaction

#: Columns in the order of :class:`Ticket`'s fields.
TICKET_COLS = (
    "ticket_id, ticket_no, service, issued_at, state, window_no, called_at, finished_at,"
    " call_count, appointment IS NOT NULL, priority, target_window, transferred_from"
)

#: How long after a 过号 the window may take it back (撤销过号): the citizen who was a few steps
#: away gets served without a new ticket.
SKIP_UNDO_S = 60.0
#: Ticket priorities: 绿色通道 (every window calls it first) and special groups (first at a
#: special-groups window).
PRIORITIES = ("green", "special")
#: SQL: the ticket was closed by the end of its business day (``expired``), at its last
#: millisecond (:func:`_day_end`), not by a window. The hours from its call until midnight are
#: nobody's handling time. The bound is half a millisecond before that moment: it is computed
#: in SQL from the ``day`` column, not read back, so it must not depend on rounding.
_EXPIRED_SQL = (
    "(state = 'skipped' AND finished_at >= CAST(strftime('%s', day) AS REAL)"
    f" + {86400.0 - HALL_TZ.utcoffset(None).total_seconds() - 0.0015!r})"
)
#: SQL: one service's (``?``) last :data:`HISTORY` window occupancies (call → 办结 or 过号) as
#: ``(service, seconds)`` rows, most recent first. A sub-select, so that several can be joined
#: with ``UNION ALL`` into one statement, each keeping its own ``LIMIT``.
_OCCUPANCIES_SQL = (
    "SELECT * FROM (SELECT service, finished_at - called_at FROM tickets WHERE service=?"
    " AND state IN ('finished', 'skipped') AND called_at IS NOT NULL"
    f" AND NOT {_EXPIRED_SQL} ORDER BY finished_at DESC LIMIT {HISTORY})"
)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    ticket_no: str
    service: str
    issued_at: float
    state: str
    window_no: int | None = None
    called_at: float | None = None
    finished_at: float | None = None
    call_count: int = 0
    #: Issued for a checked-in appointment (the booking number stays in the hall database).
    appointment: bool = False
    #: One of :data:`PRIORITIES`, or None.
    priority: str | None = None
    #: The window a transfer sent it to: only that window calls it.
    target_window: int | None = None
    #: The window that transferred it (转移), if one did.
    transferred_from: int | None = None


@dataclass(frozen=True)
class IssuedTicket:
    """What the citizen is told when the ticket comes out."""

    ticket: Ticket
    people_ahead: int
    #: The middle of the range below (:mod:`flows.wait_estimate`).
    est_wait_s: float
    #: The range the citizen is told; None from a hall box that sends only the middle.
    est_wait_low_s: float | None = None
    est_wait_high_s: float | None = None

    @property
    def wait_text(self) -> str:
        """预计等候约15–25分钟, as the kiosk shows it and the ticket prints it."""
        if self.est_wait_low_s is None or self.est_wait_high_s is None:
            return point_text(self.est_wait_s)
        return wait_text(self.est_wait_low_s, self.est_wait_high_s)


@dataclass(frozen=True)
class WindowView:
    """What a window PAD shows."""

    window_no: int
    is_open: bool
    current: Ticket | None
    waiting: tuple[Ticket, ...]
    #: Signed in but not serving (暂停服务), since when and why.
    paused_at: float | None = None
    pause_reason: str | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


class HallQueue:
    """Issue, call, recall, skip and finish tickets for one hall.

    Args:
        store: the hall store, or a connection from :func:`hallstore.journal.connect`, which
            the queue then wraps in a store of its own. Other flows of the process that
            journal (device health) share ``queue.store``.
        hall: services and windows of this hall.
        clock: the hall clock (a :class:`core.clock.SimClock` in simulations).

    Attributes:
        clock_watch: dates ticket events forward when the clock steps back, and reports it.

    Raises:
        ValueError: the store journals for another hall than ``hall``.
    """

    def __init__(
        self, store: HallStore | sqlite3.Connection, hall: HallConfig, clock: Clock
    ) -> None:
        if isinstance(store, sqlite3.Connection):
            store = HallStore(store, hall.hall_id)
        if store.hall_id != hall.hall_id:
            raise ValueError(f"store of hall {store.hall_id} given to hall {hall.hall_id}")
        self.store = store
        self.hall = hall
        self.clock = clock
        self.clock_watch = ClockWatch(HealthJournal(store, clock))

    @property
    def conn(self) -> sqlite3.Connection:
        """The hall database connection (the store's)."""
        return self.store.conn

    # --- citizen side -----------------------------------------------------------------

    def issue(
        self,
        service_code: str,
        device_id: str,
        *,
        appointment: str | None = None,
        priority: str | None = None,
    ) -> IssuedTicket:
        """Take a ticket (取号) for a service.

        Args:
            service_code: the service.
            device_id: the kiosk that issues it.
            appointment: the booking number of a checked-in appointment; the ticket is then
                called before walk-ins (``[queue] appointments_first``). The event says only
                whether there was one.
            priority: ``"green"`` (绿色通道) or ``"special"`` (special groups), or None.

        Raises:
            UnknownService (201): the hall has no such service.
            StorageFull (420): the hall disk is nearly full (see :mod:`hallstore.retention`).
        """
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"priority {priority!r} is not one of {PRIORITIES}")
        service = self.hall.service(service_code)
        now = self.clock.now()
        day = business_day(now)
        with self.store.transaction() as tx:
            tx.ensure_room()
            conn = tx.conn
            number = ticket_numbers.next_own_number(conn, day, service.prefix)
            ticket = Ticket(
                ticket_id=uuid.uuid4().hex,
                ticket_no=ticket_numbers.ticket_no(service.prefix, number),
                service=service.code,
                issued_at=now,
                state="waiting",
                appointment=appointment is not None,
                priority=priority,
            )
            people_ahead = conn.execute(
                "SELECT COUNT(*) FROM tickets WHERE state='waiting' AND service=? AND day=?",
                (service.code, day),
            ).fetchone()[0]
            _insert(conn, ticket, day, device_id, appointment)
            est = self._estimate_wait(conn, ticket, now)
            tx.journal(
                Kind.TICKET_ISSUED,
                device_id,
                _issued_data(ticket, people_ahead, est),
                at=now,
            )
        return _issued(ticket, people_ahead, est)

    # --- kiosks cut off from the hall box -----------------------------------------------

    def reserve_range(self, service_code: str, device_id: str, day: str) -> NumberRange:
        """Reserve a block of offline numbers for a kiosk (:mod:`flows.ticket_numbers`).

        Raises:
            UnknownService (201): the hall has no such service.
            NumberRangeExhausted (207): the day's offline band is used up.
        """
        service = self.hall.service(service_code)
        now = self.clock.now()
        with self.store.transaction() as tx:
            return ticket_numbers.reserve(tx.conn, day, service.code, service.prefix, device_id, now)

    def accept_offline(
        self,
        ticket: Ticket,
        day: str,
        device_id: str,
        *,
        appointment: str | None = None,
        priority: str | None = None,
    ) -> tuple[IssuedTicket, bool]:
        """Take into the queue a ticket a kiosk issued from its reserved range while cut off.

        The ticket keeps its id, number, issue time (no later than now) and ``priority``
        (绿色通道 …), so the queue calls it in the place it would have had; ``ticket.issued`` is
        journaled under the kiosk, dated when the citizen took it, with ``offline: true``. A
        ticket the queue already holds (the same ``ticket_id``: an upload whose answer was
        lost) is returned as it is, journaled once.

        **A ticket of a business day that is over** (``day`` before today: the kiosk was cut
        off past midnight) is not queued: its citizen left with the closed hall, and calling
        it today would put yesterday's number before today's citizens. It is recorded with its
        own day, closed unserved (未办理): ``ticket.issued`` as above, then ``ticket.skipped``
        with ``reason: "expired"`` and its ``day``, dated at the last moment of that day, so
        the collector counts it in the day it belongs to (issued, not served) and in no other.

        Returns:
            The ticket as queued (or as closed), and whether this call added it.

        Raises:
            UnknownService (201): the hall has no such service.
            OfflineTicketRefused (206): its number is not in a range reserved for
                ``device_id`` on ``day``, or another ticket holds it.
            ValueError: ``priority`` is not one of :data:`PRIORITIES`.
        """
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"priority {priority!r} is not one of {PRIORITIES}")
        service = self.hall.service(ticket.service)
        now = self.clock.now()
        issued_at = min(ticket.issued_at, now)
        expired = day < business_day(now)
        number = ticket_numbers.number_of(service.prefix, ticket.ticket_no)
        with self.store.transaction() as tx:
            conn = tx.conn
            row = conn.execute(
                f"SELECT {TICKET_COLS} FROM tickets WHERE ticket_id = ?", (ticket.ticket_id,)
            ).fetchone()
            if row is not None:
                known = ticket_from_row(row)
                if known.ticket_no != ticket.ticket_no:
                    raise OfflineTicketRefused(
                        f"ticket {ticket.ticket_id} is {known.ticket_no}, not {ticket.ticket_no}",
                        ticket_no=ticket.ticket_no,
                        device_id=device_id,
                    )
                return IssuedTicket(known, 0, 0.0), False
            if (
                number is None
                or ticket.ticket_no != ticket_numbers.ticket_no(service.prefix, number)
                or not ticket_numbers.reserved_for(conn, day, service.prefix, number, device_id)
            ):
                raise OfflineTicketRefused(
                    f"{ticket.ticket_no} on {day} is not reserved for {device_id}",
                    ticket_no=ticket.ticket_no,
                    device_id=device_id,
                )
            taken = conn.execute(
                "SELECT 1 FROM tickets WHERE day = ? AND ticket_no = ?", (day, ticket.ticket_no)
            ).fetchone()
            if taken is not None:
                raise OfflineTicketRefused(
                    f"{ticket.ticket_no} on {day} is taken",
                    ticket_no=ticket.ticket_no,
                    device_id=device_id,
                )
            queued = Ticket(
                ticket_id=ticket.ticket_id,
                ticket_no=ticket.ticket_no,
                service=service.code,
                issued_at=issued_at,
                state="waiting",
                appointment=appointment is not None,
                priority=priority,
            )
            _insert(conn, queued, day, device_id, appointment)
            if expired:
                # What the citizen was told is on the kiosk's printout; the hall box never
                # queued it, so it reports nobody ahead and no wait.
                people_ahead, est = 0, WaitEstimate(0.0, 0.0)
            else:
                people_ahead = conn.execute(
                    "SELECT COUNT(*) FROM tickets WHERE state='waiting' AND service=? AND day=?"
                    " AND issued_at <= ? AND ticket_id != ?",
                    (service.code, day, issued_at, queued.ticket_id),
                ).fetchone()[0]
                est = self._estimate_wait(conn, queued, now)
            data = _issued_data(queued, people_ahead, est) | {"offline": True}
            tx.journal(Kind.TICKET_ISSUED, device_id, data, at=issued_at)
            if expired:
                queued = _close_expired(tx, queued, day, device_id)
        return _issued(queued, people_ahead, est), True

    def withdraw(self, ticket_id: str, device_id: str, replaced_by: str) -> Ticket | None:
        """Close a waiting ticket nobody holds: a kiosk's issue whose answer never reached it,
        replaced by the number it issued from its range instead (``replaced_by``). Journaled as
        ``ticket.skipped`` with ``reason: "replaced"``; None when the ticket no longer waits.
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
            row = tx.conn.execute(
                f"SELECT {TICKET_COLS} FROM tickets WHERE ticket_id = ? AND state = 'waiting'",
                (ticket_id,),
            ).fetchone()
            if row is None:
                return None
            ticket = ticket_from_row(row)
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            tx.conn.execute(
                "UPDATE tickets SET state='skipped', finished_at=? WHERE ticket_id=?",
                (now, ticket_id),
            )
            done = replace(ticket, state="skipped", finished_at=now)
            data = _ticket_data(done) | {"reason": "replaced", "replaced_by": replaced_by}
            tx.journal(Kind.TICKET_SKIPPED, device_id, data, at=now)
        return done

    # --- the end of a business day -----------------------------------------------------

    def left_from_past_days(self) -> list[str]:
        """The ids of the tickets of a business day that is over still waiting or called,
        oldest first: what :meth:`close_past_days` closes."""
        today = business_day(self.clock.now())
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT ticket_id FROM tickets WHERE state IN ('waiting', 'called') AND day < ?"
                " ORDER BY day, issued_at, ticket_no",
                (today,),
            ).fetchall()
        return [r[0] for r in rows]

    def expire(self, ticket_id: str, device_id: str) -> Ticket | None:
        """Close one ticket its business day left waiting or called, unserved (未办理).

        In one transaction (a savepoint of the caller's, if it has one open): the ticket
        becomes ``skipped`` and ``ticket.skipped`` is journaled under ``device_id`` with
        ``reason: "expired"`` and its ``day``, both dated at the last moment of that day, so
        the collector counts it in its own day as issued and not served. A called ticket keeps
        its window and call time in the event: the window called it and never closed it.

        Returns:
            The closed ticket; None when the ticket is not (or no longer) one of a past day
            waiting or called: closed by a window, or by a sweep before this one.
        """
        today = business_day(self.clock.now())
        with self.store.transaction() as tx:
            row = tx.conn.execute(
                f"SELECT {TICKET_COLS}, day FROM tickets WHERE ticket_id = ?"
                " AND state IN ('waiting', 'called') AND day < ?",
                (ticket_id, today),
            ).fetchone()
            if row is None:
                return None
            return _close_expired(tx, ticket_from_row(row), row[-1], device_id)

    def close_past_days(self, device_id: str) -> list[Ticket]:
        """The end-of-day sweep: close every ticket of a business day that is over still
        waiting or called (:meth:`expire`), one transaction per ticket.

        Killed halfway, it leaves each ticket either closed with its event or untouched; run
        again, it closes the rest, and a ticket already closed is not closed twice. The hall
        box runs it at start and after midnight (``hallnet/server.py``, ``agent/hall_box.py``).

        Returns:
            The tickets this call closed.
        """
        closed = (self.expire(ticket_id, device_id) for ticket_id in self.left_from_past_days())
        return [ticket for ticket in closed if ticket is not None]

    # --- window side ------------------------------------------------------------------

    def open_window(self, window_no: int, device_id: str, staff_id: str) -> None:
        """Sign a window in (签到): it starts taking calls for its services."""
        window = self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO open_windows(window_no, device_id, staff_id, opened_at) VALUES (?,?,?,?)"
                " ON CONFLICT(window_no) DO UPDATE SET device_id=excluded.device_id,"
                " staff_id=excluded.staff_id, opened_at=excluded.opened_at,"
                " paused_at=NULL, pause_reason=NULL",
                (window_no, device_id, staff_id, now),
            )
            tx.journal(
                Kind.WINDOW_OPENED,
                device_id,
                {"window": window_no, "staff_id": staff_id, "services": list(window.services)},
                at=now,
            )

    def close_window(self, window_no: int, device_id: str) -> None:
        """Sign a window out (签退)."""
        self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            if self._current(tx.conn, window_no) is not None:
                raise TicketInService("finish or skip the current ticket first", window=window_no)
            tx.conn.execute("DELETE FROM open_windows WHERE window_no=?", (window_no,))
            tx.journal(Kind.WINDOW_CLOSED, device_id, {"window": window_no}, at=now)

    def call_next(self, window_no: int, device_id: str) -> Ticket | None:
        """Call the longest-waiting ticket of today this window serves (叫号). None if nobody
        waits. A ticket of a day that is over is never called, swept or not.

        Raises:
            WindowNotOpen (203): the window has not signed in.
            TicketInService (205): the window still serves a ticket.
        """
        window = self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            if self._require_open(conn, window_no) is not None:
                raise WindowPaused(f"window {window_no} is paused", window=window_no)
            if self._current(conn, window_no) is not None:
                raise TicketInService("finish or skip the current ticket first", window=window_no)
            where, args = _waiting_for(window, business_day(now))
            row = conn.execute(
                f"SELECT {TICKET_COLS} FROM tickets WHERE {where}"
                f" ORDER BY {self._order_by(window)} LIMIT 1",
                args,
            ).fetchone()
            if row is None:
                return None
            ticket = ticket_from_row(row)
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            conn.execute(
                "UPDATE tickets SET state='called', window_no=?, called_at=?, call_count=1"
                " WHERE ticket_id=?",
                (window_no, now, ticket.ticket_id),
            )
            called = replace(ticket, state="called", window_no=window_no, called_at=now, call_count=1)
            tx.journal(
                Kind.TICKET_CALLED,
                device_id,
                _ticket_data(called) | {"wait_s": now - called.issued_at},
                at=now,
            )
        return called

    def recall(self, window_no: int, device_id: str) -> Ticket:
        """Call the current ticket again (重呼).

        Raises:
            NoCurrentTicket (204): the window serves nobody.
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
            ticket = self._require_current(tx.conn, window_no)
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            tx.conn.execute(
                "UPDATE tickets SET call_count = call_count + 1 WHERE ticket_id=?",
                (ticket.ticket_id,),
            )
            recalled = replace(ticket, call_count=ticket.call_count + 1)
            tx.journal(Kind.TICKET_RECALLED, device_id, _ticket_data(recalled), at=now)
        return recalled

    def skip(self, window_no: int, device_id: str) -> Ticket:
        """Mark the current ticket as a no-show (过号)."""
        return self._close_ticket(window_no, device_id, "skipped", Kind.TICKET_SKIPPED)

    def finish(self, window_no: int, device_id: str) -> Ticket:
        """Finish the current ticket (办结)."""
        return self._close_ticket(window_no, device_id, "finished", Kind.TICKET_FINISHED)

    def undo_skip(self, window_no: int, device_id: str, ticket_id: str) -> Ticket:
        """Take back a 过号 (撤销过号): the ticket this window skipped is its current one again.

        Raises:
            SkipNotUndoable (210): more than :data:`SKIP_UNDO_S` ago, skipped by another
                window (or withdrawn), of a day that is over (expired), no longer skipped,
                or the window serves someone now.
            WindowNotOpen (203), WindowPaused (208): the window is not serving.
        """
        self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            if self._require_open(conn, window_no) is not None:
                raise WindowPaused(f"window {window_no} is paused", window=window_no)
            row = conn.execute(
                f"SELECT {TICKET_COLS}, day FROM tickets WHERE ticket_id=?", (ticket_id,)
            ).fetchone()
            ticket = None if row is None else ticket_from_row(row)
            if (
                ticket is None
                # A skip of a day that is over may be its end-of-day expiry: a window must not
                # take yesterday's citizen back into today's service.
                or row[-1] != business_day(now)
                or ticket.state != "skipped"
                or ticket.window_no != window_no
                or ticket.finished_at is None
                or now - ticket.finished_at > SKIP_UNDO_S
                or self._current(conn, window_no) is not None
            ):
                raise SkipNotUndoable(
                    f"the skip of {ticket_id} cannot be undone at window {window_no}",
                    ticket_no=None if ticket is None else ticket.ticket_no,
                    window=window_no,
                )
            skipped_at = ticket.finished_at
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            conn.execute(
                "UPDATE tickets SET state='called', finished_at=NULL WHERE ticket_id=?",
                (ticket_id,),
            )
            back = replace(ticket, state="called", finished_at=None)
            data = _ticket_data(back) | {"skipped_at": skipped_at}
            tx.journal(Kind.TICKET_SKIP_UNDONE, device_id, data, at=now)
        return back

    def transfer(
        self,
        window_no: int,
        device_id: str,
        *,
        to_service: str | None = None,
        to_window: int | None = None,
    ) -> Ticket:
        """Transfer the current ticket (转移) to another service and/or window.

        The ticket waits again with its number and its issue time, so it takes the place by
        issue time it would have had in the new queue; sent to a window, only that window
        calls it (whatever services it serves).

        Raises:
            NoCurrentTicket (204): the window serves nobody.
            TransferInvalid (209): no target, or the ticket's own service and window.
            UnknownService (201), UnknownWindow (202): no such target.
        """
        if to_service is None and to_window is None:
            raise TransferInvalid("a transfer needs a service or a window", window=window_no)
        if to_service is not None:
            self.hall.service(to_service)
        if to_window is not None:
            self.hall.window(to_window)
            if to_window == window_no:
                raise TransferInvalid(
                    "a ticket cannot be transferred to its own window", window=window_no
                )
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            ticket = self._require_current(conn, window_no)
            service = to_service or ticket.service
            if to_window is None and service == ticket.service:
                raise TransferInvalid(
                    f"{ticket.ticket_no} is already a {service} ticket",
                    window=window_no,
                    service=service,
                )
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            conn.execute(
                "UPDATE tickets SET state='waiting', service=?, window_no=NULL, called_at=NULL,"
                " call_count=0, target_window=?, transferred_from=? WHERE ticket_id=?",
                (service, to_window, window_no, ticket.ticket_id),
            )
            moved = replace(
                ticket,
                state="waiting",
                service=service,
                window_no=None,
                called_at=None,
                call_count=0,
                target_window=to_window,
                transferred_from=window_no,
            )
            data = _ticket_data(moved) | {
                "from_window": window_no,
                "from_service": ticket.service,
                "to_window": to_window,
                "service_s": now - (ticket.called_at or now),
            }
            tx.journal(Kind.TICKET_TRANSFERRED, device_id, data, at=now)
        return moved

    def pause_window(self, window_no: int, device_id: str, reason: str) -> bool:
        """暂停服务: the window stays signed in and calls nobody until :meth:`resume_window`.

        Returns:
            False when it was paused already (nothing journaled).

        Raises:
            WindowNotOpen (203): the window has not signed in.
            TicketInService (205): finish, skip or transfer the current ticket first.
        """
        self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            if self._require_open(conn, window_no) is not None:
                return False
            if self._current(conn, window_no) is not None:
                raise TicketInService("finish or skip the current ticket first", window=window_no)
            conn.execute(
                "UPDATE open_windows SET paused_at=?, pause_reason=? WHERE window_no=?",
                (now, reason, window_no),
            )
            staff = conn.execute(
                "SELECT staff_id FROM open_windows WHERE window_no=?", (window_no,)
            ).fetchone()[0]
            data = {"window": window_no, "reason": reason, "staff_id": staff}
            tx.journal(Kind.WINDOW_PAUSED, device_id, data, at=now)
        return True

    def resume_window(self, window_no: int, device_id: str) -> bool:
        """恢复服务 after a pause. False when the window was not paused (nothing journaled).

        Raises:
            WindowNotOpen (203): the window has not signed in.
        """
        self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            paused = self._require_open(conn, window_no)
            if paused is None:
                return False
            conn.execute(
                "UPDATE open_windows SET paused_at=NULL, pause_reason=NULL WHERE window_no=?",
                (window_no,),
            )
            data = {"window": window_no, "reason": paused[1], "paused_s": max(0.0, now - paused[0])}
            tx.journal(Kind.WINDOW_RESUMED, device_id, data, at=now)
        return True

    def health_journal(self, clock: Clock) -> HealthJournal:
        """Where a flow on this queue journals its devices' health: the hall store."""
        return HealthJournal(self.store, clock)

    def transaction_journal(self, device_id: str, clock: Clock) -> StoreTransactionJournal:
        """Where a kiosk function on this queue journals its transactions: the hall store."""
        return StoreTransactionJournal(self.store, device_id, clock)

    def record_rating(self, ticket: Ticket, level: int, device_id: str) -> dict[str, Any]:
        """Store a 好差评 rating (5 非常满意 … 1 非常不满意) for a finished ticket; the
        ``rating.submitted`` event's data."""
        if level not in LEVEL_LABELS:
            raise ValueError(f"rating level {level} outside 1..5")
        now = self.clock.now()
        data = {
            "ticket_id": ticket.ticket_id,
            "ticket_no": ticket.ticket_no,
            "service": ticket.service,
            "window": ticket.window_no,
            "level": level,
            "label": LEVEL_LABELS[level],
        }
        with self.store.transaction() as tx:
            tx.conn.execute(
                "UPDATE tickets SET rating=? WHERE ticket_id=?", (level, ticket.ticket_id)
            )
            tx.journal(Kind.RATING_SUBMITTED, device_id, data, at=now)
        return data

    # --- views ------------------------------------------------------------------------

    def window_view(self, window_no: int) -> WindowView:
        """The window's current ticket and today's tickets it would call, in call order."""
        with self.store.read() as conn:
            return self._window_view(conn, window_no)

    def _window_view(self, conn: sqlite3.Connection, window_no: int) -> WindowView:
        window = self.hall.window(window_no)
        where, args = _waiting_for(window, business_day(self.clock.now()))
        rows = conn.execute(
            f"SELECT {TICKET_COLS} FROM tickets WHERE {where} ORDER BY {self._order_by(window)}",
            args,
        ).fetchall()
        state = conn.execute(
            "SELECT paused_at, pause_reason FROM open_windows WHERE window_no=?", (window_no,)
        ).fetchone()
        return WindowView(
            window_no=window_no,
            is_open=state is not None,
            current=self._current(conn, window_no),
            waiting=tuple(ticket_from_row(r) for r in rows),
            paused_at=None if state is None else state[0],
            pause_reason=None if state is None else state[1],
        )

    def waiting_count(self, service_code: str | None = None) -> int:
        """Today's tickets waiting (for one service, or all)."""
        sql = "SELECT COUNT(*) FROM tickets WHERE state='waiting' AND day=?"
        args: tuple[str, ...] = (business_day(self.clock.now()),)
        if service_code is not None:
            sql, args = sql + " AND service=?", (*args, service_code)
        with self.store.read() as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    def open_windows(self) -> list[int]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT window_no FROM open_windows ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # --- internals --------------------------------------------------------------------

    def _order_by(self, window: Window) -> str:
        """The SQL of :func:`call_order` for ``window``."""
        special = 1 if window.special else 0
        appointments = 1 if self.hall.appointments_first else 0
        return (
            "CASE WHEN priority = 'green' THEN 0"
            f" WHEN priority = 'special' AND {special} THEN 1"
            f" WHEN appointment IS NOT NULL AND {appointments} THEN 2 ELSE 3 END,"
            " issued_at, ticket_no"
        )

    def _close_ticket(self, window_no: int, device_id: str, state: str, kind: str) -> Ticket:
        now = self.clock.now()
        with self.store.transaction() as tx:
            ticket = self._require_current(tx.conn, window_no)
            now = self.clock_watch.stamp(tx, device_id, now, _last_time(ticket))
            tx.conn.execute(
                "UPDATE tickets SET state=?, finished_at=? WHERE ticket_id=?",
                (state, now, ticket.ticket_id),
            )
            done = replace(ticket, state=state, finished_at=now)
            data = _ticket_data(done)
            if state == "finished":
                data |= {
                    "service_s": now - (done.called_at or now),
                    "time_in_hall_s": now - done.issued_at,
                }
            tx.journal(kind, device_id, data, at=now)
        return done

    def _require_open(
        self, conn: sqlite3.Connection, window_no: int
    ) -> tuple[float, str | None] | None:
        """Refuse a window that has not signed in; its pause ``(since, reason)``, or None."""
        row = conn.execute(
            "SELECT paused_at, pause_reason FROM open_windows WHERE window_no=?", (window_no,)
        ).fetchone()
        if row is None:
            raise WindowNotOpen(f"window {window_no} is not signed in", window=window_no)
        return None if row[0] is None else (float(row[0]), row[1])

    def _require_current(self, conn: sqlite3.Connection, window_no: int) -> Ticket:
        self.hall.window(window_no)
        ticket = self._current(conn, window_no)
        if ticket is None:
            raise NoCurrentTicket(f"window {window_no} serves nobody", window=window_no)
        return ticket

    def _current(self, conn: sqlite3.Connection, window_no: int) -> Ticket | None:
        row = conn.execute(
            f"SELECT {TICKET_COLS} FROM tickets WHERE state='called' AND window_no=?", (window_no,)
        ).fetchone()
        return None if row is None else ticket_from_row(row)

    def _estimate_wait(self, conn: sqlite3.Connection, ticket: Ticket, now: float) -> WaitEstimate:
        """The wait ``ticket`` can expect (:mod:`flows.wait_estimate`): the queue as it is,
        each signed-in window with the tickets it would call in its call order, replayed with
        each service's recent handling times. A paused window, or one idle while its citizens
        wait, serves nobody; before any window that may call the ticket has signed in, the
        configured ones are assumed to open now.

        It runs on every ticket issued, so it reads the hall in three statements whatever the
        number of windows and services (a fourth only when a window may be idle): today's
        waiting tickets, the signed-in windows with their current tickets, and every
        service's recent occupancies. Each window's call order is worked out here with
        :func:`serves` and :func:`call_order`, the rules ``call_next``'s SQL applies.
        """
        day = business_day(now)
        waiting = [
            ticket_from_row(r)
            for r in conn.execute(
                f"SELECT {TICKET_COLS} FROM tickets WHERE state='waiting' AND day=?", (day,)
            )
        ]
        # Sorted once per kind of window (a special-groups window puts special groups
        # first), then filtered per window, which keeps the order.
        first = self.hall.appointments_first
        ordered = {
            special: sorted(waiting, key=lambda t: call_order(t, first, special))
            for special in {w.special for w in self.hall.windows}
        }
        lists = {
            w.no: tuple(t for t in ordered[w.special] if serves(w, t)) for w in self.hall.windows
        }
        signed_in: dict[int, tuple[float, float | None, str | None, float | None]] = {}
        for no, opened_at, paused_at, serving, called_at in conn.execute(
            "SELECT o.window_no, o.opened_at, o.paused_at, c.service, c.called_at"
            " FROM open_windows o"
            " LEFT JOIN tickets c ON c.state = 'called' AND c.window_no = o.window_no"
        ):
            # A window has at most one called ticket (call_next refuses a second).
            signed_in.setdefault(no, (opened_at, paused_at, serving, called_at))
        idle = self._idle_windows(conn, ticket, now, lists, signed_in)
        calls = {no: tuple(t.ticket_id for t in tickets) for no, tickets in lists.items()}
        desks: list[Desk] = []
        for window in self.hall.windows:
            if window.no not in signed_in:
                continue
            _, paused_at, serving, called_at = signed_in[window.no]
            desks.append(
                Desk(
                    window.no,
                    calls[window.no],
                    serving=serving,
                    serving_for_s=max(0.0, now - (called_at or now)) if serving else 0.0,
                    counts=paused_at is None and window.no not in idle,
                )
            )
        if not any(d.counts and ticket.ticket_id in d.calls for d in desks):
            desks = assumed_desks({no: c for no, c in calls.items() if ticket.ticket_id in c})
        services = {t.ticket_id: t.service for t in waiting}
        # Seeded by the number and time, not the random id: a replayed morning repeats.
        seed = f"{ticket.ticket_no}|{ticket.issued_at}"
        return estimate_wait(desks, ticket.ticket_id, services, self._handling(conn), seed=seed)

    def _idle_windows(
        self,
        conn: sqlite3.Connection,
        ticket: Ticket,
        now: float,
        lists: dict[int, tuple[Ticket, ...]],
        signed_in: dict[int, tuple[float, float | None, str | None, float | None]],
    ) -> set[int]:
        """The free, unpaused windows idle while citizens they serve wait (``ticket``, just
        issued, is not one of them yet).

        Reading a window's last call or 办结 scans every ticket the hall ever had (no index
        leads with the window), so it is read only for the windows that could be idle: those
        that would be if they had done nothing since signing in; and for all of them at once.
        """
        suspects: dict[int, tuple[float, float | None]] = {}
        for no, (opened_at, paused_at, serving, _) in signed_in.items():
            if no not in lists or paused_at is not None or serving is not None:
                continue
            oldest = min(
                (t.issued_at for t in lists[no] if t.ticket_id != ticket.ticket_id), default=None
            )
            if is_idle_while_waited_for(now, opened_at, oldest):
                suspects[no] = (opened_at, oldest)
        if not suspects:
            return set()
        last = dict(
            conn.execute(
                "SELECT window_no, MAX(COALESCE(finished_at, called_at)) FROM tickets"
                f" WHERE window_no IN ({','.join('?' * len(suspects))}) GROUP BY window_no",
                tuple(suspects),
            ).fetchall()
        )
        return {
            no
            for no, (opened_at, oldest) in suspects.items()
            if is_idle_while_waited_for(now, max(opened_at, last.get(no) or 0.0), oldest)
        }

    def _handling(self, conn: sqlite3.Connection) -> dict[str, HandlingTimes]:
        """Each service's handling times from its last :data:`HISTORY` window occupancies
        (call → 办结 or 过号); a call its day's end closed (``expired``) is none. One statement
        of a sub-select per service: each reads only its service's rows of the
        ``tickets_waiting`` index and keeps the newest, where one pass ranking every service's
        whole history at once would sort all of it."""
        codes = tuple(dict.fromkeys(s.code for s in self.hall.services))
        samples: dict[str, list[float]] = {code: [] for code in codes}
        if codes:
            sql = " UNION ALL ".join([_OCCUPANCIES_SQL] * len(codes))
            for service, seconds in conn.execute(sql, codes):
                samples[service].append(float(seconds))
        return {s.code: HandlingTimes(s.aht_s, samples[s.code]) for s in self.hall.services}


def ticket_from_row(row: tuple[Any, ...]) -> Ticket:
    """A ticket from a row of ``SELECT {TICKET_COLS}``."""
    return Ticket(
        *row[:9],
        appointment=bool(row[9]),
        priority=row[10],
        target_window=row[11],
        transferred_from=row[12],
    )


def serves(window: Window, ticket: Ticket) -> bool:
    """Whether ``window`` may call ``ticket``: one transferred to a window goes to that window
    only; any other to every window serving its service."""
    if ticket.target_window is not None:
        return ticket.target_window == window.no
    return ticket.service in window.services


def priority_of(ticket: Ticket, appointments_first: bool, special_window: bool) -> str | None:
    """Why ``ticket`` goes before arrival order at a window: ``"green"`` (绿色通道),
    ``"special"`` (at a special-groups window), ``"appointment"``, or None (it does not)."""
    if ticket.priority == "green":
        return "green"
    if ticket.priority == "special" and special_window:
        return "special"
    if ticket.appointment and appointments_first:
        return "appointment"
    return None


_RANK = {"green": 0, "special": 1, "appointment": 2, None: 3}


def call_order(
    ticket: Ticket, appointments_first: bool, special_window: bool = False
) -> tuple[int, float, str]:
    """The sort key of the order a window calls its waiting tickets in (the SQL's, for a copy of
    the queue kept elsewhere: ``hallnet/view.py``)."""
    rank = _RANK[priority_of(ticket, appointments_first, special_window)]
    return (rank, ticket.issued_at, ticket.ticket_no)


def _waiting_for(window: Window, day: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL condition (and its arguments) of :func:`serves` for the tickets of business
    ``day`` waiting."""
    marks = ",".join("?" * len(window.services))
    return (
        "state='waiting' AND day=? AND ((target_window IS NULL AND service IN "
        f"({marks})) OR target_window = ?)",
        (day, *window.services, window.no),
    )


def _insert(
    conn: sqlite3.Connection, ticket: Ticket, day: str, device_id: str, appointment: str | None
) -> None:
    conn.execute(
        "INSERT INTO tickets(ticket_id, day, service, ticket_no, issued_at, issued_by, state,"
        " appointment, priority) VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?, ?)",
        (ticket.ticket_id, day, ticket.service, ticket.ticket_no, ticket.issued_at, device_id,
         appointment, ticket.priority),
    )


def _issued(ticket: Ticket, people_ahead: int, est: WaitEstimate) -> IssuedTicket:
    return IssuedTicket(ticket, people_ahead, est.mid_s, est.low_s, est.high_s)


def _issued_data(ticket: Ticket, people_ahead: int, est: WaitEstimate) -> dict[str, Any]:
    """``ticket.issued``: the ticket, whether it was for an appointment (never the booking
    number), its priority, and what the citizen was told (the range and its middle)."""
    return _ticket_data(ticket) | {
        "appointment": ticket.appointment,
        "priority": ticket.priority,
        "people_ahead": people_ahead,
        "est_wait_s": est.mid_s,
        "est_wait_low_s": est.low_s,
        "est_wait_high_s": est.high_s,
    }


def _close_expired(tx: HallTransaction, ticket: Ticket, day: str, device_id: str) -> Ticket:
    """Inside ``tx``: close ``ticket`` of business ``day`` as expired (未办理) and journal its
    ``ticket.skipped``, dated at the day's last moment; at the ticket's own last time should
    that be later, since a ticket's times never run backwards (only one called after its day
    by a hall box from before the queue kept to today's can be)."""
    closed_at = max(_last_time(ticket), _day_end(day))
    tx.conn.execute(
        "UPDATE tickets SET state='skipped', finished_at=? WHERE ticket_id=?",
        (closed_at, ticket.ticket_id),
    )
    closed = replace(ticket, state="skipped", finished_at=closed_at)
    data = _ticket_data(closed) | {"reason": "expired", "day": day}
    tx.journal(Kind.TICKET_SKIPPED, device_id, data, at=closed_at)
    return closed


def _day_end(day: str) -> float:
    """The last moment (to the millisecond) of business ``day``: still that day, for whoever
    groups events by :func:`core.clock.business_day` of their time."""
    return at_hall_time(day, "00:00") + 86400.0 - 0.001


def _last_time(t: Ticket) -> float:
    """The ticket's latest time so far; its next event may not be dated earlier."""
    return max(t.issued_at, t.called_at or t.issued_at, t.finished_at or t.issued_at)


def _ticket_data(t: Ticket) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticket_id": t.ticket_id,
        "ticket_no": t.ticket_no,
        "service": t.service,
        "issued_at": t.issued_at,
    }
    if t.window_no is not None:
        data |= {"window": t.window_no, "called_at": t.called_at, "call_count": t.call_count}
    if t.finished_at is not None:
        data["finished_at"] = t.finished_at
    return data

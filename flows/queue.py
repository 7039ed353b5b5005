"""The hall queue: a UI-free state machine over SQLite.

A ticket moves ``waiting → called → finished`` or ``waiting → called → skipped`` (no-show).
Every transition commits together with its event in one transaction of the hall store
(:class:`hallstore.HallStore`), so the journal can never disagree with the queue. The queue
owns its SQL; its tables are created and migrated by the store (``hallstore/schema.py``).

A ticket's times never run backwards (``issued_at ≤ called_at ≤ finished_at``; a recall or a
skip is dated no earlier than the call): when a device's clock reads earlier than the
ticket's last time, the event is dated at that time, and the step back is journaled once as
the device's health (``ClockWentBack``, 360; :class:`flows.health_events.ClockWatch`).

All devices of a hall (kiosks, PADs) use the same hall database, and each write starts with
``BEGIN IMMEDIATE``. Two kiosks issuing at the same instant therefore serialise on the
database lock, and a ticket number is never issued twice, even across processes. Within a
process, one :class:`HallQueue` and its store are shared by every flow and device thread
(taps, rating-pad results, health changes); the store's lock makes the connection safe to
share.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from dataclasses import dataclass, replace
from typing import Any

from core.clock import Clock, business_day
from core.config import HallConfig
from core.errors import NoCurrentTicket, TicketInService, WindowNotOpen
from core.events import Kind
from core.rating import LEVEL_LABELS
from flows.health_events import ClockWatch, HealthJournal
from flows.transactions import StoreTransactionJournal
from hallstore import HallStore

#: Columns in the order of :class:`Ticket`'s fields.
TICKET_COLS = (
    "ticket_id, ticket_no, service, issued_at, state, window_no, called_at, finished_at, call_count"
)

#: How many recent services feed the handling-time average behind the wait estimate.
AHT_SAMPLE = 20


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


@dataclass(frozen=True)
class IssuedTicket:
    """What the citizen is told when the ticket comes out."""

    ticket: Ticket
    people_ahead: int
    est_wait_s: float


@dataclass(frozen=True)
class WindowView:
    """What a window PAD shows."""

    window_no: int
    is_open: bool
    current: Ticket | None
    waiting: tuple[Ticket, ...]


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

    def issue(self, service_code: str, device_id: str) -> IssuedTicket:
        """Take a ticket (取号) for a service.

        Raises:
            UnknownService (201): the hall has no such service.
            StorageFull (420): the hall disk is nearly full (see :mod:`hallstore.retention`).
        """
        service = self.hall.service(service_code)
        now = self.clock.now()
        day = business_day(now)
        with self.store.transaction() as tx:
            tx.ensure_room()
            conn = tx.conn
            number = conn.execute(
                "INSERT INTO ticket_counter(day, prefix, last) VALUES (?, ?, 1) "
                "ON CONFLICT(day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
                (day, service.prefix),
            ).fetchone()[0]
            ticket = Ticket(
                ticket_id=uuid.uuid4().hex,
                ticket_no=f"{service.prefix}{number:03d}",
                service=service.code,
                issued_at=now,
                state="waiting",
            )
            people_ahead = conn.execute(
                "SELECT COUNT(*) FROM tickets WHERE state='waiting' AND service=? AND day=?",
                (service.code, day),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO tickets(ticket_id, day, service, ticket_no, issued_at, issued_by, state)"
                " VALUES (?, ?, ?, ?, ?, ?, 'waiting')",
                (ticket.ticket_id, day, ticket.service, ticket.ticket_no, now, device_id),
            )
            est = self._estimate_wait(conn, service.code, people_ahead)
            tx.journal(
                Kind.TICKET_ISSUED,
                device_id,
                _ticket_data(ticket) | {"people_ahead": people_ahead, "est_wait_s": est},
                at=now,
            )
        return IssuedTicket(ticket, people_ahead, est)

    # --- window side ------------------------------------------------------------------

    def open_window(self, window_no: int, device_id: str, staff_id: str) -> None:
        """Sign a window in (签到): it starts taking calls for its services."""
        window = self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO open_windows(window_no, device_id, staff_id, opened_at) VALUES (?,?,?,?)"
                " ON CONFLICT(window_no) DO UPDATE SET device_id=excluded.device_id,"
                " staff_id=excluded.staff_id, opened_at=excluded.opened_at",
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
        """Call the longest-waiting ticket this window serves (叫号). None if nobody waits.

        Raises:
            WindowNotOpen (203): the window has not signed in.
            TicketInService (205): the window still serves a ticket.
        """
        window = self.hall.window(window_no)
        now = self.clock.now()
        with self.store.transaction() as tx:
            conn = tx.conn
            self._require_open(conn, window_no)
            if self._current(conn, window_no) is not None:
                raise TicketInService("finish or skip the current ticket first", window=window_no)
            marks = ",".join("?" * len(window.services))
            row = conn.execute(
                f"SELECT {TICKET_COLS} FROM tickets WHERE state='waiting' AND service IN ({marks})"
                " ORDER BY issued_at, ticket_no LIMIT 1",
                window.services,
            ).fetchone()
            if row is None:
                return None
            ticket = _row_ticket(row)
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

    def health_journal(self, clock: Clock) -> HealthJournal:
        """Where a flow on this queue journals its devices' health: the hall store."""
        return HealthJournal(self.store, clock)

    def transaction_journal(self, device_id: str, clock: Clock) -> StoreTransactionJournal:
        """Where a kiosk function on this queue journals its transactions: the hall store."""
        return StoreTransactionJournal(self.store, device_id, clock)

    def record_rating(self, ticket: Ticket, level: int, device_id: str) -> None:
        """Store a 好差评 rating (5 非常满意 … 1 非常不满意) for a finished ticket."""
        if level not in LEVEL_LABELS:
            raise ValueError(f"rating level {level} outside 1..5")
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.journal(
                Kind.RATING_SUBMITTED,
                device_id,
                {
                    "ticket_id": ticket.ticket_id,
                    "ticket_no": ticket.ticket_no,
                    "service": ticket.service,
                    "window": ticket.window_no,
                    "level": level,
                    "label": LEVEL_LABELS[level],
                },
                at=now,
            )

    # --- views ------------------------------------------------------------------------

    def window_view(self, window_no: int) -> WindowView:
        with self.store.read() as conn:
            return self._window_view(conn, window_no)

    def _window_view(self, conn: sqlite3.Connection, window_no: int) -> WindowView:
        window = self.hall.window(window_no)
        marks = ",".join("?" * len(window.services))
        rows = conn.execute(
            f"SELECT {TICKET_COLS} FROM tickets WHERE state='waiting' AND service IN ({marks})"
            " ORDER BY issued_at, ticket_no",
            window.services,
        ).fetchall()
        is_open = (
            conn.execute("SELECT 1 FROM open_windows WHERE window_no=?", (window_no,)).fetchone()
            is not None
        )
        return WindowView(
            window_no=window_no,
            is_open=is_open,
            current=self._current(conn, window_no),
            waiting=tuple(_row_ticket(r) for r in rows),
        )

    def waiting_count(self, service_code: str | None = None) -> int:
        if service_code is None:
            sql, args = "SELECT COUNT(*) FROM tickets WHERE state='waiting'", ()
        else:
            sql, args = "SELECT COUNT(*) FROM tickets WHERE state='waiting' AND service=?", (
                service_code,
            )
        with self.store.read() as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    def open_windows(self) -> list[int]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT window_no FROM open_windows ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # --- internals --------------------------------------------------------------------

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

    def _require_open(self, conn: sqlite3.Connection, window_no: int) -> None:
        if conn.execute("SELECT 1 FROM open_windows WHERE window_no=?", (window_no,)).fetchone() is None:
            raise WindowNotOpen(f"window {window_no} is not signed in", window=window_no)

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
        return None if row is None else _row_ticket(row)

    def _estimate_wait(self, conn: sqlite3.Connection, service: str, people_ahead: int) -> float:
        """People ahead × average handling time ÷ windows serving the service.

        The fluid approximation halls display (reference B1); the handling time is the mean of
        the last services of this type, or the configured value before there is history.
        Windows that are signed in count; before any has signed in, all configured ones do.
        """
        rows = conn.execute(
            "SELECT finished_at - called_at FROM tickets WHERE service=? AND state='finished'"
            " ORDER BY finished_at DESC LIMIT ?",
            (service, AHT_SAMPLE),
        ).fetchall()
        aht = (
            sum(r[0] for r in rows) / len(rows) if rows else self.hall.service(service).aht_s
        )
        serving = [w.no for w in self.hall.windows if service in w.services]
        open_now = {r[0] for r in conn.execute("SELECT window_no FROM open_windows")}
        windows = len([w for w in serving if w in open_now]) or len(serving)
        return math.ceil(people_ahead * aht / max(windows, 1))


def _row_ticket(row: tuple[Any, ...]) -> Ticket:
    return Ticket(*row)


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

"""A kiosk's offline numbers: the blocks the hall box reserved for it, and the tickets it issued
from them while it could not reach the hall box, with the priority the citizen chose
(``docs/hall-api.md``, "Offline within the hall").

The hall box reserves each kiosk, ahead of time, a block of numbers per service for today and
for the next business day (:mod:`flows.ticket_numbers`); the kiosk keeps them in its own
database (:class:`hallnet.local_store.LocalStore`). Cut off, it issues the next number of
today's block: the ticket, and the block's new position, commit in one transaction with
``synchronous=FULL`` before the citizen sees the number, so a number is never issued twice,
even across a crash or a power cut. When the hall box answers again, the kiosk's uplink
(:class:`hallnet.uplink.Uplink`) uploads every such ticket, in the order they were issued,
each with its own key, and deletes it only once the hall box holds it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.clock import business_day
from core.config import Service
from flows.queue import Ticket
from flows.ticket_numbers import NumberRange, ticket_no
from hallnet.local_store import LocalStore

#: Refill a service's block when fewer numbers than this are left of it for a day.
RANGE_LOW = 10


@dataclass(frozen=True)
class OfflineTicket:
    """A ticket issued while cut off, not yet held by the hall box.

    Attributes:
        ticket: the ticket as the citizen got it.
        day: the business day of the block it came from.
        appointment: the booking number of a checked-in appointment, or None.
        replaces: the Idempotency-Key of the issue request that went unanswered just before
            it, if any: the hall box may have issued that ticket, which nobody holds.
    """

    ticket: Ticket
    day: str
    appointment: str | None
    replaces: str | None

    @property
    def key(self) -> str:
        """The upload's Idempotency-Key: the same for every attempt, across restarts."""
        return f"offline-{self.ticket.ticket_id}"


class OfflineNumbers:
    """The kiosk's reserved blocks and offline tickets, on its own disk."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def add(self, block: NumberRange) -> None:
        """Keep a block the hall box reserved (a block already kept is left as it is)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO number_ranges(day, service, prefix, first, last, next)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(day, prefix, first) DO NOTHING",
                (block.day, block.service, block.prefix, block.first, block.last, block.first),
            )

    def left(self, day: str, service: str) -> int:
        """Numbers still to issue for ``service`` on ``day``."""
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT TOTAL(last - next + 1) FROM number_ranges"
                " WHERE day = ? AND service = ? AND next <= last",
                (day, service),
            ).fetchone()
        return int(row[0])

    def issue(
        self,
        service: Service,
        at: float,
        appointment: str | None = None,
        replaces: str | None = None,
        priority: str | None = None,
    ) -> Ticket | None:
        """Issue the next reserved number of ``service`` for the business day of ``at``; on
        disk when this returns. None when no reserved number is left.

        ``priority`` (绿色通道 …) is kept with the ticket and uploaded with it: the hall box
        queues it with that priority. ``replaces``, the key of the unanswered issue request,
        leaves the store's unsettled slot (:class:`hallnet.kept.UnsettledOnDisk`) in the same
        transaction: were it still there after a crash, the next citizen's tap would reuse it
        and get the very ticket this one's upload withdraws.

        Raises:
            StorageFull (420): the kiosk's disk is nearly full; nothing was issued.
        """
        day = business_day(at)
        with self.store.transaction() as conn:
            self.store.ensure_room()
            block = conn.execute(
                "SELECT prefix, first, next FROM number_ranges"
                " WHERE day = ? AND service = ? AND next <= last ORDER BY first LIMIT 1",
                (day, service.code),
            ).fetchone()
            if block is None:
                return None
            prefix, first, number = str(block[0]), int(block[1]), int(block[2])
            conn.execute(
                "UPDATE number_ranges SET next = next + 1 WHERE day = ? AND prefix = ?"
                " AND first = ?",
                (day, prefix, first),
            )
            ticket = Ticket(
                ticket_id=uuid.uuid4().hex,
                ticket_no=ticket_no(prefix, number),
                service=service.code,
                issued_at=at,
                state="waiting",
                appointment=appointment is not None,
                priority=priority,
            )
            conn.execute(
                "INSERT INTO offline_tickets(ticket_id, day, service, ticket_no, issued_at,"
                " appointment, replaces, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ticket.ticket_id,
                    day,
                    service.code,
                    ticket.ticket_no,
                    at,
                    appointment,
                    replaces,
                    priority,
                ),
            )
            if replaces is not None:
                conn.execute("DELETE FROM unsettled WHERE key = ?", (replaces,))
        return ticket

    def pending(self, service: str | None = None) -> list[OfflineTicket]:
        """The offline tickets the hall box does not hold yet, oldest first (refused ones
        excluded)."""
        sql = (
            "SELECT ticket_id, ticket_no, service, issued_at, appointment, day, replaces,"
            " priority FROM offline_tickets WHERE refused IS NULL"
        )
        args: tuple[str, ...] = ()
        if service is not None:
            sql, args = sql + " AND service = ?", (service,)
        with self.store.read() as conn:
            rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            OfflineTicket(
                Ticket(
                    str(t),
                    str(no),
                    str(s),
                    float(at),
                    "waiting",
                    appointment=a is not None,
                    priority=None if p is None else str(p),
                ),
                str(day),
                None if a is None else str(a),
                None if r is None else str(r),
            )
            for t, no, s, at, a, day, r, p in rows
        ]

    def held(self, ticket_id: str) -> None:
        """The hall box holds the ticket: forget it here."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM offline_tickets WHERE ticket_id = ?", (ticket_id,))

    def refused(self, ticket_id: str, why: str) -> None:
        """The hall box refused the ticket for good: keep it, marked, and send it no more."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE offline_tickets SET refused = ? WHERE ticket_id = ?", (why, ticket_id)
            )

    def forget_before(self, day: str) -> None:
        """Drop blocks of business days before ``day``: their numbers can no longer be issued."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM number_ranges WHERE day < ?", (day,))

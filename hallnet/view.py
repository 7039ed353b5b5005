"""A kiosk's or PAD's local copy of the queue, kept current by the hall box's pushes.

It holds only what the apps read between two pushes: the tickets waiting or being served, and
per window whether it is open and its waiting list *in the hall box's order* (the snapshot
carries each window's order as :class:`flows.queue.HallQueue` computed it; a new ticket takes
its place by the same rule, :func:`flows.queue.call_order`: usually the end, but a ticket a
kiosk issued while cut off arrives with its earlier issue time, and an appointment's ticket
goes before the walk-ins; a 绿色通道 ticket before everyone, a special group's at the special-groups
window; a transferred ticket goes back into the queue it was sent to, by its issue time). From it, :meth:`HallView.window_view` and
:meth:`HallView.waiting_count` answer as the hall box would, without a request.

Not thread-safe on its own: :class:`hallnet.client.RemoteHallQueue` holds a lock around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.events import Kind
from core.config import Window
from flows.queue import Ticket, WindowView, call_order, serves
from hallnet.wire import ticket_from


@dataclass
class _Window:
    no: int
    services: tuple[str, ...]
    is_open: bool = False
    staff_id: str | None = None
    waiting: list[str] = field(default_factory=list)
    special: bool = False
    paused_at: float | None = None
    pause_reason: str | None = None

    def serves(self, ticket: Ticket) -> bool:
        return serves(Window(self.no, self.services, self.special), ticket)


class HallView:
    """The queue as the last snapshot and the pushes after it describe it."""

    def __init__(self, appointments_first: bool = True) -> None:
        #: The hall's ``[queue] appointments_first`` (the client sets it from the catalog).
        self.appointments_first = appointments_first
        self.tickets: dict[str, Ticket] = {}
        self.windows: dict[int, _Window] = {}
        #: Whether a snapshot has been applied (before that, nothing is known).
        self.known = False

    def snapshot(self, data: dict[str, Any]) -> None:
        """Replace everything with a ``snapshot`` push."""
        self.tickets = {t.ticket_id: t for t in (ticket_from(d) for d in data["tickets"])}
        special = {
            int(w["no"]) for w in (data.get("hall") or {}).get("windows", []) if w.get("special")
        }
        self.windows = {
            int(w["no"]): _Window(
                int(w["no"]),
                tuple(w["services"]),
                bool(w["is_open"]),
                w.get("staff_id"),
                [str(i) for i in w["waiting"] if i in self.tickets],
                int(w["no"]) in special,
                w.get("paused_at"),
                w.get("pause_reason"),
            )
            for w in data["windows"]
        }
        self.known = True

    def apply(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one push (``ticket.*``, ``window.*``); unknown kinds are ignored."""
        if kind in Kind.TICKETS:
            self._ticket(ticket_from(data["ticket"]))
        elif kind in Kind.WINDOWS:
            window = self.windows.get(int(data["window"]))
            if window is None:
                return
            if kind in (Kind.WINDOW_OPENED, Kind.WINDOW_CLOSED):
                window.is_open = kind == Kind.WINDOW_OPENED
                window.staff_id = data.get("staff_id") if window.is_open else None
                window.paused_at = window.pause_reason = None
            else:
                window.paused_at = data.get("paused_at")
                window.pause_reason = data.get("pause_reason")

    def _ticket(self, ticket: Ticket) -> None:
        """A ticket as a push left it: in the waiting lists of the windows that may call it
        (issued, or transferred back into a queue), or out of them (called, closed)."""
        tid = ticket.ticket_id
        for window in self.windows.values():
            if tid in window.waiting:
                window.waiting.remove(tid)
        if ticket.state not in ("waiting", "called"):
            self.tickets.pop(tid, None)
            return
        self.tickets[tid] = ticket
        if ticket.state != "waiting":
            return
        for window in self.windows.values():
            if window.serves(ticket):
                window.waiting.append(tid)
                window.waiting.sort(key=lambda i, w=window: self._order(i, w))

    def _order(self, ticket_id: str, window: _Window) -> tuple[int, float, str]:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return (0, 0.0, "")
        return call_order(ticket, self.appointments_first, window.special)

    def window_view(self, window_no: int) -> WindowView:
        window = self.windows.get(window_no) or _Window(window_no, ())
        current = next(
            (
                t
                for t in self.tickets.values()
                if t.state == "called" and t.window_no == window_no
            ),
            None,
        )
        waiting = tuple(self.tickets[i] for i in window.waiting if i in self.tickets)
        return WindowView(
            window_no, window.is_open, current, waiting, window.paused_at, window.pause_reason
        )

    def waiting_count(self, service_code: str | None = None) -> int:
        return sum(
            1
            for t in self.tickets.values()
            if t.state == "waiting" and (service_code is None or t.service == service_code)
        )

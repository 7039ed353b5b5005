"""A kiosk's or PAD's local copy of the queue, kept current by the hall box's pushes.

It holds only what the apps read between two pushes: the tickets waiting or being served, and
per window whether it is open and its waiting list *in the hall box's order* (the snapshot
carries each window's order as :class:`flows.queue.HallQueue` computed it; a new ticket joins
the end, as the latest issued). From it, :meth:`HallView.window_view` and
:meth:`HallView.waiting_count` answer as the hall box would, without a request.

Not thread-safe on its own: :class:`hallnet.client.RemoteHallQueue` holds a lock around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.events import Kind
from flows.queue import Ticket, WindowView
from hallnet.wire import ticket_from


@dataclass
class _Window:
    no: int
    services: tuple[str, ...]
    is_open: bool = False
    staff_id: str | None = None
    waiting: list[str] = field(default_factory=list)


class HallView:
    """The queue as the last snapshot and the pushes after it describe it."""

    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.windows: dict[int, _Window] = {}
        #: Whether a snapshot has been applied (before that, nothing is known).
        self.known = False

    def snapshot(self, data: dict[str, Any]) -> None:
        """Replace everything with a ``snapshot`` push."""
        self.tickets = {t.ticket_id: t for t in (ticket_from(d) for d in data["tickets"])}
        self.windows = {
            int(w["no"]): _Window(
                int(w["no"]),
                tuple(w["services"]),
                bool(w["is_open"]),
                w.get("staff_id"),
                [str(i) for i in w["waiting"] if i in self.tickets],
            )
            for w in data["windows"]
        }
        self.known = True

    def apply(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one push (``ticket.*``, ``window.*``); unknown kinds are ignored."""
        if kind in Kind.TICKETS:
            self._ticket(kind, ticket_from(data["ticket"]))
        elif kind in (Kind.WINDOW_OPENED, Kind.WINDOW_CLOSED):
            window = self.windows.get(int(data["window"]))
            if window is not None:
                window.is_open = kind == Kind.WINDOW_OPENED
                window.staff_id = data.get("staff_id") if window.is_open else None

    def _ticket(self, kind: str, ticket: Ticket) -> None:
        tid = ticket.ticket_id
        if kind == Kind.TICKET_ISSUED:
            self.tickets[tid] = ticket
            for window in self.windows.values():
                if ticket.service in window.services and tid not in window.waiting:
                    window.waiting.append(tid)
            return
        for window in self.windows.values():
            if tid in window.waiting:
                window.waiting.remove(tid)
        if ticket.state in ("waiting", "called"):
            self.tickets[tid] = ticket
        else:
            self.tickets.pop(tid, None)

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
        return WindowView(window_no, window.is_open, current, waiting)

    def waiting_count(self, service_code: str | None = None) -> int:
        return sum(
            1
            for t in self.tickets.values()
            if t.state == "waiting" and (service_code is None or t.service == service_code)
        )

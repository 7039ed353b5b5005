"""The citizen-facing window terminal (双屏窗口终端, seed 002 双屏交互系统): what window N shows the
citizen across the counter.

A UI-free flow, drawn by :mod:`kiosk.window_terminal_app`. It changes nothing in the queue; it
reads it. One screen, ``terminal``, in one of these states:

* ``closed``: nobody signed in at the window (窗口暂未开放).
* ``paused``: 暂停服务, with the reason and since when.
* ``idle``: signed in, nobody being served (欢迎 / 请留意叫号).
* ``serving``: the ticket called here, its service, the service's guide (summary and required
  materials) and the handling time since the call, growing with the clock.
* ``rating``: after 办结, 请对本次服务进行评价 until the rating pad's answer is seen, the next
  ticket is called, the window closes, or :data:`RATING_TIMEOUT_S` passes.
* ``thanks``: 感谢您的评价 for :data:`THANKS_S` once the answer is seen.

The signed-in staff member (name, title, staff number and a photo placeholder) is shown in every
state but ``closed``; names come from the hall config's ``[[staff]]`` table by the staff id
the PAD signed in with.

Two inputs, because the window view alone cannot say everything the citizen should see:

* :meth:`WindowTerminal.view` reads ``queue.window_view(n)`` (a :class:`QueuePort`: the hall
  database's :class:`flows.queue.HallQueue` on the hall box, the hall box's pushes through
  ``RemoteHallQueue`` elsewhere): open, paused, the current ticket.
* :meth:`WindowTerminal.observe` takes the queue's events (journal kinds, ``docs/topics.md``):
  who signed in (``window.opened``), whether a ticket left the window *finished* rather than
  skipped or transferred (``ticket.finished``), and the rating (``rating.submitted``). The app
  feeds them from the hall box's pushes, or, on the hall box, from :class:`HallBoxWatch`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.config import GuideNote, HallConfig
from core.errors import HallEdgeError
from core.events import Kind
from core.rating import LEVEL_LABELS
from flows.queue_port import QueuePort
from flows.screens import Screen

#: How long the rating request stays up when no answer is seen (the citizen walked away).
RATING_TIMEOUT_S = 30.0
#: How long 感谢您的评价 stays up.
THANKS_S = 5.0
#: Materials listed at most (the screen holds this many lines; the rest is "等N项").
MATERIALS_SHOWN = 6

TEXT = {
    "closed": "本窗口暂未开放",
    "closed_hint": "请留意叫号屏，前往其他窗口办理",
    "idle": "欢迎您，请留意叫号",
    "paused": "暂停服务",
    "rating": "请对本次服务进行评价",
    "rating_hint": "请在评价器上选择：非常满意 … 非常不满意",
    "thanks": "感谢您的评价",
    "no_guide": "请向窗口工作人员咨询办理要求",
}


@dataclass(frozen=True)
class Guide:
    """The guide summary of one ticket service, as the terminal shows it."""

    title: str
    summary: str
    materials: tuple[str, ...]
    time_limit: str = ""


class GuideBook:
    """Each ticket service's guide: the catalog item its ``[guides.<service>]`` names, when a
    copy of the item catalog is at hand and holds it, else the hall's own summary and materials,
    else the service's name with "ask the staff".

    Args:
        hall: the hall config (its ``guides`` and service names).
        item_of: looks a catalog item up by code (``ItemCatalog.item``); None without a copy.
    """

    def __init__(self, hall: HallConfig, item_of: Callable[[str], Any] | None = None) -> None:
        self.hall = hall
        self.item_of = item_of
        self._cache: dict[str, Guide] = {}

    def guide(self, service_code: str) -> Guide:
        if service_code not in self._cache:
            self._cache[service_code] = self._build(service_code)
        return self._cache[service_code]

    def _build(self, code: str) -> Guide:
        note = self.hall.guides.get(code, GuideNote())
        try:
            name = self.hall.service(code).name
        except HallEdgeError:
            name = code
        item = self._item(note.item)
        if item is not None:
            required = tuple(
                f"{m.name}（{m.form}）" if m.form else m.name
                for m in item.materials_for(None)
                if m.required
            )
            return Guide(
                item.name, note.summary, required or note.materials, item.promised_time_limit
            )
        return Guide(name, note.summary or ("" if note.materials else TEXT["no_guide"]),
                     note.materials)  # fmt: skip

    def _item(self, code: str | None) -> Any:
        if code is None or self.item_of is None:
            return None
        try:
            return self.item_of(code)
        except HallEdgeError:
            return None  # not in this copy: the hall's own words stand


@dataclass
class _Rating:
    ticket_id: str
    ticket_no: str
    asked_at: float
    level: int | None = None
    rated_at: float | None = None


class WindowTerminal:
    """What window ``window_no``'s citizen-facing terminal shows.

    Args:
        queue: the hall queue (read only).
        window_no: the window.
        clock: the hall clock (on its own machine, the hall box's as seen from there).
        guides: the guide per ticket service.
        rating_timeout_s: see :data:`RATING_TIMEOUT_S`.
        on_change: called (on any thread) after an event changed what is shown.
    """

    def __init__(
        self,
        queue: QueuePort,
        window_no: int,
        clock: Clock,
        guides: GuideBook,
        *,
        rating_timeout_s: float = RATING_TIMEOUT_S,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.window_no = queue.hall.window(window_no).no
        self.clock = clock
        self.guides = guides
        self.rating_timeout_s = rating_timeout_s
        self.on_change = on_change
        #: The staff id signed in at the window, as the last ``window.opened`` said.
        self.staff_id: str | None = None
        self._rating: _Rating | None = None
        # Events arrive on the push listener's thread, views are read on the app's worker.
        self._lock = threading.Lock()

    def observe(self, kind: str, data: dict[str, Any]) -> None:
        """Take one queue event; those about other windows are ignored."""
        with self._lock:
            changed = self._observe(kind, data)
        if changed and self.on_change is not None:
            self.on_change()

    @property
    def awaiting_rating(self) -> str | None:
        """The ticket whose rating the terminal asks for and has not seen yet."""
        with self._lock:
            rating = self._rating
            return None if rating is None or rating.level is not None else rating.ticket_id

    def view(self) -> Screen:
        """The terminal as it is now."""
        view = self.queue.window_view(self.window_no)
        now = self.clock.now()
        with self._lock:
            rating = self._current_rating(view.current, view.is_open, now)
            staff_id = self.staff_id if view.is_open else None
        member = self.queue.hall.staff_member(staff_id)
        data: dict[str, Any] = {
            "window_no": self.window_no,
            "hall_name": self.queue.hall.name,
            "staff": None
            if not view.is_open
            else {
                "staff_id": staff_id,
                "name": member.name if member else None,
                "title": member.title if member else "",
            },
            "ticket": None,
            "guide": None,
            "elapsed_s": None,
            "pause_reason": view.pause_reason,
            "paused_s": None if view.paused_at is None else max(0.0, now - view.paused_at),
            "rating": None,
        }
        if view.current is not None:
            ticket = view.current
            guide = self.guides.guide(ticket.service)
            data["state"] = "serving"
            data["ticket"] = {
                "ticket_no": ticket.ticket_no,
                "service": ticket.service,
                "service_name": _service_name(self.queue.hall, ticket.service),
                "called_at": ticket.called_at,
            }
            data["guide"] = {
                "title": guide.title,
                "summary": guide.summary,
                "materials": list(guide.materials[:MATERIALS_SHOWN]),
                "more_materials": max(0, len(guide.materials) - MATERIALS_SHOWN),
                "time_limit": guide.time_limit,
            }
            data["elapsed_s"] = max(0.0, now - (ticket.called_at or now))
        elif rating is not None:
            data["state"] = "thanks" if rating.level is not None else "rating"
            data["rating"] = {
                "ticket_no": rating.ticket_no,
                "level": rating.level,
                "label": None if rating.level is None else LEVEL_LABELS[rating.level],
            }
        elif not view.is_open:
            data["state"] = "closed"
        elif view.paused:
            data["state"] = "paused"
        else:
            data["state"] = "idle"
        return Screen("terminal", "result", data)

    # --- internals ------------------------------------------------------------------------

    def _observe(self, kind: str, data: dict[str, Any]) -> bool:
        if kind == Kind.RATING_SUBMITTED:
            rating = self._rating
            if rating is None or data.get("ticket_id") != rating.ticket_id:
                return False
            rating.level, rating.rated_at = int(data["level"]), self.clock.now()
            return True
        if kind in (Kind.WINDOW_OPENED, Kind.WINDOW_CLOSED):
            if _int(data.get("window")) != self.window_no:
                return False
            self.staff_id = data.get("staff_id") if kind == Kind.WINDOW_OPENED else None
            if kind == Kind.WINDOW_CLOSED:
                self._rating = None
            return True
        if kind == Kind.TICKET_FINISHED:
            ticket = data.get("ticket", data)
            if _int(ticket.get("window_no", ticket.get("window"))) != self.window_no:
                return False
            self._rating = _Rating(
                str(ticket["ticket_id"]), str(ticket["ticket_no"]), self.clock.now()
            )
            return True
        return False

    def _current_rating(self, current: Any, is_open: bool, now: float) -> _Rating | None:
        """The rating request or thanks still to show; ended by a call, a sign-out, an
        answer's :data:`THANKS_S` or the timeout."""
        rating = self._rating
        if rating is None:
            return None
        over = (
            current is not None
            or not is_open
            or (rating.rated_at is not None and now - rating.rated_at >= THANKS_S)
            or (rating.rated_at is None and now - rating.asked_at >= self.rating_timeout_s)
        )
        if over:
            self._rating = None
            return None
        return rating


class HallBoxWatch:
    """On the hall box: the terminal's events, read from the hall database (there are no
    pushes there). Polled by the app's worker, a few times a second.

    It reads what the window view does not carry: the staff id of the window's sign-in, the
    final state of the ticket last seen at the window (finished, or skipped / transferred:
    only a finished case asks for a rating) and the rating that ticket got (kept on the ticket
    row: the journal's outbox is drained by the publisher and cannot be read back).

    Args:
        conn: a connection to the hall database (its own, read only).
        terminal: the terminal the events go to.
    """

    def __init__(self, conn: sqlite3.Connection, terminal: WindowTerminal) -> None:
        self.conn = conn
        self.terminal = terminal
        self._staff: str | None = None
        self._open = False
        self._current: tuple[str, str] | None = None

    def view(self) -> Screen:
        """Poll, then the terminal's screen (what the app reads on the hall box)."""
        self.poll()
        return self.terminal.view()

    def poll(self) -> None:
        """Read what changed since the last poll and hand it to the terminal."""
        n = self.terminal.window_no
        row = self.conn.execute(
            "SELECT staff_id FROM open_windows WHERE window_no=?", (n,)
        ).fetchone()
        if row is not None and (not self._open or row[0] != self._staff):
            self.terminal.observe(Kind.WINDOW_OPENED, {"window": n, "staff_id": row[0]})
        elif row is None and self._open:
            self.terminal.observe(Kind.WINDOW_CLOSED, {"window": n})
        self._open, self._staff = row is not None, None if row is None else row[0]
        self._ticket(n)
        self._ratings()

    def _ticket(self, n: int) -> None:
        row = self.conn.execute(
            "SELECT ticket_id, ticket_no FROM tickets WHERE state='called' AND window_no=?", (n,)
        ).fetchone()
        last, self._current = self._current, None if row is None else (row[0], row[1])
        if last is None or last == self._current:
            return
        state = self.conn.execute(
            "SELECT state FROM tickets WHERE ticket_id=?", (last[0],)
        ).fetchone()
        if state is not None and state[0] == "finished":
            ticket = {"ticket_id": last[0], "ticket_no": last[1], "window_no": n}
            self.terminal.observe(Kind.TICKET_FINISHED, {"ticket": ticket})

    def _ratings(self) -> None:
        ticket_id = self.terminal.awaiting_rating
        if ticket_id is None:
            return
        row = self.conn.execute(
            "SELECT rating FROM tickets WHERE ticket_id=?", (ticket_id,)
        ).fetchone()
        if row is not None and row[0] is not None:
            data = {"ticket_id": ticket_id, "level": int(row[0])}
            self.terminal.observe(Kind.RATING_SUBMITTED, data)


def _service_name(hall: HallConfig, code: str) -> str:
    try:
        return hall.service(code).name
    except HallEdgeError:
        return code


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

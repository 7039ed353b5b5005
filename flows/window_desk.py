"""The window PAD's flow (窗口叫号): sign in, then 叫号 / 重呼 / 过号 / 办结.

A UI-free step machine over the hall queue, the call display and the rating pad. Every step
returns the ``desk`` :class:`flows.screens.Screen`. The queue change is journaled first; the
display and the rating pad come after, so a broken display never loses a call: the PAD says the
display failed and the staff member can call out the number or recall.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from core.clock import Clock
from core.errors import DeviceError, HallEdgeError
from core.rating import LEVEL_LABELS
from core.strings_zh import error_text
from devices.call_display import CallDisplay
from devices.health import Health
from devices.rating_pad import RatingPad
from flows.queue import Ticket
from flows.queue_port import QueuePort, health_journal_for
from flows.screens import Screen

#: Notices the desk shows beside the queue (Chinese, user-facing).
NOTICE = {
    "nobody_waiting": "当前无人等候",
    "display_failed": "叫号屏未响应（{reason}），叫号已记录，请口头叫号或重呼",
    "rating_failed": "评价器未响应（{reason}），本次未能邀请评价",
    "rating_asked": "请群众在评价器上评价",
    "rated": "评价已记录：{label}",
}


class WindowDesk:
    """One window's PAD flow.

    Args:
        queue: the hall queue.
        window_no: the window this PAD belongs to.
        device_id: this PAD (``pad-3``).
        display: the hall call display, or None.
        rating_pad: this window's rating pad, or None.
        clock: the hall clock.
        on_change: called (on any thread) when the desk changed without a tap: a rating
            arrived or warnings came in. The UI re-renders :meth:`view`.
    """

    def __init__(
        self,
        queue: QueuePort,
        window_no: int,
        device_id: str,
        display: CallDisplay | None,
        rating_pad: RatingPad | None,
        clock: Clock,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.window = queue.hall.window(window_no)
        self.device_id = device_id
        self.display = display
        self.rating_pad = rating_pad
        self.clock = clock
        self.on_change = on_change
        self.health = health_journal_for(queue, clock)
        self.staff_id: str | None = None
        #: Ratings journaled since this desk started.
        self.ratings_recorded = 0
        # The queue connection is shared by taps (worker threads) and rating results (the
        # pad's reader thread): one step at a time.
        self._lock = threading.RLock()
        self._notice: str | None = None
        self._rating: dict[str, Any] | None = None
        self._warnings: list[dict[str, Any]] = []

    # --- steps ------------------------------------------------------------------------

    def sign_in(self, staff_id: str) -> Screen:
        """签到: open the window for calls."""
        return self._step(lambda: self._sign_in(staff_id))

    def sign_out(self) -> Screen:
        """签退: close the window (only with nobody at it)."""
        return self._step(self._sign_out)

    def call(self) -> Screen:
        """叫号: call the longest-waiting ticket this window serves."""
        return self._step(self._call)

    def recall(self) -> Screen:
        """重呼: call the current ticket again."""
        return self._step(
            lambda: self._announce(self.queue.recall(self.window.no, self.device_id), True)
        )

    def skip(self) -> Screen:
        """过号: the citizen did not come."""
        return self._step(lambda: self.queue.skip(self.window.no, self.device_id))

    def finish(self) -> Screen:
        """办结: the case is done; invite a 好差评 rating."""
        return self._step(self._finish)

    def view(self, error_key: str | None = None) -> Screen:
        """The desk as it is now."""
        with self._lock:
            return Screen("desk", "menu", self._data(), error_key)

    def on_warnings(self, payload: dict[str, Any]) -> None:
        """Take a hall warning list (``docs/topics.md``); keep those for this window's services."""
        mine = []
        for w in payload.get("warnings", []):
            if not isinstance(w, dict) or w.get("service") not in self.window.services:
                continue
            mine.append(
                {
                    "service": w["service"],
                    "service_name": self.queue.hall.service(w["service"]).name,
                    "level": w.get("level"),
                    "metric": w.get("metric"),
                    "value": w.get("value"),
                    "recommendation_text": (w.get("recommendation") or {}).get("text"),
                }
            )
        with self._lock:
            self._warnings = mine
        self._changed()

    # --- internals --------------------------------------------------------------------

    def _step(self, action: Callable[[], Any]) -> Screen:
        with self._lock:
            self._notice = None
            try:
                action()
            except HallEdgeError as err:
                return Screen("desk", "menu", self._data(), err.key)
            return Screen("desk", "menu", self._data())

    def _sign_in(self, staff_id: str) -> None:
        self.queue.open_window(self.window.no, self.device_id, staff_id)
        self.staff_id = staff_id

    def _sign_out(self) -> None:
        self.queue.close_window(self.window.no, self.device_id)
        self.staff_id = None

    def _call(self) -> None:
        ticket = self.queue.call_next(self.window.no, self.device_id)
        if ticket is None:
            self._notice = NOTICE["nobody_waiting"]
            return
        self._rating = None
        self._announce(ticket, False)

    def _announce(self, ticket: Ticket, recall: bool) -> None:
        if self.display is None:
            return
        try:
            self.display.announce(ticket.ticket_no, self.window.no, recall=recall)
        except DeviceError as err:
            self.health.record(Health.from_error(self.display.device_id, err))
            self._notice = NOTICE["display_failed"].format(reason=error_text(err))
            return
        self.health.record(Health.ok(self.display.device_id))

    def _finish(self) -> None:
        ticket = self.queue.finish(self.window.no, self.device_id)
        if self.rating_pad is None:
            return
        self._rating = {
            "ticket_no": ticket.ticket_no,
            "state": "pending",
            "level": None,
            "label": None,
        }
        try:
            self.rating_pad.request(
                ticket.ticket_no, self.window.no, lambda level: self._rated(ticket, level)
            )
        except DeviceError as err:
            self.health.record(Health.from_error(self.rating_pad.device_id, err))
            self._rating = None
            self._notice = NOTICE["rating_failed"].format(reason=error_text(err))
            return
        self._notice = NOTICE["rating_asked"]

    def _rated(self, ticket: Ticket, level: int) -> None:
        # Runs on the rating pad's reader thread.
        with self._lock:
            assert self.rating_pad is not None
            self.queue.record_rating(ticket, level, self.rating_pad.device_id)
            self.ratings_recorded += 1
            if self._rating is not None and self._rating["ticket_no"] == ticket.ticket_no:
                self._rating = {
                    "ticket_no": ticket.ticket_no,
                    "state": "done",
                    "level": level,
                    "label": LEVEL_LABELS[level],
                }
                self._notice = NOTICE["rated"].format(label=LEVEL_LABELS[level])
        self._changed()

    def _data(self) -> dict[str, Any]:
        view = self.queue.window_view(self.window.no)
        now = self.clock.now()
        current = None
        if view.current is not None:
            c = view.current
            current = {
                "ticket_no": c.ticket_no,
                "service": c.service,
                "service_name": self.queue.hall.service(c.service).name,
                "call_count": c.call_count,
                "waited_s": (c.called_at or now) - c.issued_at,
            }
        return {
            "window_no": self.window.no,
            "staff_id": self.staff_id,
            "signed_in": view.is_open,
            "current": current,
            "waiting_count": len(view.waiting),
            "waiting": [
                {
                    "ticket_no": t.ticket_no,
                    "service": t.service,
                    "service_name": self.queue.hall.service(t.service).name,
                    "wait_s": now - t.issued_at,
                }
                for t in view.waiting
            ],
            "rating": self._rating,
            "warnings": list(self._warnings),
            "notice": self._notice,
        }

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

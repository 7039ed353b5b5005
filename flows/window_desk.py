"""The window PAD's flow (窗口叫号): sign in, then 叫号 / 重呼 / 过号 / 办结, 转移, 暂停 / 恢复, 签退.

A UI-free step machine over the hall queue, the call display and the rating pad. Every step
returns the ``desk`` :class:`flows.screens.Screen`. The queue change is journaled first; the
display and the rating pad come after, so a broken display never loses a call: the PAD says the
display failed and the staff member can call out the number or recall.

Some steps first open a dialog the desk keeps (``data["dialog"]``, so a redraw does not close
it): 过号 asks for confirmation (:meth:`WindowDesk.ask_skip`, then :meth:`WindowDesk.skip`), 转移
offers the services and windows, 暂停 the reasons. A 过号 can be taken back for
:data:`flows.queue.SKIP_UNDO_S` (撤销过号); the call display takes the skipped or transferred
number off its headline. Each ticket says why it goes before arrival order (绿色通道, 特殊人群,
预约, or 转入 from another window).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from core.clock import Clock
from core.errors import (
    DeviceError,
    HallEdgeError,
    NoCurrentTicket,
    SkipNotUndoable,
    TicketInService,
    WindowNotOpen,
)
from core.rating import LEVEL_LABELS
from core.strings_zh import error_text
from devices.call_display import CallDisplay
from devices.health import Health
from devices.rating_pad import RatingPad
from flows.queue import SKIP_UNDO_S, Ticket, priority_of
from flows.queue_port import QueuePort, health_journal_for
from flows.screens import Screen

#: Notices the desk shows beside the queue (Chinese, user-facing).
NOTICE = {
    "nobody_waiting": "当前无人等候",
    "display_failed": "叫号屏未响应（{reason}），叫号已记录，请口头叫号或重呼",
    "rating_failed": "评价器未响应（{reason}），本次未能邀请评价",
    "rating_asked": "请群众在评价器上评价",
    "rated": "评价已记录：{label}",
    "skipped": "{ticket_no} 已过号，{seconds}秒内可撤销",
    "skip_undone": "已撤销过号，{ticket_no} 继续办理",
    "transferred": "{ticket_no} 已转至{target}，按取号时间排队",
    "paused": "已暂停服务（{reason}）",
    "resumed": "已恢复服务",
    "signed_out": "已签退",
    "display_clear_failed": "叫号屏未能撤下{ticket_no}（{reason}）",
}
#: Why a ticket goes before arrival order, as the PAD says it.
PRIORITY_TEXT = {"green": "绿色通道", "special": "特殊人群", "appointment": "预约"}
#: Reasons offered for 暂停服务 (the journal keeps the one chosen).
PAUSE_REASONS = ("临时离开", "业务咨询", "系统故障", "午间休息", "其他")
#: Context added to an error, by key (what the staff member should do about it).
ERROR_HINT = {
    "ticket_in_service": "当前号码 {ticket_no} 尚未办结",
    "window_paused": "暂停原因：{reason}",
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
        self._dialog: dict[str, Any] | None = None
        #: The last 过号 of this desk: (ticket id, ticket number, when) while it may be undone.
        self._skipped: tuple[str, str, float] | None = None

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

    def ask_skip(self) -> Screen:
        """过号, first tap: ask to confirm (nothing changes yet)."""
        return self._step(self._ask_skip)

    def skip(self) -> Screen:
        """过号 confirmed: the citizen did not come. Undoable for a short time."""
        return self._step(self._skip)

    def undo_skip(self) -> Screen:
        """撤销过号: the skipped citizen is the current ticket again."""
        return self._step(self._undo_skip)

    def ask_transfer(self) -> Screen:
        """转移, first tap: offer the services and the other windows."""
        return self._step(self._ask_transfer)

    def transfer(self, service: str | None = None, window: int | None = None) -> Screen:
        """转移 the current ticket to another service and/or window."""
        return self._step(lambda: self._transfer(service, window))

    def ask_pause(self) -> Screen:
        """暂停, first tap: offer the reasons."""
        return self._step(self._ask_pause)

    def pause(self, reason: str) -> Screen:
        """暂停服务 with a reason."""
        return self._step(lambda: self._pause(reason))

    def resume(self) -> Screen:
        """恢复服务."""
        return self._step(self._resume)

    def cancel(self) -> Screen:
        """Close the dialog without doing anything."""
        return self._step(lambda: None)

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
            self._dialog = None
            try:
                action()
            except HallEdgeError as err:
                data = self._data()
                data["error_hint"] = self._hint(err, data)
                return Screen("desk", "menu", data, err.key)
            return Screen("desk", "menu", self._data())

    def _hint(self, err: HallEdgeError, data: dict[str, Any]) -> str | None:
        """What the error is about here, in the staff member's words (or None)."""
        template = ERROR_HINT.get(err.key)
        current = data.get("current") or {}
        if template is None or (err.key == "ticket_in_service" and not current):
            return None
        return template.format(
            ticket_no=current.get("ticket_no", ""), reason=data.get("pause_reason") or ""
        )

    def _sign_in(self, staff_id: str) -> None:
        self.queue.open_window(self.window.no, self.device_id, staff_id)
        self.staff_id = staff_id

    def _sign_out(self) -> None:
        self.queue.close_window(self.window.no, self.device_id)
        self.staff_id = None
        self._skipped = None
        self._notice = NOTICE["signed_out"]

    def _current_ticket(self) -> Ticket:
        """The ticket this window serves, or NoCurrentTicket (204)."""
        current = self.queue.window_view(self.window.no).current
        if current is None:
            raise NoCurrentTicket(f"window {self.window.no} serves nobody", window=self.window.no)
        return current

    def _ask_skip(self) -> None:
        ticket = self._current_ticket()
        self._dialog = {"kind": "confirm_skip", "ticket_no": ticket.ticket_no}

    def _skip(self) -> None:
        ticket = self.queue.skip(self.window.no, self.device_id)
        self._skipped = (ticket.ticket_id, ticket.ticket_no, self.clock.now())
        self._notice = NOTICE["skipped"].format(
            ticket_no=ticket.ticket_no, seconds=int(SKIP_UNDO_S)
        )
        self._take_back(ticket)

    def _undo_skip(self) -> None:
        if self._skipped is None:
            raise SkipNotUndoable("nothing to undo", window=self.window.no)
        ticket_id, ticket_no, _ = self._skipped
        self.queue.undo_skip(self.window.no, self.device_id, ticket_id)
        self._skipped = None
        self._notice = NOTICE["skip_undone"].format(ticket_no=ticket_no)

    def _ask_transfer(self) -> None:
        ticket = self._current_ticket()
        hall = self.queue.hall
        self._dialog = {
            "kind": "transfer",
            "ticket_no": ticket.ticket_no,
            "services": [
                {"code": s.code, "name": s.name}
                for s in hall.services
                if s.code != ticket.service
            ],
            "windows": [
                {"no": w.no, "open": self.queue.window_view(w.no).is_open}
                for w in hall.windows
                if w.no != self.window.no
            ],
        }

    def _transfer(self, service: str | None, window: int | None) -> None:
        ticket = self.queue.transfer(
            self.window.no, self.device_id, to_service=service, to_window=window
        )
        parts = []
        if service is not None:
            parts.append(self.queue.hall.service(service).name)
        if window is not None:
            parts.append(f"{window}号窗口")
        self._notice = NOTICE["transferred"].format(
            ticket_no=ticket.ticket_no, target="·".join(parts)
        )
        self._take_back(ticket)

    def _ask_pause(self) -> None:
        view = self.queue.window_view(self.window.no)
        if not view.is_open:
            raise WindowNotOpen(f"window {self.window.no} is not signed in", window=self.window.no)
        if view.current is not None:
            raise TicketInService("finish or skip first", window=self.window.no)
        self._dialog = {"kind": "pause", "reasons": list(PAUSE_REASONS)}

    def _pause(self, reason: str) -> None:
        self.queue.pause_window(self.window.no, self.device_id, reason)
        self._notice = NOTICE["paused"].format(reason=reason)

    def _resume(self) -> None:
        self.queue.resume_window(self.window.no, self.device_id)
        self._notice = NOTICE["resumed"]

    def _take_back(self, ticket: Ticket) -> None:
        """The display stops calling a ticket this window skipped or transferred."""
        if self.display is None:
            return
        try:
            self.display.clear(ticket.ticket_no, self.window.no)
        except DeviceError as err:
            self.health.record(Health.from_error(self.display.device_id, err))
            self._notice = (self._notice or "") + "；" + NOTICE["display_clear_failed"].format(
                ticket_no=ticket.ticket_no, reason=error_text(err)
            )

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
            } | self._why(c)
        undo = None
        if self._skipped is not None:
            left = SKIP_UNDO_S - (now - self._skipped[2])
            if left > 0 and view.current is None:
                undo = {"ticket_no": self._skipped[1], "left_s": left}
        return {
            "window_no": self.window.no,
            "special_window": self.window.special,
            "staff_id": self.staff_id,
            "signed_in": view.is_open,
            "paused": view.paused,
            "pause_reason": view.pause_reason,
            "paused_s": None if view.paused_at is None else max(0.0, now - view.paused_at),
            "current": current,
            "waiting_count": len(view.waiting),
            "waiting": [
                {
                    "ticket_no": t.ticket_no,
                    "service": t.service,
                    "service_name": self.queue.hall.service(t.service).name,
                    "wait_s": now - t.issued_at,
                }
                | self._why(t)
                for t in view.waiting
            ],
            "dialog": self._dialog,
            "undo": undo,
            "rating": self._rating,
            "warnings": list(self._warnings),
            "notice": self._notice,
            "error_hint": None,
        }

    def _why(self, ticket: Ticket) -> dict[str, Any]:
        """Why this ticket goes before arrival order at this window, if it does."""
        priority = priority_of(ticket, self.queue.hall.appointments_first, self.window.special)
        tags = [PRIORITY_TEXT[priority]] if priority is not None else []
        if ticket.transferred_from is not None:
            tags.append(f"由{ticket.transferred_from}号窗口转入")
        return {
            "priority": priority,
            "transferred_from": ticket.transferred_from,
            "tags": tags,
        }

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

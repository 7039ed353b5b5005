"""Grammar of the window screen protocol: the LED screen above each window (窗口屏).

No public protocol exists for these screens (reference §5.1: vendors ship a DLL), so Hall Edge
defines a small one on the hall line protocol's framing (``docs/devices/window-screen.md``,
``protocols/hall_line.py``): the host sends the whole state of the screen in one line, the
screen renders the Chinese rows itself. Shared by :mod:`devices.window_screen` and
:mod:`hardware_sim.window_screen`; a vendor screen gets an adapter that speaks this on one side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from core.errors import DeviceRejected
from protocols.hall_line import TICKET_RE, WINDOW_RE, check_ticket_no, check_window_no

KIND_WINDOW_SCREEN = "window-screen"

#: Staff number: 1–16 ASCII letters or digits.
STAFF_ID_RE = re.compile(r"[0-9A-Za-z]{1,16}")
#: Staff name: 1–8 CJK ideographs, letters or the middle dot of minority names (·).
STAFF_NAME_RE = re.compile(r"[\u4e00-\u9fffA-Za-z\u00b7]{1,8}")
#: An absent optional field.
NONE = "-"


class ScreenStatus(str, Enum):
    """What the window is doing; the screen chooses the Chinese words."""

    #: serving a ticket (the ticket is required)
    SERVING = "serving"
    #: open, nobody called yet
    IDLE = "idle"
    #: 暂停服务: staff away for a moment
    PAUSED = "paused"
    #: the window is closed for the day
    CLOSED = "closed"


#: The screen's second row for each status (user-facing text, shown above the window).
STATUS_TEXT: dict[ScreenStatus, str] = {
    ScreenStatus.SERVING: "请{ticket}号办理",
    ScreenStatus.IDLE: "等待叫号",
    ScreenStatus.PAUSED: "暂停服务",
    ScreenStatus.CLOSED: "停止服务",
}
#: First and third rows.
WINDOW_TEXT = "{window}号窗口"
STAFF_TEXT = "工号{staff_id} {staff_name}"
STAFF_ID_TEXT = "工号{staff_id}"
#: What a called ticket flashes as (a CALL line, like the hall call display).
CALL_TEXT = "请{ticket}号到{window}号窗口"


@dataclass(frozen=True)
class ScreenState:
    """Everything one screen shows.

    Attributes:
        window_no: 1–999.
        status: what the window is doing.
        ticket_no: the ticket being served (``serving`` only).
        staff_id: the signed-in staff number, or None.
        staff_name: the staff member's name, or None.
    """

    window_no: int
    status: ScreenStatus
    ticket_no: str | None = None
    staff_id: str | None = None
    staff_name: str | None = None

    def rows(self) -> tuple[str, str, str]:
        """The three rows the screen shows."""
        middle = STATUS_TEXT[self.status].format(ticket=self.ticket_no)
        if self.staff_id and self.staff_name:
            staff = STAFF_TEXT.format(staff_id=self.staff_id, staff_name=self.staff_name)
        elif self.staff_id:
            staff = STAFF_ID_TEXT.format(staff_id=self.staff_id)
        else:
            staff = ""
        return WINDOW_TEXT.format(window=self.window_no), middle, staff


def encode_show(state: ScreenState) -> str:
    """``SHOW <window_no> <status> <ticket_no|-> <staff_id|-> <staff_name|->``.

    Raises:
        DeviceRejected (305): a field the protocol cannot carry, a ``serving`` state without a
            ticket, or a ticket with any other status.
    """
    check_window_no(state.window_no)
    if (state.status is ScreenStatus.SERVING) != (state.ticket_no is not None):
        raise DeviceRejected(
            f"status {state.status.value} with ticket {state.ticket_no!r}", reason="bad_status"
        )
    ticket = NONE if state.ticket_no is None else check_ticket_no(state.ticket_no)
    staff_id = _field(state.staff_id, STAFF_ID_RE, "bad_staff_id")
    name = _field(state.staff_name, STAFF_NAME_RE, "bad_staff_name")
    return f"SHOW {state.window_no} {state.status.value} {ticket} {staff_id} {name}"


def parse_show(words: list[str]) -> ScreenState:
    """The state a ``SHOW`` line (split on spaces) asks for.

    Raises:
        DeviceRejected (305): ``details["reason"]`` is the ``ERR 422`` reason the screen sends.
    """
    if len(words) != 6 or words[0] != "SHOW":
        raise DeviceRejected("SHOW takes five fields", reason="bad_arguments")
    _, window, status, ticket, staff_id, name = words
    if not WINDOW_RE.fullmatch(window):
        raise DeviceRejected("bad window", reason="bad_window")
    try:
        screen_status = ScreenStatus(status)
    except ValueError as err:
        raise DeviceRejected("bad status", reason="bad_status") from err
    if ticket != NONE and not TICKET_RE.fullmatch(ticket):
        raise DeviceRejected("bad ticket", reason="bad_ticket")
    if (screen_status is ScreenStatus.SERVING) != (ticket != NONE):
        raise DeviceRejected("ticket and status disagree", reason="bad_status")
    if staff_id != NONE and not STAFF_ID_RE.fullmatch(staff_id):
        raise DeviceRejected("bad staff id", reason="bad_staff_id")
    if name != NONE and not STAFF_NAME_RE.fullmatch(name):
        raise DeviceRejected("bad staff name", reason="bad_staff_name")
    return ScreenState(
        int(window),
        screen_status,
        None if ticket == NONE else ticket,
        None if staff_id == NONE else staff_id,
        None if name == NONE else name,
    )


def _field(value: str | None, pattern: re.Pattern[str], reason: str) -> str:
    if value is None:
        return NONE
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DeviceRejected(f"{value!r} outside the screen protocol", reason=reason)
    return value

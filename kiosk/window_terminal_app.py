"""The citizen-facing window terminal (双屏窗口终端), drawing
:class:`flows.window_terminal.WindowTerminal`.

The second screen of a window, turned to the citizen: the staff member on duty (photo
placeholder, name, title, 工号), and by the window's state the number being served with its
service, the guide's summary and required materials and the handling time (已办理 mm:ss); 暂停服务
with the reason; after 办结 请对本次服务进行评价 and then 感谢您的评价. It has no buttons: the
citizen answers on the rating pad, the staff member works on the PAD.

The terminal reads the queue on the app's worker thread (SQLite or the hall box); the Kivy
thread only draws. It redraws every :data:`REFRESH_S` so the handling time ticks, and at once
when an event comes in (``on_change``). A terminal on its own machine says so in a red line
when the hall box cannot be reached, and shows the window as last known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.errors import HallEdgeError
from core.strings_zh import error_text
from flows.screens import Screen
from flows.window_terminal import TEXT
from kiosk.flow_app import FlowApp
from kiosk.widgets import (
    AMBER,
    BLUE,
    CARD,
    GREEN,
    GREY,
    INK,
    MUTED,
    PAGE,
    RED,
    WHITE,
    Panel,
    Text,
    clear_into,
    find,
    header,
)

if TYPE_CHECKING:
    from hallnet.client import HallLink

#: Redraw period: the handling time shows seconds.
REFRESH_S = 0.5
LINK_BANNER_HEIGHT = 48
#: Fields of a screen that change every second; the rest rebuilds the widgets when it changes.
_TICKING = ("elapsed_s", "paused_s")


class TerminalModel(Protocol):
    """What the app reads: the terminal itself, or the hall box's watch in front of it."""

    def view(self) -> Screen: ...


class WindowTerminalApp(FlowApp[TerminalModel]):
    """The window terminal's window.

    Args:
        build: makes the model on the worker thread, given the callback for "something changed".
        close: releases what ``build`` opened; on the worker at exit.
        window_no: shown before the model is ready.
        link: the connection to the hall box on a machine of its own, else None.
    """

    def __init__(
        self,
        build: Callable[[Callable[[], None]], TerminalModel],
        close: Callable[[TerminalModel], None] | None = None,
        window_no: int = 0,
        link: HallLink | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("terminal-worker", close, **kwargs)
        self.title = f"{window_no}号窗口 窗口终端"
        self._build_model = build
        self._window_no = window_no
        self._link = link
        self._shown: tuple[Any, ...] | None = None

    # --- Kivy -----------------------------------------------------------------------------

    def build(self) -> Widget:
        root = Panel(orientation="vertical", bg=PAGE)
        bar = header(f"{self._window_no}号窗口", "window_title", right="", right_id="hall_name")
        self._hall = find(bar, "hall_name")
        self.banner = Panel(bg=RED, size_hint_y=None, height=0, padding=(20, 0))
        self.banner.add_widget(Text(ui_id="link_banner", font_size=24, bold=True, color=WHITE))
        body = BoxLayout(orientation="horizontal", padding=24, spacing=24)
        self.staff = Panel(orientation="vertical", bg=CARD, padding=20, spacing=10,
                           size_hint_x=0.3)  # fmt: skip
        self.main = Panel(orientation="vertical", bg=CARD, padding=24, spacing=12)
        clear_into(body, self.staff, self.main)
        clear_into(root, bar, self.banner, body)
        clear_into(self.main, Text(text="正在连接，请稍候…", ui_id="starting", font_size=30))
        on_change = lambda: Clock.schedule_once(lambda _dt: self.refresh(), 0)
        if self._link is not None:
            self._link.on_link(lambda: Clock.schedule_once(lambda _dt: self._show_link(), 0))
        self._show_link()
        self.start_model(lambda: self._build_model(on_change))
        Clock.schedule_interval(lambda _dt: self.refresh(), REFRESH_S)
        return root

    def refresh(self) -> None:
        self.poll(lambda m: m.view(), self.render)

    def model_ready(self, model: TerminalModel) -> None:
        self.refresh()

    def startup_failed(self, err: HallEdgeError) -> None:
        clear_into(
            self.main, Text(text=error_text(err), ui_id="startup_error", font_size=28, color=RED)
        )

    def stepped(self, screen: Screen) -> None:  # no taps: kept for FlowApp
        self.render(screen)

    def failed(self, err: HallEdgeError) -> None:
        self.startup_failed(err)

    def _show_link(self) -> None:
        label = self.banner.children[0]
        if self._link is None or self._link.connected:
            label.text, self.banner.height = "", 0
        else:
            label.text = error_text(self._link.problem or "hall_box_reconnecting")
            self.banner.height = LINK_BANNER_HEIGHT

    # --- rendering ------------------------------------------------------------------------

    def render(self, screen: Screen) -> None:
        d = screen.data
        self._hall.text = d["hall_name"]
        key = tuple((k, repr(v)) for k, v in sorted(d.items()) if k not in _TICKING)
        if key != self._shown:
            self._shown = key
            clear_into(self.staff, *_staff_card(d["staff"]))
            clear_into(self.main, *_STATES[d["state"]](d))
        # Only the clock moved: update the two ticking lines in place.
        elapsed = find(self.main, "elapsed")
        if elapsed is not None and d["elapsed_s"] is not None:
            elapsed.text = f"已办理 {_duration(d['elapsed_s'])}"
        detail = find(self.main, "state_detail")
        if detail is not None and d["state"] == "paused":
            detail.text = _paused_text(d)


def _staff_card(staff: dict[str, Any] | None) -> list[Widget]:
    """Photo placeholder, name, title, 工号; a plain card when nobody is signed in."""
    if staff is None:
        return [
            Text(text="暂无工作人员", ui_id="staff_name", font_size=28, color=MUTED),
            Widget(),
        ]
    name = staff["name"] or "工作人员"
    photo = Panel(bg=GREY, size_hint=(None, None), size=(200, 240), pos_hint={"center_x": 0.5})
    # No photos are stored on the terminal (privacy): the placeholder shows the surname.
    photo.add_widget(
        Text(text=name[0] if staff["name"] else "照片", ui_id="staff_photo",
             font_size=110 if staff["name"] else 40, bold=True, color=WHITE)
    )  # fmt: skip
    return [
        Text(text="当前服务人员", font_size=24, color=MUTED, size_hint_y=None, height=40),
        photo,
        Text(text=name, ui_id="staff_name", font_size=40, bold=True, size_hint_y=None,
             height=64),
        Text(text=staff["title"] or "", ui_id="staff_title", font_size=26, color=MUTED,
             size_hint_y=None, height=40),
        Text(text=f"工号 {staff['staff_id'] or '—'}", ui_id="staff_no", font_size=28,
             size_hint_y=None, height=44),
        Widget(),
    ]  # fmt: skip


def _big(text: str, colour: Any, ui_id: str = "state_text", size: int = 64) -> Text:
    return Text(text=text, ui_id=ui_id, font_size=size, bold=True, color=colour)


def _line(
    text: str, ui_id: str, size: int = 30, colour: Any = INK, height: int = 56,
    halign: str = "center",
) -> Text:
    return Text(text=text, ui_id=ui_id, font_size=size, color=colour, size_hint_y=None,
                height=height, halign=halign)  # fmt: skip


def _serving(d: dict[str, Any]) -> list[Widget]:
    ticket, guide = d["ticket"], d["guide"]
    top = BoxLayout(orientation="horizontal", size_hint_y=None, height=150, spacing=20)
    number = BoxLayout(orientation="vertical", size_hint_x=0.45)
    clear_into(
        number,
        _line("正在办理", "state_text", 26, MUTED, 40),
        Text(text=ticket["ticket_no"], ui_id="ticket_no", font_size=88, bold=True, color=BLUE),
    )
    facts = BoxLayout(orientation="vertical")
    clear_into(
        facts,
        Text(text=ticket["service_name"], ui_id="service_name", font_size=36, bold=True),
        Text(text=f"已办理 {_duration(d['elapsed_s'] or 0)}", ui_id="elapsed", font_size=34,
             color=GREEN),
    )  # fmt: skip
    clear_into(top, number, facts)
    widgets: list[Widget] = [
        top,
        _line(f"办事指南：{guide['title']}", "guide_title", 30, INK, 52, "left"),
    ]
    if guide["time_limit"]:
        widgets.append(
            _line(f"承诺时限：{guide['time_limit']}", "guide_time_limit", 24, MUTED, 38, "left")
        )
    if guide["summary"]:
        widgets.append(_line(guide["summary"], "guide_summary", 24, INK, 72, "left"))
    if guide["materials"]:
        widgets.append(_line("所需材料", "materials_title", 26, MUTED, 42, "left"))
        for i, m in enumerate(guide["materials"]):
            widgets.append(
                Text(text=f"{i + 1}. {m}", ui_id=f"material_{i}", font_size=24, halign="left",
                     size_hint_y=None, height=38)
            )  # fmt: skip
        if guide["more_materials"]:
            widgets.append(
                _line(f"等{guide['more_materials']}项，详见办事指南", "materials_more", 22,
                      MUTED, 34, "left")
            )
    widgets.append(Widget())
    return widgets


def _idle(d: dict[str, Any]) -> list[Widget]:
    return [Widget(), _big(TEXT["idle"], BLUE), Widget()]


def _closed(d: dict[str, Any]) -> list[Widget]:
    return [
        Widget(),
        _big(TEXT["closed"], GREY),
        _line(TEXT["closed_hint"], "state_detail", 30, MUTED, 60),
        Widget(),
    ]


def _paused(d: dict[str, Any]) -> list[Widget]:
    return [
        Widget(),
        _big(TEXT["paused"], AMBER, size=80),
        _line(_paused_text(d), "state_detail", 32, INK, 60),
        _line("请稍候，或前往其他窗口办理", "state_hint", 28, MUTED, 50),
        Widget(),
    ]


def _rating(d: dict[str, Any]) -> list[Widget]:
    r = d["rating"]
    return [
        Widget(),
        _line(f"{r['ticket_no']} 已办结", "rating_ticket", 32, MUTED, 56),
        _big(TEXT["rating"], BLUE),
        _line(TEXT["rating_hint"], "state_detail", 28, INK, 56),
        Widget(),
    ]


def _thanks(d: dict[str, Any]) -> list[Widget]:
    r = d["rating"]
    return [
        Widget(),
        _big(TEXT["thanks"], GREEN),
        _line(f"您的评价：{r['label']}", "state_detail", 32, INK, 60),
        Widget(),
    ]


_STATES: dict[str, Callable[[dict[str, Any]], list[Widget]]] = {
    "serving": _serving,
    "idle": _idle,
    "closed": _closed,
    "paused": _paused,
    "rating": _rating,
    "thanks": _thanks,
}


def _paused_text(d: dict[str, Any]) -> str:
    reason = d["pause_reason"] or ""
    since = _duration(d["paused_s"] or 0)
    return f"{reason} · 已暂停 {since}" if reason else f"已暂停 {since}"


def _duration(seconds: float) -> str:
    """``mm:ss`` under an hour, else ``h:mm:ss``: the citizen watches it tick."""
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60:02d}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"

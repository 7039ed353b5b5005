"""The citizen kiosk (自助取号机): renders :class:`flows.ticketing.TicketFlow` screens.

The window only draws the flow's current :class:`flows.screens.Screen` and forwards taps. The
flow talks to SQLite and the USB printer, so every step runs on the app's
:class:`kiosk.background.Background` thread and comes back through the Kivy clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from core.clock import hall_time
from core.errors import HallEdgeError
from core.strings_zh import error_text
from flows.screens import Screen
from kiosk.flow_app import FlowApp
from kiosk.widgets import (
    BLUE,
    GREY,
    MUTED,
    PAGE,
    RED,
    Panel,
    Text,
    TouchButton,
    clear_into,
    find,
    header,
)

if TYPE_CHECKING:
    from flows.ticketing import TicketFlow

#: Services listed in one column of big buttons; more go in two columns.
SINGLE_COLUMN_SERVICES = 4

#: How often the kiosk asks the flow whether it has been idle long enough to go home.
TICK_S = 1.0


class KioskApp(FlowApp["TicketFlow"]):
    """The citizen kiosk window.

    Args:
        build_flow: makes the ticket flow (opens the hall database and the printer); called
            on the worker thread, never on the Kivy thread.
        close_flow: releases what ``build_flow`` opened; called on the worker thread at exit.
        hall_name: shown in the header before the flow is ready.
    """

    title = "自助取号机"

    def __init__(
        self,
        build_flow: Callable[[], TicketFlow],
        close_flow: Callable[[TicketFlow], None] | None = None,
        hall_name: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__("kiosk-worker", close_flow, **kwargs)
        self._build_flow = build_flow
        self._hall_name = hall_name
        self.shown: Screen | None = None

    # --- Kivy ---------------------------------------------------------------------------

    def build(self) -> Widget:
        root = Panel(orientation="vertical", bg=PAGE)
        bar = header("自助取号", "header_title", right=_clock_text(), right_id="header_clock")
        self._clock_label = find(bar, "header_clock")
        self.body = BoxLayout(orientation="vertical", padding=(40, 16), spacing=12)
        self.status = Text(
            ui_id="status_line", size_hint_y=None, height=56, font_size=22, color=RED
        )
        clear_into(root, bar, self.body, self.status)
        clear_into(self.body, Text(text="正在启动，请稍候…", ui_id="starting", font_size=34))
        self.start_model(self._build_flow)
        Clock.schedule_interval(self._tick, TICK_S)
        return root

    # --- taps ---------------------------------------------------------------------------

    def tap_take(self, *_: Any) -> None:
        """取号 on the home screen: show the services."""
        self.step(lambda f: f.choose_service())

    def tap_service(self, code: str) -> None:
        """A service chosen: issue and print its ticket."""
        self.step(
            lambda f: f.take(code),
            before=lambda: clear_into(
                self.body, Text(text="正在出号，请稍候…", ui_id="busy", font_size=40)
            ),
        )

    def tap_home(self, *_: Any) -> None:
        """返回首页."""
        self.step(lambda f: f.home())

    # --- flow answers -------------------------------------------------------------------

    def stepped(self, screen: Screen) -> None:
        self.render(screen)

    def failed(self, err: HallEdgeError) -> None:
        self.status.text = error_text(err)
        if self.shown is not None:
            self.render(self.shown)

    def model_ready(self, model: TicketFlow) -> None:
        self.render(model.screen)

    def startup_failed(self, err: HallEdgeError) -> None:
        clear_into(
            self.body, Text(text=error_text(err), ui_id="startup_error", font_size=32, color=RED)
        )

    def _tick(self, _dt: float) -> None:
        self._clock_label.text = _clock_text()
        self.poll(lambda f: f.tick(), self._ticked)

    def _ticked(self, screen: Screen) -> None:
        if screen is not self.shown and not self.busy:
            self.render(screen)

    # --- rendering ----------------------------------------------------------------------

    def render(self, screen: Screen) -> None:
        """Draw one flow screen in the body of the window."""
        self.shown = screen
        self.status.text = ""
        draw = {"home": self._home, "choose_service": self._services, "ticket": self._ticket}
        clear_into(self.body, *draw[screen.name](screen))

    def _home(self, screen: Screen) -> list[Widget]:
        button = TouchButton(
            text="取号",
            ui_id="take_button",
            font_size=96,
            bold=True,
            size_hint=(None, None),
            size=(420, 260),
        )
        button.bind(on_release=self.tap_take)
        centre = AnchorLayout()
        centre.add_widget(button)
        return [
            Text(
                text=screen.data["hall_name"],
                ui_id="hall_name",
                font_size=44,
                bold=True,
                color=BLUE,
                size_hint_y=0.25,
            ),
            Text(text="欢迎使用自助取号", font_size=28, color=MUTED, size_hint_y=0.1),
            centre,
            Text(
                text="请点击“取号”，再选择您要办理的业务",
                ui_id="home_hint",
                font_size=24,
                color=MUTED,
                size_hint_y=0.15,
            ),
        ]

    def _services(self, screen: Screen) -> list[Widget]:
        widgets: list[Widget] = [
            Text(
                text="请选择业务",
                ui_id="screen_title",
                font_size=40,
                bold=True,
                size_hint_y=None,
                height=80,
            )
        ]
        widgets.append(self._service_buttons(screen.data["services"]))
        if screen.error_text:
            widgets.append(
                Text(
                    text=screen.error_text,
                    ui_id="error_line",
                    font_size=26,
                    color=RED,
                    size_hint_y=None,
                    height=60,
                )
            )
        widgets.append(self._home_button())
        return widgets

    def _service_buttons(self, services: list[dict[str, Any]]) -> Widget:
        """The service buttons, all on screen whatever the catalog holds.

        Up to four, one column of big buttons (what the elderly find easiest); more, two
        columns of slightly smaller ones, so a catalog refreshed from the collector with up
        to ten services still fits without scrolling. Beyond that the list scrolls rather
        than running off the bottom of the screen.
        """
        one_column = len(services) <= SINGLE_COLUMN_SERVICES
        grid = GridLayout(
            cols=1 if one_column else 2,
            spacing=16 if one_column else 12,
            padding=(0, 8),
            size_hint_y=None,
            row_default_height=140 if one_column else 100,
            row_force_default=True,
        )
        grid.bind(minimum_height=grid.setter("height"))
        for s in services:
            button = TouchButton(
                text=f"{s['name']}\n[size={26 if one_column else 24}]等候{s['waiting']}人[/size]",
                markup=True,
                ui_id=f"service_{s['code']}",
                font_size=40 if one_column else 32,
            )
            button.bind(on_release=lambda _b, code=s["code"]: self.tap_service(code))
            grid.add_widget(button)
        scroll = ScrollView(do_scroll_x=False, bar_width=12)
        scroll.add_widget(grid)
        return scroll

    def _ticket(self, screen: Screen) -> list[Widget]:
        d = screen.data
        widgets: list[Widget] = [
            Text(text="您的号码", font_size=32, color=MUTED, size_hint_y=None, height=50),
            Text(
                text=d["ticket_no"],
                ui_id="ticket_no",
                font_size=150,
                bold=True,
                color=BLUE,
                size_hint_y=None,
                height=200,
            ),
            Text(
                text=d["service_name"],
                ui_id="ticket_service",
                font_size=36,
                size_hint_y=None,
                height=60,
            ),
            Text(
                text=f"前面还有{d['people_ahead']}人",
                ui_id="people_ahead",
                font_size=34,
                size_hint_y=None,
                height=56,
            ),
            Text(
                text=_wait_text(d["est_wait_min"]),
                ui_id="est_wait",
                font_size=34,
                size_hint_y=None,
                height=56,
            ),
        ]
        if screen.error_text:
            widgets += [
                Text(
                    text=screen.error_text,
                    ui_id="error_line",
                    font_size=30,
                    color=RED,
                    bold=True,
                    size_hint_y=None,
                    height=56,
                ),
                Text(
                    text="号码已取得，请记住您的号码",
                    ui_id="remember_hint",
                    font_size=30,
                    color=RED,
                    size_hint_y=None,
                    height=56,
                ),
            ]
        else:
            widgets.append(
                Text(
                    text="请取走号票，留意叫号",
                    ui_id="take_ticket_hint",
                    font_size=28,
                    color=MUTED,
                    size_hint_y=None,
                    height=56,
                )
            )
        widgets += [Widget(), self._home_button()]
        return widgets

    def _home_button(self) -> Widget:
        button = TouchButton(
            text="返回首页",
            ui_id="home_button",
            font_size=32,
            fill=GREY,
            size_hint_y=None,
            height=96,
        )
        button.bind(on_release=self.tap_home)
        return button


def _wait_text(minutes: int) -> str:
    if minutes < 1:
        return "预计等候不到1分钟"
    return f"预计等候约{minutes}分钟"


def _clock_text() -> str:
    return hall_time(time.time()).strftime("%H:%M")

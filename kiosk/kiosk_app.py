"""The citizen kiosk (政务服务自助终端): a home screen of function tiles, and each function's screens.

The kiosk's step machine is :class:`flows.kiosk_functions.KioskHome`: it lists the functions
this kiosk offers (取号 first) and hosts the one a citizen is in. The window draws the home
screen itself; a function's screens are drawn by its module in :mod:`kiosk.functions`, found
through the function's registry row, so adding a function touches nothing here.

The window only draws the current :class:`flows.screens.Screen` and forwards taps. Flows talk
to SQLite and devices, so every step runs on the app's :class:`kiosk.background.Background`
thread and comes back through the Kivy clock.

A kiosk on its own machine reaches the queue through the hall box (``docs/hall-api.md``); while
the hall box cannot be reached the status line says so (与服务器连接中断，正在重连…) and a 取号 tap
is refused with the flow's own message; nothing is issued until the hall box answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.clock import hall_time
from core.errors import ConfigError, HallEdgeError
from core.strings_zh import error_text
from flows.kiosk_functions import KioskContext, KioskHome
from flows.screens import Screen
from kiosk import functions
from kiosk.flow_app import FlowApp
from kiosk.widgets import (
    BLUE,
    GREY,
    MUTED,
    PAGE,
    RED,
    TILE_COLOURS,
    Panel,
    Text,
    TouchButton,
    button_grid,
    clear_into,
    find,
    header,
)

if TYPE_CHECKING:
    from hallnet.client import HallLink

log = logging.getLogger(__name__)

#: How often the kiosk asks its home whether it has been idle long enough to go home.
TICK_S = 1.0

#: The header on the home screen; inside a function, the header shows the function's title.
HOME_TITLE = "政务服务自助终端"
FOOTER_HEIGHT = 104

#: How the home screen lays out N tiles, so that up to twelve fit a 720x960 kiosk without
#: scrolling: (up to N tiles, columns, row height, title and subtitle font sizes).
TILE_LAYOUTS: tuple[tuple[int | None, int, int, int, int], ...] = (
    (1, 1, 220, 64, 26),
    (3, 1, 170, 56, 24),
    (8, 2, 120, 40, 22),
    (None, 3, 110, 30, 18),
)


class KioskApp(FlowApp[KioskHome]):
    """The citizen kiosk window.

    Args:
        build_context: makes the kiosk's :class:`flows.kiosk_functions.KioskContext` (opens
            the hall database and the printer); called on the worker thread, never on the
            Kivy thread.
        close_context: releases what ``build_context`` opened, given what it returned;
            called on the worker thread at exit.
        hall_name: shown before the kiosk is ready.
        link: the connection to the hall box when the kiosk is a machine of its own (None
            on the hall box itself).
    """

    title = HOME_TITLE

    def __init__(
        self,
        build_context: Callable[[], KioskContext],
        close_context: Callable[[Any], None] | None = None,
        hall_name: str = "",
        link: HallLink | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("kiosk-worker", self._close_home, **kwargs)
        self._link = link
        self._build_context = build_context
        self._close_context = close_context
        self._launched: KioskContext | None = None
        self._hall_name = hall_name
        self.shown: Screen | None = None
        #: Each offered function's screens and the handle its screens step through, by id.
        self.screens: dict[str, functions.FunctionScreens] = {}
        self.function_ui: dict[str, functions.FunctionUi] = {}

    # --- Kivy ---------------------------------------------------------------------------

    def build(self) -> Widget:
        root = Panel(orientation="vertical", bg=PAGE)
        bar = header(HOME_TITLE, "header_title", right=_clock_text(), right_id="header_clock")
        self._title_label = find(bar, "header_title")
        self._clock_label = find(bar, "header_clock")
        self.body = BoxLayout(orientation="vertical", padding=(40, 16), spacing=12)
        # 返回首页 under every function screen; empty (and flat) on the home screen.
        self.footer = BoxLayout(
            orientation="vertical", padding=(40, 0, 40, 8), size_hint_y=None, height=0
        )
        self.status = Text(
            ui_id="status_line", size_hint_y=None, height=56, font_size=22, color=RED
        )
        clear_into(root, bar, self.body, self.footer, self.status)
        starting = "\n".join(t for t in (self._hall_name, "正在启动，请稍候…") if t)
        clear_into(self.body, Text(text=starting, ui_id="starting", font_size=34))
        self.start_model(self._build_home)
        Clock.schedule_interval(self._tick, TICK_S)
        return root

    # --- taps ---------------------------------------------------------------------------

    def tap_function(self, function_id: str) -> None:
        """A tile on the home screen: the function's first screen."""
        self.step(lambda home: home.open(function_id))

    def tap_home(self, *_: Any) -> None:
        """返回首页."""
        self.step(lambda home: home.home())

    def _function_step(
        self, function_id: str, action: Callable[[Any], Screen], busy: str | None
    ) -> None:
        """A tap on a function's screen (:meth:`kiosk.functions.FunctionUi.step`)."""
        before = None if busy is None else partial(self._busy, busy)
        self.step(lambda home: home.step(function_id, action), before=before)

    # --- the kiosk's home, on the worker -------------------------------------------------

    def _build_home(self) -> KioskHome:
        built = self._build_context()
        self._launched = built
        try:
            return KioskHome.for_context(built)
        except BaseException:
            self._launched = None
            if self._close_context is not None:
                self._close_context(built)
            raise

    def _close_home(self, _home: KioskHome) -> None:
        launched, self._launched = self._launched, None
        if launched is not None and self._close_context is not None:
            self._close_context(launched)

    # --- flow answers -------------------------------------------------------------------

    def stepped(self, screen: Screen) -> None:
        self.render(screen)

    def failed(self, err: HallEdgeError) -> None:
        self.status.text = error_text(err)
        if self.shown is not None:
            self.render(self.shown, keep_status=True)

    def model_ready(self, model: KioskHome) -> None:
        try:
            for f in model.functions:
                self.screens[f.id] = functions.load(f)
                self.function_ui[f.id] = functions.FunctionUi(
                    f, partial(self._function_step, f.id)
                )
        except ConfigError as err:
            log.error("error %d (%s): %s", err.code, err.key, err)
            # No taps, ticks or redraws into a kiosk that cannot draw its functions.
            self.model = None
            self.background.submit(partial(self._close_home, model))
            self.startup_failed(err)
            return
        self.render(model.screen)

    def startup_failed(self, err: HallEdgeError) -> None:
        clear_into(self.footer)
        self.footer.height = 0
        clear_into(
            self.body, Text(text=error_text(err), ui_id="startup_error", font_size=32, color=RED)
        )

    def _tick(self, _dt: float) -> None:
        self._clock_label.text = _clock_text()
        self._show_link()
        self.poll(lambda home: home.tick(), self._ticked)

    def _show_link(self) -> None:
        """The status line says when the hall box cannot be reached, and stops saying it."""
        if self._link is None:
            return
        away = error_text(self._link.problem or "hall_box_reconnecting")
        if not self._link.connected:
            self.status.text = away
        elif self.status.text in (away, error_text("hall_box_reconnecting")):
            self.status.text = ""

    def _ticked(self, screen: Screen) -> None:
        if screen is not self.shown and not self.busy:
            self.render(screen)

    # --- rendering ----------------------------------------------------------------------

    def render(self, screen: Screen, keep_status: bool = False) -> None:
        """Draw one screen: the home screen here, a function's through its screens module."""
        self.shown = screen
        if not keep_status:
            self.status.text = ""
        if screen.function is None:
            self._title_label.text = HOME_TITLE
            clear_into(self.body, *self._home(screen))
            clear_into(self.footer)
            self.footer.height = 0
            return
        self._title_label.text = self.function_ui[screen.function].function.title
        clear_into(self.body, *self._function_screen(screen))
        clear_into(self.footer, self._home_button())
        self.footer.height = FOOTER_HEIGHT

    def _home(self, screen: Screen) -> list[Widget]:
        tiles = screen.data["functions"]
        return [
            Text(
                text=screen.data["hall_name"],
                ui_id="hall_name",
                font_size=44,
                bold=True,
                color=BLUE,
                size_hint_y=None,
                height=90,
            ),
            Text(
                text="欢迎使用政务服务自助终端",
                ui_id="home_welcome",
                font_size=28,
                color=MUTED,
                size_hint_y=None,
                height=40,
            ),
            self._tiles(tiles),
            Text(
                text="请点击您要办理的事项",
                ui_id="home_hint",
                font_size=24,
                color=MUTED,
                size_hint_y=None,
                height=48,
            ),
        ]

    def _tiles(self, tiles: list[dict[str, Any]]) -> Widget:
        """A tile per function: its title big, its subtitle under it, in its colour."""
        columns, row_height, title_size, subtitle_size = _tile_layout(len(tiles))
        buttons: list[Widget] = []
        for t in tiles:
            function = self.function_ui[t["id"]].function
            button = TouchButton(
                text=f"[b]{t['title']}[/b]\n[size={subtitle_size}]{t['subtitle']}[/size]",
                markup=True,
                ui_id=functions.tile_ui_id(function, self.screens[t["id"]]),
                font_size=title_size,
                fill=TILE_COLOURS.get(t["colour"], BLUE),
            )
            button.bind(on_release=lambda _b, fid=t["id"]: self.tap_function(fid))
            buttons.append(button)
        return button_grid(buttons, columns, row_height)

    def _function_screen(self, screen: Screen) -> list[Widget]:
        assert screen.function is not None
        draw = self.screens[screen.function].draw.get(screen.name)
        if draw is None:
            # A flow returned a screen its module cannot draw: a bug, said in Chinese.
            log.error("kiosk function %s has no screen %r", screen.function, screen.name)
            return [Text(text=error_text("internal_error"), ui_id="error_line", color=RED)]
        return draw(screen, self.function_ui[screen.function])

    def _busy(self, text: str) -> None:
        clear_into(self.body, Text(text=text, ui_id="busy", font_size=40))

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


def _tile_layout(count: int) -> tuple[int, int, int, int]:
    """Columns, row height, title and subtitle sizes for ``count`` tiles (:data:`TILE_LAYOUTS`)."""
    for up_to, columns, row_height, title_size, subtitle_size in TILE_LAYOUTS:
        if up_to is None or count <= up_to:
            return columns, row_height, title_size, subtitle_size
    raise AssertionError("the last layout takes any count")


def _clock_text() -> str:
    return hall_time(time.time()).strftime("%H:%M")

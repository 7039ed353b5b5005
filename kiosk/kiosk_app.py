"""The citizen kiosk (政务服务自助终端): a home screen of function tiles, and each function's screens.

The kiosk's step machine is :class:`flows.kiosk_functions.KioskHome`: it lists the functions
this kiosk offers (取号 first) and hosts the one a citizen is in. The window draws the home
screen itself; a function's screens are drawn by its module in :mod:`kiosk.functions`, found
through the function's registry row, so adding a function touches nothing here.

The window only draws the current :class:`flows.screens.Screen` and forwards taps. Flows talk
to SQLite and devices, so every step runs on the app's :class:`kiosk.background.Background`
thread and comes back through the Kivy clock.

On every screen the window draws a bar under the header: 关爱模式 (care mode: larger type,
fewer choices at once, high contrast; :mod:`kiosk.care_mode`), 朗读 (the screen's labels read
aloud offline, :mod:`kiosk.speech`) and 远程帮办 (journals where the citizen is stuck and shows
"请稍候" with 取消). The 服务评价 screens any function hands the citizen to are drawn here too
(:mod:`kiosk.functions.rating`), whatever the function.

A kiosk on its own machine reaches the queue through the hall box (``docs/hall-api.md``); while
the hall box cannot be reached the status line says so (与服务器连接中断，正在重连…) and a 取号 tap
is refused with the flow's own message; nothing is issued until the hall box answers again.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from core.clock import hall_time
from core.errors import ConfigError, HallEdgeError
from core.strings_zh import error_text
from flows.kiosk_functions import HELP, HOME, KioskContext, KioskHome
from flows.pinyin_input import warm_up
from flows.screens import Screen
from kiosk import functions
from kiosk.background import Background
from kiosk.care_mode import restyle
from kiosk.flow_app import FlowApp
from kiosk.functions.rating import KIOSK_WIDE
from kiosk.session_purge import (
    WorkerPurge,
    freeze_startup_objects,
    purge_window,
    wipe_keyboards,
)
from kiosk.speech import Speaker, speech_text
from kiosk.widgets import (
    AMBER,
    BLUE,
    GREEN,
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
#: The bar at the bottom of every screen: 返回首页 (inside a function), 关爱模式, 朗读, 远程帮办.
#: One row, so that the body keeps its room (twelve tiles, nine services in two columns).
FOOTER_HEIGHT = 96
STATUS_HEIGHT = 48
#: Where 朗读 writes its speech (``speech.wav`` and the text it says, ``speech.txt``).
SPEECH_DIR = Path(tempfile.gettempdir()) / "hall-edge-speech"

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
        self._startup_frozen = False
        #: Each offered function's screens and the handle its screens step through, by id.
        self.screens: dict[str, functions.FunctionScreens] = {}
        self.function_ui: dict[str, functions.FunctionUi] = {}
        #: Whether the screen on show was drawn in care mode.
        self.drawn_care = False
        self.speaker = Speaker(SPEECH_DIR)
        # Speech has a thread of its own: a citizen may tap on while a screen is synthesised.
        self._speech = Background("kiosk-speech")

    # --- Kivy ---------------------------------------------------------------------------

    def build(self) -> Widget:
        root = Panel(orientation="vertical", bg=PAGE)
        bar = header(HOME_TITLE, "header_title", right=_clock_text(), right_id="header_clock")
        self._title_label = find(bar, "header_title")
        self._clock_label = find(bar, "header_clock")
        self._clock_label.read_aloud = False
        self.tools = self._tools()
        self.body = BoxLayout(orientation="vertical", padding=(40, 16), spacing=12)
        # The bar: 返回首页 inside a function, and the kiosk-wide tools on every screen.
        self.footer = BoxLayout(
            spacing=12, padding=(40, 0, 40, 8), size_hint_y=None, height=FOOTER_HEIGHT
        )
        self.status = Text(
            ui_id="status_line", size_hint_y=None, height=STATUS_HEIGHT, font_size=22, color=RED
        )
        for chrome in (bar, self.footer, self.status):
            chrome.care_keep_height = True  # care mode grows the body's text, not the bars
        clear_into(root, bar, self.body, self.footer, self.status)
        clear_into(self.footer, *self.tools)
        starting = "\n".join(t for t in (self._hall_name, "正在启动，请稍候…") if t)
        clear_into(self.body, Text(text=starting, ui_id="starting", font_size=34))
        self.start_model(self._build_home)
        # A key typed on the on-screen keyboard is no step, but the citizen is there.
        from kivy.core.window import Window  # the window exists once the app runs

        self._touched = False
        Window.bind(on_touch_down=self._on_any_touch)
        Clock.schedule_interval(self._tick, TICK_S)
        warm_up()  # the pinyin dictionary, for the first keyboard a citizen opens
        return root

    def on_stop(self) -> None:
        self.speaker.stop()
        self._speech.stop()
        super().on_stop()

    def _tools(self) -> list[TouchButton]:
        """关爱模式, 朗读, 远程帮办: on every screen, whatever the function."""
        tools = []
        for text, ui_id, fill, tap in (
            ("关爱模式", "care_button", AMBER, self.tap_care),
            ("朗读", "read_aloud_button", BLUE, self.tap_read_aloud),
            ("远程帮办", "help_button", GREEN, self.tap_help),
        ):
            button = TouchButton(text=text, ui_id=ui_id, font_size=26, fill=fill)
            button.bind(on_release=tap)
            button.read_aloud = False  # the same on every screen: not read each time
            button.care_keep_font = True  # four characters must fit its width in care mode
            tools.append(button)
        self._care_button = tools[0]
        return tools

    # --- taps ---------------------------------------------------------------------------

    def tap_function(self, function_id: str) -> None:
        """A tile on the home screen: the function's first screen."""
        self.step(lambda home: home.open(function_id))

    def tap_home(self, *_: Any) -> None:
        """返回首页."""
        self.step(lambda home: home.home())

    def tap_care(self, *_: Any) -> None:
        """关爱模式: on or off, on this screen and the ones after it."""
        self.step(lambda home: home.toggle_care())

    def tap_help(self, *_: Any) -> None:
        """远程帮办: journal the request; "请稍候" with 取消."""
        self.step(lambda home: home.request_help())

    def tap_cancel_help(self, *_: Any) -> None:
        """取消 while waiting for 远程帮办."""
        self.step(lambda home: home.cancel_help())

    def tap_read_aloud(self, *_: Any) -> None:
        """朗读: the screen's labels, top to bottom, spoken offline."""
        text = speech_text(self.screen_texts())
        care = self.drawn_care
        self._speech.submit(
            lambda: self.speaker.synthesize(text, care=care), self._play, self.failed_speech
        )

    def failed_speech(self, err: HallEdgeError) -> None:
        self.status.text = error_text(err)

    def _play(self, wav: Path) -> None:
        if self.speaker.play_with_command(wav):
            return
        from kivy.core.audio import SoundLoader

        try:  # no command-line player: Kivy's own audio, if it has an output
            sound = SoundLoader.load(str(wav))
            if sound is not None:
                sound.play()
        except Exception:  # noqa: BLE001 - a kiosk without sound still shows its screen
            log.warning("cannot play %s: no audio output", wav)

    def screen_texts(self) -> list[str]:
        """What the citizen can read now, top to bottom, left to right: the header's title,
        the body, 返回首页 (the bar's own buttons and keyboard keys are not read)."""
        from kivy.core.window import Window  # the window exists once the app runs

        labels = [
            w for w in _readable(self.root)
            if isinstance(w, Label) and w.text and w.get_root_window() is not None
        ]

        def place(w: Widget) -> tuple[float, float]:
            x, y = w.to_window(w.x, w.top)
            return (-round(y / 8), x)  # a row is labels within 8 px of one top

        labels = [w for w in labels if 0 <= w.to_window(*w.center)[1] <= Window.height]
        return [w.text for w in sorted(labels, key=place)]

    def _function_step(
        self, function_id: str, action: Callable[[Any], Screen], busy: str | None
    ) -> None:
        """A tap on a function's screen (:meth:`kiosk.functions.FunctionUi.step`)."""
        before = None if busy is None else partial(self._busy, busy)
        self.step(lambda home: home.step(function_id, action), before=before)

    def _rating_step(
        self, function_id: str, action: Callable[[Any], Screen], busy: str | None
    ) -> None:
        """A tap on a 服务评价 screen (:meth:`kiosk.functions.FunctionUi.rate`)."""
        before = None if busy is None else partial(self._busy, busy)
        self.step(lambda home: home.rate(function_id, action), before=before)

    # --- the kiosk's home, on the worker -------------------------------------------------

    def _build_home(self) -> KioskHome:
        built = self._build_context()
        self._launched = built
        try:
            home = KioskHome.for_context(built)
            WorkerPurge(home).install()  # the citizen's data goes when the visit ends
            return home
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
                    f,
                    partial(self._function_step, f.id),
                    care=lambda: self.drawn_care,
                    run_rating=partial(self._rating_step, f.id),
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

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        self._touched = True
        return False  # the widgets still get the touch

    def _tick(self, _dt: float) -> None:
        self._clock_label.text = _clock_text()
        self._show_link()
        touched, self._touched = self._touched, False
        self.poll(lambda home: home.tick(touched), self._ticked)

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
        care_changed = self.model is not None and self.model.care != self.drawn_care
        if (screen is not self.shown or care_changed) and not self.busy:
            self.render(screen)

    # --- rendering ----------------------------------------------------------------------

    def render(self, screen: Screen, keep_status: bool = False) -> None:
        """Draw one screen: the home screen here, a function's through its screens module."""
        # Home after a citizen's screen: their visit is over (返回首页 or the idle timeout).
        visit_over = screen.name == HOME and self.shown is not None and self.shown.name != HOME
        if visit_over:
            wipe_keyboards(self.body)
        self.shown = screen
        self.drawn_care = bool(self.model is not None and self.model.care)
        if not keep_status:
            self.status.text = ""
        if screen.name == HELP:
            clear_into(self.body, *self._help(screen))
            clear_into(self.footer, *self.tools)
        elif screen.function is None:
            self._title_label.text = HOME_TITLE
            clear_into(self.body, *self._home(screen))
            clear_into(self.footer, *self.tools)
        else:
            self._title_label.text = self.function_ui[screen.function].function.title
            clear_into(self.body, *self._function_screen(screen))
            clear_into(self.footer, self._home_button(), *self.tools)
        self._care_button.text = "退出关爱" if self.drawn_care else "关爱模式"
        restyle(self.root, self.drawn_care)
        if visit_over:
            self._speech.submit(self.speaker.forget)
            # A frame later, once nothing of the old screen is referenced from the window.
            Clock.schedule_once(lambda _dt: purge_window(), 0)
        elif screen.name == HOME and not self._startup_frozen:
            self._startup_frozen = True
            Clock.schedule_once(lambda _dt: freeze_startup_objects(), 0)

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
        draw = KIOSK_WIDE.get(screen.name) or self.screens[screen.function].draw.get(screen.name)
        if draw is None:
            # A flow returned a screen its module cannot draw: a bug, said in Chinese.
            log.error("kiosk function %s has no screen %r", screen.function, screen.name)
            return [Text(text=error_text("internal_error"), ui_id="error_line", color=RED)]
        return draw(screen, self.function_ui[screen.function])

    def _busy(self, text: str) -> None:
        clear_into(self.body, Text(text=text, ui_id="busy", font_size=40))
        restyle(self.body, self.drawn_care)

    def _help(self, screen: Screen) -> list[Widget]:
        """远程帮办 called: wait, or cancel. (The call itself is another module's.)"""
        cancel = TouchButton(text="取消", ui_id="help_cancel", font_size=36, fill=GREY,
                             size_hint_y=None, height=96)
        cancel.bind(on_release=self.tap_cancel_help)
        return [
            Widget(),
            Text(text="已呼叫远程帮办，请稍候", ui_id="help_waiting", font_size=44, bold=True,
                 color=BLUE, size_hint_y=None, height=90),
            Text(text="工作人员将通过屏幕为您提供帮助", ui_id="help_hint", font_size=28,
                 color=MUTED, size_hint_y=None, height=56),
            Widget(),
            cancel,
        ]

    def _home_button(self) -> Widget:
        button = TouchButton(
            text="返回首页",
            ui_id="home_button",
            font_size=30,
            fill=GREY,
            size_hint_x=1.5,
        )
        button.bind(on_release=self.tap_home)
        return button


def _tile_layout(count: int) -> tuple[int, int, int, int]:
    """Columns, row height, title and subtitle sizes for ``count`` tiles (:data:`TILE_LAYOUTS`)."""
    for up_to, columns, row_height, title_size, subtitle_size in TILE_LAYOUTS:
        if up_to is None or count <= up_to:
            return columns, row_height, title_size, subtitle_size
    raise AssertionError("the last layout takes any count")


def _readable(root: Widget) -> Iterator[Widget]:
    """Every widget under ``root`` but those marked ``read_aloud = False`` and what they
    hold (the bar's buttons, a keyboard's keys)."""
    if getattr(root, "read_aloud", True) is False:
        return
    yield root
    for child in root.children:
        yield from _readable(child)


def _clock_text() -> str:
    return hall_time(time.time()).strftime("%H:%M")

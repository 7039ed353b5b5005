"""The plumbing every window that renders a UI-free flow shares (the kiosk, the PAD).

The flow object (the kiosk's :class:`flows.kiosk_functions.KioskHome`, the PAD's
:class:`flows.window_desk.WindowDesk`) talks to SQLite and devices, so it is built, stepped,
polled and closed on the app's :class:`kiosk.background.Background` worker; only its
:class:`flows.screens.Screen` answers come back to the Kivy thread. One step at a time: a
second tap while the first is still printing or calling does nothing.

A tap always shows that it was taken: a step drawn with its own busy text (正在出号，请稍候…)
shows it at once, and any other step a tap started that has not answered after
:data:`SLOW_STEP_S` shows 正在加载… on a card over the screen until it does (a tile whose
first screen asks the platform, a server that is slow today). A step that answers sooner is
drawn without it: a word flashed for a few milliseconds would only flicker. Steps a screen
runs by itself (a capture screen watching the desk, a QR code screen waiting for the phone)
show nothing: the screen says what it waits for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.uix.anchorlayout import AnchorLayout

from core.errors import HallEdgeError
from flows.screens import Screen
from kiosk.background import Background
from kiosk.widgets import CARD, INK, Panel, Text

Model = TypeVar("Model")

#: How long a step without a busy text of its own may run before 正在加载… covers the screen:
#: under the 0.1 s a tap can take and still feel instant, with a frame to spare.
SLOW_STEP_S = 0.05
SLOW_STEP_TEXT = "正在加载…"


class FlowApp(App, Generic[Model]):
    """A Kivy app driving one flow object on a worker thread.

    Args:
        worker_name: the worker thread's name.
        close_model: releases what building the model opened; runs on the worker at exit.

    Attributes:
        model: the flow object, once built (None before, or if building failed).
        busy: a step is running; taps and polls wait for it.
        exit_code: the process's exit status once the window has closed: 75 after the
            collector's ``restart_app`` (:mod:`kiosk.app_remote`), else 0.
    """

    exit_code = 0

    def __init__(
        self,
        worker_name: str,
        close_model: Callable[[Model], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._close_model = close_model
        self.model: Model | None = None
        self.busy = False
        self.background = Background(worker_name)
        self._slow_step = Clock.create_trigger(self._show_loading, SLOW_STEP_S)
        self._loading: LoadingCover | None = None
        #: The frame of the last touch: a step asked for in that frame was a tap's.
        self._touch_frame = -1

    def start_model(self, build: Callable[[], Model]) -> None:
        """Build the model on the worker; then :meth:`model_ready` or :meth:`startup_failed`."""
        self.background.submit(build, self._built, self.startup_failed)

    def on_stop(self) -> None:
        model, close = self.model, self._close_model
        if model is not None and close is not None:
            self.background.submit(lambda: close(model))
        self.background.stop()

    def step(self, action: Callable[[Model], Screen], before: Callable[[], None] | None = None) -> None:
        """Run one tap's action on the worker; :meth:`stepped` or :meth:`failed` with its answer.

        Args:
            action: what the tap does to the model.
            before: drawn at once on the Kivy thread, e.g. "正在出号，请稍候…".
        """
        model = self.model
        if model is None or self.busy:
            return
        self.busy = True
        if before is not None:
            before()
        elif Clock.frames == self._touch_frame:
            self._slow_step()
        self.background.submit(lambda: action(model), self._stepped, self._failed)

    def poll(self, read: Callable[[Model], Screen], done: Callable[[Screen], None]) -> None:
        """Ask the model for its screen when nothing else is running (a redraw by time)."""
        model = self.model
        if model is None or self.busy or not self.background.idle():
            return
        self.background.submit(lambda: read(model), done)

    # --- what a subclass draws ---------------------------------------------------------

    def model_ready(self, model: Model) -> None:
        """The model is built; draw its first screen."""
        raise NotImplementedError

    def startup_failed(self, err: HallEdgeError) -> None:
        """Building the model failed; say why in place of the screen."""
        raise NotImplementedError

    def stepped(self, screen: Screen) -> None:
        """A step answered with this screen."""
        raise NotImplementedError

    def failed(self, err: HallEdgeError) -> None:
        """A step raised; say why, keep the screen."""
        raise NotImplementedError

    # --- worker answers ----------------------------------------------------------------

    def _built(self, model: Model) -> None:
        from kivy.core.window import Window  # the window exists once the app runs

        self.model = model
        Window.fbind("on_touch_down", self._note_touch)
        Window.fbind("on_touch_up", self._note_touch)
        self.model_ready(model)

    def _stepped(self, screen: Screen) -> None:
        self._answered()
        self.stepped(screen)

    def _failed(self, err: HallEdgeError) -> None:
        self._answered()
        self.failed(err)

    def _note_touch(self, *_: Any) -> bool:
        self._touch_frame = Clock.frames
        return False  # the widgets still get the touch

    def _answered(self) -> None:
        self.busy = False
        self._slow_step.cancel()
        if self._loading is not None and self._loading.parent is not None:
            self._loading.parent.remove_widget(self._loading)

    def _show_loading(self, _dt: float) -> None:
        from kivy.core.window import Window  # the window exists once the app runs

        if not self.busy:
            return
        if self._loading is None:
            self._loading = LoadingCover()
        if self._loading.parent is None:
            Window.add_widget(self._loading)


class LoadingCover(AnchorLayout):
    """正在加载… on a card over the whole window, the screen under it dimmed. It takes every
    touch while it is up: the step in progress is the one the citizen asked for, and a tap
    meanwhile would do nothing."""

    def __init__(self) -> None:
        super().__init__(anchor_x="center", anchor_y="center")
        with self.canvas.before:
            Color(1, 1, 1, 0.6)
            self._scrim = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._fit, size=self._fit)
        card = Panel(bg=CARD, size_hint=(None, None), size=(420, 140), padding=(24, 0))
        card.add_widget(Text(text=SLOW_STEP_TEXT, ui_id="loading", font_size=40, color=INK))
        self.add_widget(card)

    def _fit(self, *_: Any) -> None:
        self._scrim.pos, self._scrim.size = self.pos, self.size

    def on_touch_down(self, touch: Any) -> bool:
        return True

    def on_touch_move(self, touch: Any) -> bool:
        return True

    def on_touch_up(self, touch: Any) -> bool:
        return True

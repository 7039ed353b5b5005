"""The plumbing every window that renders a UI-free flow shares (the kiosk, the PAD).

The flow object (the kiosk's :class:`flows.kiosk_functions.KioskHome`, the PAD's
:class:`flows.window_desk.WindowDesk`) talks to SQLite and devices, so it is built, stepped,
polled and closed on the app's :class:`kiosk.background.Background` worker; only its
:class:`flows.screens.Screen` answers come back to the Kivy thread. One step at a time: a
second tap while the first is still printing or calling does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from kivy.app import App

from core.errors import HallEdgeError
from flows.screens import Screen
from kiosk.background import Background

Model = TypeVar("Model")


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
        self.model = model
        self.model_ready(model)

    def _stepped(self, screen: Screen) -> None:
        self.busy = False
        self.stepped(screen)

    def _failed(self, err: HallEdgeError) -> None:
        self.busy = False
        self.failed(err)

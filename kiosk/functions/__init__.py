"""The screens of the kiosk functions: one module per function, named after its id.

``kiosk/functions/ticket.py`` draws 取号. The function itself (its id, tile text and flow
factory) is a row of :mod:`flows.kiosk_functions`, which names its screens module; the kiosk
imports the module when it starts and finds its screens in ``SCREENS``::

    SCREENS = FunctionScreens({"choose_service": services, "ticket": ticket})

A draw function takes the :class:`flows.screens.Screen` the flow returned and the function's
:class:`FunctionUi`, and returns the widgets of the kiosk's body, top to bottom. It reads the
screen's data, binds taps to :meth:`FunctionUi.step` and keeps no state but what a :class:`Kept`
holds. The kiosk window owns the rest: the header (which shows the function's title), the
关爱模式 / 朗读 / 远程帮办 bar and the 返回首页 button on every screen, the status line, the idle
timeout, and the 服务评价 screens a function hands the citizen to (:mod:`kiosk.functions.rating`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.errors import ConfigError

if TYPE_CHECKING:
    from kivy.uix.widget import Widget

    from flows.kiosk_functions import KioskFunction
    from flows.screens import Screen

#: Draws one screen: ``(screen, ui) -> widgets``.
Draw = Callable[["Screen", "FunctionUi"], "list[Widget]"]
#: Runs one step of a function's flow on the kiosk's worker: ``(action, busy_text)``.
RunStep = Callable[[Callable[[Any], "Screen"], "str | None"], None]

T = TypeVar("T")


@dataclass(frozen=True)
class FunctionScreens:
    """What a function's screens module offers the kiosk, as its ``SCREENS``.

    Attributes:
        draw: the draw function for each screen name the function's flow returns.
        tile_ui_id: the ``ui_id`` of the function's home tile; None gives
            ``function_<id>``. (取号 keeps ``take_button``, the name tests and technicians
            knew before the home screen had tiles.)
    """

    draw: Mapping[str, Draw]
    tile_ui_id: str | None = None


class FunctionUi:
    """What a function's screens may ask of the kiosk window, for one function.

    Args:
        function: the function's registry row.
        run: runs a step on the kiosk's worker (:meth:`kiosk.kiosk_app.KioskApp`'s).
        care: whether 关爱模式 is on now (the window's answer, read at each draw).
        run_rating: runs a step of the 服务评价 the citizen is in
            (:meth:`flows.kiosk_functions.KioskHome.rate`).
    """

    def __init__(
        self,
        function: KioskFunction,
        run: RunStep,
        care: Callable[[], bool] = lambda: False,
        run_rating: RunStep | None = None,
    ) -> None:
        self.function = function
        self._run = run
        self._care = care
        self._run_rating = run_rating

    @property
    def care(self) -> bool:
        """关爱模式 is on: the window already draws larger text, deeper colours and fewer
        columns; a screen may also show fewer items or give more time."""
        return self._care()

    def rate(self, action: Callable[[Any], Screen], busy: str | None = None) -> None:
        """Run a step of the 服务评价 shown (the kiosk-wide rating screens use it), e.g.
        ``lambda rating: rating.choose(5)``; like :meth:`step` otherwise."""
        if self._run_rating is not None:
            self._run_rating(action, busy)

    def step(self, action: Callable[[Any], Screen], busy: str | None = None) -> None:
        """Run one of the function's flow steps, e.g. ``lambda flow: flow.take(code)``.

        It runs on the kiosk's worker thread (it may print, read a card, query a server);
        the screen it returns is drawn when it comes back. A tap while a step runs does
        nothing, and so does a tap that arrives after the kiosk went home.

        Args:
            action: called with the function's flow; returns the next screen.
            busy: drawn at once in place of the screen while the step runs, for a step a
                citizen waits on (``正在出号，请稍候…``).
        """
        self._run(action, busy)


class Kept(Generic[T]):
    """What a function's screens build once for each window and reuse on its later screens:
    for screens that cost a frame or more to build, on a tap a citizen waits on. Held for the
    window's life, as the window holds its :class:`FunctionUi`."""

    def __init__(self) -> None:
        self._kept: dict[FunctionUi, tuple[object, T]] = {}

    def get(self, ui: FunctionUi, build: Callable[[], T], key: object = None) -> T:
        """What was built for ``ui``; ``build()`` builds it the first time, and again when
        ``key`` (what it was built from) is no longer the same."""
        kept = self._kept.get(ui)
        if kept is None or kept[0] != key:
            kept = self._kept[ui] = (key, build())
        return kept[1]


def load(function: KioskFunction) -> FunctionScreens:
    """Import a function's screens module and return its ``SCREENS``.

    Raises:
        ConfigError (100): the module cannot be imported or has no ``SCREENS``; the message
            names the function and the module, and the import error is chained.
    """
    try:
        module = importlib.import_module(function.screens)
    except ImportError as err:
        raise ConfigError(
            f"kiosk function {function.id!r}: cannot import its screens {function.screens}: {err}",
            function=function.id,
        ) from err
    screens = getattr(module, "SCREENS", None)
    if not isinstance(screens, FunctionScreens):
        raise ConfigError(
            f"kiosk function {function.id!r}: {function.screens} has no SCREENS",
            function=function.id,
        )
    return screens


def tile_ui_id(function: KioskFunction, screens: FunctionScreens) -> str:
    """The ``ui_id`` of a function's home tile."""
    return screens.tile_ui_id or f"function_{function.id}"

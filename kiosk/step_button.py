"""The button a kiosk function's screens are made of: tapped, it runs one step of the flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.widgets import TouchButton

if TYPE_CHECKING:
    from flows.screens import Screen
    from kiosk.functions import FunctionUi


def step_button(
    text: str,
    ui_id: str,
    ui: FunctionUi,
    action: Callable[[Any], Screen],
    busy: str | None = None,
    **look: Any,
) -> TouchButton:
    """A :class:`TouchButton` that runs ``action`` through :meth:`FunctionUi.step` when tapped.

    Args:
        busy: shown while the step runs (:meth:`FunctionUi.step`).
        look: the button's Kivy properties (``font_size``, ``height`` …); each function's
            screens keep one look, e.g. ``partial(step_button, font_size=32, height=96, …)``.
    """
    button = TouchButton(text=text, ui_id=ui_id, **look)
    button.bind(on_release=lambda _b: ui.step(action, busy=busy))
    return button

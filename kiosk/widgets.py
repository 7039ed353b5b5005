"""The few widgets every Hall Edge window is built from, with the hall's colours.

Each widget has a ``ui_id``: a stable name the UI tests find it by (``take_button``,
``ticket_no`` …). Kivy's kv ``id`` is local to one rule, so it cannot serve here.
"""

from __future__ import annotations

from typing import Any

from kivy.lang import Builder
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput

#: Government-hall palette: deep blue header, light page, strong colours only for states.
BLUE = (0.11, 0.31, 0.54, 1)
PAGE = (0.95, 0.96, 0.98, 1)
INK = (0.12, 0.14, 0.18, 1)
MUTED = (0.38, 0.42, 0.48, 1)
WHITE = (1, 1, 1, 1)
RED = (0.80, 0.12, 0.12, 1)
AMBER = (0.93, 0.64, 0.05, 1)
GREEN = (0.13, 0.55, 0.30, 1)
VALLEY = (0.16, 0.50, 0.72, 1)
CARD = (1, 1, 1, 1)
GREY = (0.62, 0.65, 0.70, 1)

Builder.load_string(
    """
<Panel>:
    canvas.before:
        Color:
            rgba: self.bg
        Rectangle:
            pos: self.pos
            size: self.size

<Text>:
    text_size: self.width, None
    halign: "center"
    valign: "middle"
    color: 0.12, 0.14, 0.18, 1

<TouchButton>:
    background_normal: ""
    background_down: ""
    background_disabled_normal: ""
    background_color: self.fill if not self.disabled else (0.62, 0.65, 0.70, 1)
    color: 1, 1, 1, 1
    halign: "center"
    valign: "middle"
    text_size: self.width - dp(16), None
"""
)


class Panel(BoxLayout):
    """A box with a plain background colour."""

    ui_id = StringProperty("")
    bg = ColorProperty(PAGE)


class Text(Label):
    """A label that wraps to its width and keeps its ``ui_id``."""

    ui_id = StringProperty("")


class TouchButton(Button):
    """A large touch target (at least 80 px high in every window)."""

    ui_id = StringProperty("")
    fill = ColorProperty(BLUE)


class Field(TextInput):
    """A one-line text field."""

    ui_id = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("multiline", False)
        kwargs.setdefault("write_tab", False)
        super().__init__(**kwargs)


def clear_into(box: BoxLayout, *widgets: Any) -> None:
    """Replace a box's children with ``widgets``, in order."""
    box.clear_widgets()
    for w in widgets:
        box.add_widget(w)


def header(title: str, ui_id: str, right: str = "", right_id: str = "") -> Panel:
    """The blue bar at the top of a window: a title left, a status right."""
    bar = Panel(orientation="horizontal", bg=BLUE, size_hint_y=None, height=72, padding=(20, 0))
    bar.add_widget(
        Text(text=title, ui_id=ui_id, color=WHITE, font_size=30, bold=True, halign="left")
    )
    if right or right_id:
        bar.add_widget(
            Text(
                text=right,
                ui_id=right_id,
                color=WHITE,
                font_size=22,
                halign="right",
                size_hint_x=0.6,
            )
        )
    return bar


def find(root: Any, ui_id: str) -> Any:
    """The widget under ``root`` (itself included) with this ``ui_id``, or None."""
    for w in root.walk(restrict=True):
        if getattr(w, "ui_id", None) == ui_id:
            return w
    return None

"""The screens of a citizen's form (:mod:`flows.form_fields`), for every function whose flow fills
one: a field's own screen (``edit_text`` with the on-screen keyboard, ``edit_choice`` with a
button per option) and the overview's rows. Include them in a function's ``SCREENS``::

    SCREENS = FunctionScreens({**FORM_SCREENS, "form": form, ...})

The flow offers ``edit(key)``, ``set_field(key, text)`` and ``show_form()``. ``ui_id``s are
``form_*``, the same in every function.
"""

from __future__ import annotations

from typing import Any

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import Draw, FunctionUi
from kiosk.keyboard import KeyboardField
from kiosk.widgets import MUTED, RED, Text, TouchButton, button_grid


def text_entry(ui_id: str, layouts: list[str], hint: str, max_length: int, text: str) -> Any:
    """The text field of a form, with its own on-screen keyboard (:mod:`kiosk.keyboard`).

    The one place a form's text is entered: a kiosk with a hardware keyboard, or another input
    method, changes this function only. The widget has a ``text`` the 确定 button reads.
    """
    field = KeyboardField(layouts=tuple(layouts), ui_id=ui_id, hint=hint, max_length=max_length)
    field.text = text
    return field


def edit_text(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """One field: its label, the field with its keyboard, 确定 and 返回."""
    d = screen.data
    field = text_entry("form_field", d["layouts"], d["hint"], d["max_length"], d["value"])
    ok = TouchButton(text="确定", ui_id="form_ok", font_size=32, size_hint_y=None, height=90)
    ok.bind(on_release=lambda _b: ui.step(lambda f: f.set_field(d["key"], field.text)))
    return [title(d["label"]), field, *error_line(screen), Widget(), ok, back_button(ui)]


def edit_choice(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """One field answered by a tap: a button per option."""
    d = screen.data
    buttons: list[Widget] = []
    for n, option in enumerate(d["options"]):
        button = TouchButton(text=option, ui_id=f"form_option_{n}", font_size=32)
        button.bind(on_release=lambda _b, o=option: ui.step(lambda f: f.set_field(d["key"], o)))
        buttons.append(button)
    return [title(d["label"]), button_grid(buttons, 1 if len(buttons) <= 4 else 2, 96),
            *error_line(screen), back_button(ui)]  # fmt: skip


def field_rows(screen: Screen, ui: FunctionUi) -> Widget:
    """The overview's rows: ``label：value`` (or 请填写), each a tap to edit it."""
    buttons: list[Widget] = []
    for row in screen.data["fields"]:
        value = row["value"] or "[color=#ffd27a]请填写[/color]"
        button = TouchButton(text=f"{row['label']}：{value}", markup=True,
                             ui_id=f"form_row_{row['key']}", font_size=28)  # fmt: skip
        button.bind(on_release=lambda _b, k=row["key"]: ui.step(lambda f: f.edit(k)))
        buttons.append(button)
    return button_grid(buttons, 1, 80)


def title(text: str) -> Text:
    return _grows(Text(text=text, ui_id="screen_title", font_size=38, bold=True, size_hint_y=None,
                       height=76))  # fmt: skip


def note(text: str, ui_id: str, height: int = 56) -> Text:
    return _grows(Text(text=text, ui_id=ui_id, font_size=28, color=MUTED, size_hint_y=None,
                       height=height))  # fmt: skip


def _grows(label: Text) -> Text:
    """A label at least its given height, taller when its text wraps: a form's or an item's
    name can run to two lines on a 720 px kiosk (请核对城乡居民基本养老保险参保登记表), and at a
    fixed height the second line was drawn over the header and the line below."""
    least, font = label.height, label.font_size

    def fit(_label: Text, size: tuple[float, float]) -> None:
        # The least height grows with the type, as 关爱模式 enlarges both (kiosk/care_mode.py).
        label.height = max(least * label.font_size / font, size[1] + 12)

    label.bind(texture_size=fit)
    return label


def error_line(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [Text(text=screen.error_text, ui_id="error_line", font_size=28, color=RED, bold=True,
                 size_hint_y=None, height=80)]  # fmt: skip


def back_button(ui: FunctionUi) -> Widget:
    button = TouchButton(text="返回", ui_id="form_back", font_size=30, size_hint_y=None, height=80)
    button.bind(on_release=lambda _b: ui.step(lambda f: f.show_form()))
    return button


FORM_SCREENS: dict[str, Draw] = {"edit_text": edit_text, "edit_choice": edit_choice}

"""服务评价's screens: the five 好差评 levels, the reasons for a 差评, the keyboard, thanks.

Drawn for any function that hands the citizen to rating (its flow returns
:func:`flows.kiosk_rating.rate_screen`): the kiosk window draws ``rate`` and ``rated`` with
:data:`KIOSK_WIDE` whatever the function, and the 服务评价 tile's own ``SCREENS`` are the same.
Taps run :class:`flows.kiosk_rating.KioskRating` steps through ``ui.rate``.
"""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from flows.kiosk_rating import RATE, RATED
from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.keyboard import KeyboardField
from kiosk.widgets import BLUE, GREEN, GREY, MUTED, RED, Text, TouchButton, button_grid

#: Good levels green, 基本满意 blue, 差评 grey: no level is pushed on the citizen.
LEVEL_FILLS = {5: GREEN, 4: GREEN, 3: BLUE, 2: GREY, 1: GREY}


def rate(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The levels; after a 差评, its reasons; while typing, the keyboard."""
    d = screen.data
    if d["writing"]:
        return _note(d, ui)
    if d["reason_needed"]:
        return _reasons(screen, ui)
    widgets: list[Widget] = [
        Text(text="请您对本次服务进行评价", ui_id="screen_title", font_size=40, bold=True,
             size_hint_y=None, height=70),
    ]
    if d.get("item"):
        widgets.append(Text(text=d["item"], ui_id="rating_item", font_size=28, color=MUTED,
                            size_hint_y=None, height=44))
    buttons = []
    for level in d["levels"]:
        button = TouchButton(text=level["label"], ui_id=f"rating_level_{level['level']}",
                             font_size=36, fill=LEVEL_FILLS[level["level"]])
        button.bind(on_release=lambda _b, lv=level["level"]: ui.rate(lambda r: r.choose(lv)))
        buttons.append(button)
    widgets.append(button_grid(buttons, 1, 88))
    return widgets


def _reasons(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    label = next(lv["label"] for lv in d["levels"] if lv["level"] == d["level"])
    widgets: list[Widget] = [
        Text(text=f"您的评价：{label}，请选择原因（可多选）", ui_id="rating_chosen", font_size=30,
             bold=True, size_hint_y=None, height=56),
    ]
    chips = []
    for i, reason in enumerate(d["reasons"]):
        picked = reason in d["picked"]
        chip = TouchButton(text=f"√ {reason}" if picked else reason, ui_id=f"rating_reason_{i}",
                           font_size=28, fill=BLUE if picked else GREY)
        chip.bind(on_release=lambda _b, r=reason: ui.rate(lambda k: k.toggle_reason(r)))
        chips.append(chip)
    widgets.append(button_grid(chips, 2, 76))
    if d["note"]:
        widgets.append(Text(text=f"其他意见：{d['note']}", ui_id="rating_note_text", font_size=26,
                            size_hint_y=None, height=44))
    if screen.error_text:
        widgets.append(Text(text=screen.error_text, ui_id="error_line", font_size=28, color=RED,
                            size_hint_y=None, height=44))
    row = BoxLayout(spacing=12, size_hint_y=None, height=84)
    row.add_widget(_button("填写其他意见", "rating_write_note", GREY,
                           lambda: ui.rate(lambda k: k.write_note())))
    row.add_widget(_button("重新选择评价", "rating_change", GREY,
                           lambda: ui.rate(lambda k: k.change_level())))
    submit = _button("提交评价", "rating_submit", GREEN, lambda: ui.rate(lambda k: k.submit()))
    return [*widgets, row, submit]


def _note(d: dict[str, Any], ui: FunctionUi) -> list[Widget]:
    field = KeyboardField(ui_id="rating_note", layouts=("pinyin", "digits"), text=d["note"],
                          hint="请输入您的意见", max_length=100)
    done = _button("完成", "rating_note_done", GREEN,
                   lambda: ui.rate(lambda k: k.save_note(field.text)))
    return [
        Text(text="请输入您的意见", ui_id="screen_title", font_size=34, bold=True,
             size_hint_y=None, height=52),
        field,
        done,
        Widget(),
    ]


def rated(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """感谢您的评价."""
    return [
        Widget(),
        Text(text="感谢您的评价", ui_id="rating_thanks", font_size=52, bold=True, color=GREEN,
             size_hint_y=None, height=100),
        Text(text=f"您的评价：{screen.data['label']}", ui_id="rating_result", font_size=34,
             size_hint_y=None, height=60),
        Widget(),
    ]


def _button(text: str, ui_id: str, fill: Any, tap: Any) -> TouchButton:
    button = TouchButton(text=text, ui_id=ui_id, font_size=32, fill=fill, size_hint_y=None,
                         height=84)
    button.bind(on_release=lambda _b: tap())
    return button


#: The rating screens, drawn by the window for whatever function hands the citizen to them.
KIOSK_WIDE = {RATE: rate, RATED: rated}
#: The 服务评价 tile (``flows.kiosk_rating:RatingTileFlow``).
SCREENS = FunctionScreens(KIOSK_WIDE)

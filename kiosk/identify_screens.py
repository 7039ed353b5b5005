"""The screens of 识别身份 (:class:`flows.identify.IdentifyCitizen`), for every function whose
flow identifies the citizen: include them in the function's ``SCREENS``::

    SCREENS = FunctionScreens({**IDENTIFY_SCREENS, "confirm": confirm, ...})

They need the flow to be a :class:`flows.identify.IdentifyingFlow` (an ``identify`` attribute
and an ``identified(outcome)`` step). ``ui_id``s are ``identify_*``, the same in every function.
"""

from __future__ import annotations

from functools import partial

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import Draw, FunctionUi
from kiosk.keyboard import KeyboardField
from kiosk.step_button import step_button
from kiosk.widgets import MUTED, RED, Text, TouchButton

_READING = "正在读取证件，请勿移动…"


def card(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """请将身份证放在读卡区, 读取, and 手动输入身份证号."""
    return [
        _title("请刷身份证"),
        Text(
            text="请将身份证、居住证或外国人永久居留身份证放在读卡区，然后点击“读取证件”",
            ui_id="identify_hint",
            font_size=30,
            color=MUTED,
            size_hint_y=None,
            height=100,
        ),
        *_error(screen),
        Widget(),
        _button("读取证件", "identify_read", ui, lambda f: f.identified(f.identify.read_card()), _READING),
        _button("没有证件？手动输入身份证号", "identify_type", ui, lambda f: f.identified(f.identify.manual())),
    ]


def retry(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The card did not read: why, and 重新读取."""
    return [
        _title("证件未能读取"),
        *_error(screen),
        Widget(),
        _button("重新读取", "identify_retry", ui, lambda f: f.identified(f.identify.read_card()), _READING),
        _button("手动输入身份证号", "identify_type", ui, lambda f: f.identified(f.identify.manual())),
    ]


def manual(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Type the 18-character number on the ID-number keyboard (checked before anything is
    sent): a touch kiosk has no keys of its own, and X is offered only as the check digit."""
    field = KeyboardField(ui_id="identify_number", layouts=("id_number",),
                          hint="请输入18位身份证号码")  # fmt: skip
    widgets: list[Widget] = [_title("请输入身份证号码"), field, *_error(screen), Widget()]
    submit = TouchButton(text="确定", ui_id="identify_submit", font_size=34, size_hint_y=None, height=96)
    submit.bind(
        on_release=lambda _b: ui.step(lambda f: f.identified(f.identify.enter_id_number(field.text)))
    )
    widgets.append(submit)
    if screen.data.get("reader"):
        widgets.append(
            _button("改为刷身份证", "identify_use_card", ui, lambda f: f.identified(f.identify.start()))
        )
    return widgets


def _title(text: str) -> Text:
    return Text(text=text, ui_id="screen_title", font_size=40, bold=True, size_hint_y=None, height=80)


def _error(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [
        Text(
            text=screen.error_text,
            ui_id="error_line",
            font_size=30,
            color=RED,
            bold=True,
            size_hint_y=None,
            height=80,
        )
    ]


_button = partial(step_button, font_size=32, size_hint_y=None, height=96)


IDENTIFY_SCREENS: dict[str, Draw] = {
    "identify_card": card,
    "identify_retry": retry,
    "identify_manual": manual,
}

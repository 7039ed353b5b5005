"""The 测试功能 screen: the count and a button that adds one."""

from __future__ import annotations

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.widgets import Text, TouchButton


def probe(screen: Screen, ui: FunctionUi) -> list[Widget]:
    button = TouchButton(
        text="点一下", ui_id="probe_press", font_size=40, size_hint_y=None, height=140
    )
    button.bind(on_release=lambda _b: ui.step(lambda flow: flow.press()))
    return [
        Text(text=f"已点击{screen.data['taps']}次", ui_id="probe_taps", font_size=40),
        button,
    ]


SCREENS = FunctionScreens({"probe": probe})

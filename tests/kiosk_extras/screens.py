"""键盘测试's screens: one field per keyboard layout, 提交, the echo and 评价."""

from __future__ import annotations

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.keyboard import KeyboardField
from kiosk.widgets import Text, TouchButton


def form(screen: Screen, ui: FunctionUi) -> list[Widget]:
    name = KeyboardField(ui_id="form_name", layouts=("pinyin", "digits"), hint="请输入姓名")
    id_number = KeyboardField(ui_id="form_id", layouts=("id_number",), hint="请输入身份证号")
    phone = KeyboardField(ui_id="form_phone", layouts=("digits",), hint="请输入手机号")
    fields = [name, id_number, phone]
    shown = TouchButton(text="下一项", ui_id="form_next", font_size=28, size_hint_y=None,
                        height=80)
    submit = TouchButton(text="提交", ui_id="form_submit", font_size=32, size_hint_y=None,
                         height=80)
    # One field's keyboard at a time fits a kiosk screen: 下一项 swaps to the next field.
    box = [fields[0]]

    def next_field(_b: object) -> None:
        i = fields.index(box[0])
        parent = box[0].parent
        index = parent.children.index(box[0])
        parent.remove_widget(box[0])
        box[0] = fields[(i + 1) % len(fields)]
        parent.add_widget(box[0], index=index)

    shown.bind(on_release=next_field)
    submit.bind(on_release=lambda _b: ui.step(
        lambda flow: flow.submit(name.text, id_number.text, phone.text)))
    return [fields[0], shown, submit, Widget()]


def done(screen: Screen, ui: FunctionUi) -> list[Widget]:
    rate = TouchButton(text="评价", ui_id="form_rate", font_size=32, size_hint_y=None, height=80)
    rate.bind(on_release=lambda _b: ui.step(lambda flow: flow.rate()))
    d = screen.data
    return [
        Text(text=d["name"], ui_id="form_echo_name", font_size=32, size_hint_y=None, height=60),
        Text(text=d["id_number"], ui_id="form_echo_id", font_size=32, size_hint_y=None,
             height=60),
        Text(text=d["phone"], ui_id="form_echo_phone", font_size=32, size_hint_y=None,
             height=60),
        rate,
        Widget(),
    ]


SCREENS = FunctionScreens({"form": form, "done": done})

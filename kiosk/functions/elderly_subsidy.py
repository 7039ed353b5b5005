"""高龄认证's screens: who may apply, the elder's card, the registration form one field at a
time, the confirmation, and the outcome (:class:`flows.elderly_subsidy.ElderlySubsidyFlow`)."""

from __future__ import annotations

from functools import partial

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.form_screens import FORM_SCREENS, error_line, field_rows, note, title
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.step_button import step_button
from kiosk.widgets import GREEN, INK, Text

_SUBMITTING = "正在提交，请稍候…"


def intro(screen: Screen, ui: FunctionUi) -> list[Widget]:
    age = screen.data["min_age"]
    return [
        title("高龄补贴认证"),
        note(f"年满{age}周岁的老人每年认证一次，补贴按月发放到本人银行卡。", "elderly_subsidy_rule", 80),
        note("请准备：老人本人身份证、本人银行卡。家属代办请同时准备代办人身份证。",
             "elderly_subsidy_bring", 80),
        Widget(),
        _button("开始认证", "elderly_subsidy_begin", ui, lambda f: f.begin()),
    ]  # fmt: skip


def refused(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("无法办理"), *error_line(screen),
            note("如有疑问，请到民政窗口咨询", "elderly_subsidy_ask_staff"), Widget()]  # fmt: skip


def unavailable(screen: Screen, ui: FunctionUi) -> list[Widget]:
    widgets: list[Widget] = [title("暂时无法办理"), *error_line(screen), Widget()]
    if screen.data.get("retry"):
        widgets.append(_button("重试", "elderly_subsidy_retry", ui, lambda f: f.retry()))
    return widgets


def form(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """青海省高龄补贴登记表: the elder (masked), each field a tap to fill, then 下一步."""
    elder = screen.data["elder"]
    return [
        title("填写登记信息"),
        note(f"老人：{elder['name']}  {elder['id_number']}  {screen.data['age']}周岁", "elderly_subsidy_elder"),
        field_rows(screen, ui),
        *error_line(screen),
        _button("下一步", "elderly_subsidy_review", ui, lambda f: f.review()),
    ]  # fmt: skip


def confirm(screen: Screen, ui: FunctionUi) -> list[Widget]:
    rows = [
        Text(text=f"{r['label']}：{r['value']}", ui_id=f"elderly_subsidy_row_{n}", font_size=28,
             color=INK, halign="left", size_hint_y=None, height=50)
        for n, r in enumerate(screen.data["rows"])
    ]  # fmt: skip
    return [
        title("请核对登记信息"),
        *rows,
        Widget(),
        _button("确认提交", "elderly_subsidy_submit", ui, lambda f: f.submit(), busy=_SUBMITTING),
        _button("返回修改", "elderly_subsidy_change", ui, lambda f: f.change()),
    ]


def done(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    return [
        Text(text="认证已提交", ui_id="elderly_subsidy_done", font_size=44, bold=True, color=GREEN,
             size_hint_y=None, height=90),
        note(f"登记编号：{d['registration_no']}（{d['status']}）", "elderly_subsidy_registration_no"),
        note(f"{d['year']}年度认证，补贴标准每月{d['monthly']}", "elderly_subsidy_amount"),
        note("补贴将按月发放至登记的银行卡，请留意到账信息", "elderly_subsidy_next"),
        Widget(),
    ]  # fmt: skip


def unknown(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("结果确认中"), *error_line(screen), Widget(),
            _button("查询结果", "elderly_subsidy_settle", ui, lambda f: f.settle(),
                    busy="正在确认办理结果…")]  # fmt: skip


_button = partial(step_button, font_size=32, size_hint_y=None, height=96)


SCREENS = FunctionScreens(
    {
        **IDENTIFY_SCREENS,
        **FORM_SCREENS,
        "intro": intro,
        "refused": refused,
        "unavailable": unavailable,
        "form": form,
        "confirm": confirm,
        "done": done,
        "unknown": unknown,
    }
)

"""办件查询's screens: how to look up, the citizen's cases, one case's steps with their dates
(:class:`flows.case_progress.CaseProgressFlow`), and the identify screens."""

from __future__ import annotations

from functools import partial

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.keyboard import KeyboardField
from kiosk.step_button import step_button
from kiosk.widgets import BLUE, GREEN, MUTED, RED, Text, button_grid

_WAIT = "正在查询，请稍候…"
#: The longest 办件编号 the flow accepts (``flows.case_progress``: 6 to 32 letters and digits).
CASE_NO_MAX = 32
#: How a step's state reads beside its name.
# Each is in Noto Sans CJK (✔ U+2714 is not, and drew as an empty box).
STATE_MARKS = {"done": "✓", "current": "●", "pending": "○"}


def choose_lookup(screen: Screen, ui: FunctionUi) -> list[Widget]:
    buttons = [
        _button("刷身份证查询", "case_progress_by_card", ui, lambda f: f.by_card()),
        _button("输入办件编号查询", "case_progress_by_case_no", ui, lambda f: f.by_case_no()),
    ]
    return [_title("办件查询"), button_grid(buttons, 1, 140)]


def enter_case_no(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The 办件编号 on the code keyboard: it has letters (BJ…, SB…) as well as digits."""
    field = KeyboardField(ui_id="case_progress_case_no", layouts=("code",),
                          hint="请输入办件编号", max_length=CASE_NO_MAX)  # fmt: skip
    submit = _button("查询", "case_progress_submit", ui,
                     lambda f: f.enter_case_no(field.text), _WAIT)
    return [_title("请输入办件编号"), field, *_error(screen), Widget(), submit]


def cases(screen: Screen, ui: FunctionUi) -> list[Widget]:
    buttons = [
        _button(f"{c['item_name']}\n[size=24]{c['case_no']}  {c['status']}[/size]",
                f"case_progress_case_{c['case_no']}", ui,
                lambda f, no=c["case_no"]: f.show_case(no))
        for c in screen.data["cases"]
    ]
    for b in buttons:
        b.markup = True
    return [_title("您的办件"), button_grid(buttons, 1, 120)]


def no_cases(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [_title("未查询到您名下的办件"), _line("如有疑问，请到窗口咨询", "case_progress_none", MUTED), Widget()]


def case_detail(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The case, then one line per step: its state mark, name and date (or 待办理)."""
    d = screen.data
    widgets: list[Widget] = [
        _title(d["item_name"]),
        _line(f"办件编号：{d['case_no']}", "case_progress_case_no_shown"),
        _line(f"办理部门：{d['department']}    申请人：{d['applicant']}", "case_progress_department"),
        Text(text=f"当前状态：{d['status']}", ui_id="case_progress_status", font_size=34, bold=True,
             color=GREEN if d["finished"] else BLUE, size_hint_y=None, height=64),
    ]
    for i, step in enumerate(d["steps"]):
        when = step["date"] or "待办理"
        widgets.append(
            _line(f"{STATE_MARKS.get(step['state'], '○')} {step['name']}    {when}",
                  f"case_progress_step_{i}", None if step["date"] else MUTED)
        )
    widgets.append(Widget())
    if d.get("from_list"):
        widgets.append(_button("返回办件列表", "case_progress_back", ui, lambda f: f.back_to_list()))
    return widgets


def platform_error(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [_title("暂时无法查询"), *_error(screen), Widget(),
            _button("重试", "case_progress_retry", ui, lambda f: f.retry(), _WAIT)]


def _title(text: str) -> Text:
    return Text(text=text, ui_id="screen_title", font_size=40, bold=True, size_hint_y=None, height=80)


def _line(text: str, ui_id: str, color: tuple[float, ...] | None = None) -> Text:
    extra = {"color": color} if color else {}
    return Text(text=text, ui_id=ui_id, font_size=30, size_hint_y=None, height=56, **extra)


def _error(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [Text(text=screen.error_text, ui_id="error_line", font_size=30, color=RED, bold=True,
                 size_hint_y=None, height=70)]


_button = partial(step_button, font_size=32, size_hint_y=None, height=96)


SCREENS = FunctionScreens(
    {
        **IDENTIFY_SCREENS,
        "choose_lookup": choose_lookup,
        "enter_case_no": enter_case_no,
        "cases": cases,
        "no_cases": no_cases,
        "case_detail": case_detail,
        "platform_error": platform_error,
    }
)

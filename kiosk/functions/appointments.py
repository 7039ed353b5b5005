"""预约取号's screens: the three paths of :class:`flows.appointments.AppointmentFlow` (book,
cancel, check in and take a number), the identify screens, and the platform's errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.functions.ticket import ticket
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.step_button import step_button
from kiosk.widgets import BLUE, MUTED, RED, Text, button_grid, grid_columns

WEEKDAYS = "一二三四五六日"
_WAIT = "正在连接政务服务平台，请稍候…"


def menu(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """预约 / 取消预约 / 到场签到取号."""
    labels = {"book": "我要预约", "cancel": "取消预约", "check_in": "到场签到取号"}
    steps: dict[str, Callable[[Any], Screen]] = {
        "book": lambda f: f.book(),
        "cancel": lambda f: f.cancel(),
        "check_in": lambda f: f.check_in(),
    }
    buttons = [
        _button(labels[a], f"appointments_{a}", ui, steps[a]) for a in screen.data["actions"]
    ]
    return [_title("预约取号"), button_grid(buttons, 1, 140)]


def choose_service(screen: Screen, ui: FunctionUi) -> list[Widget]:
    services = screen.data["services"]
    buttons = [
        _button(s["name"], f"appointments_service_{s['code']}", ui,
                lambda f, code=s["code"]: f.choose_service(code), _WAIT)
        for s in services
    ]
    return [_title("请选择预约业务"), button_grid(buttons, grid_columns(len(buttons)), 120)]


def choose_slot(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Each day's slots; a full one is greyed and does nothing."""
    buttons: list[Widget] = []
    for day in screen.data["days"]:
        for s in day["slots"]:
            label = f"{_day(day['date'], day['weekday'])} {s['start']}-{s['end']}\n余{s['remaining']}个"
            button = _button(label, f"appointments_slot_{s['slot_id']}", ui,
                             lambda f, sid=s["slot_id"]: f.choose_slot(sid))
            button.disabled = s["remaining"] <= 0
            buttons.append(button)
    widgets: list[Widget] = [_title(f"{screen.data['service_name']}：请选择预约时间")]
    widgets += _error(screen)
    if not buttons:
        widgets.append(_line("近期没有可预约的时段", "appointments_no_slots"))
        return [*widgets, Widget()]
    return [*widgets, button_grid(buttons, 2, 110)]


def confirm(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    return [
        _title("请确认预约信息"),
        *_booking_lines(d),
        _line(f"预约人：{d['citizen']['name'] or '（未读取姓名）'}  {d['citizen']['id_number']}",
              "appointments_citizen"),
        *_error(screen),
        Widget(),
        _button("确认预约", "appointments_confirm", ui, lambda f: f.confirm(), "正在提交预约，请稍候…"),
    ]


def booked(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    return [
        _title("预约成功"),
        Text(text=d["booking_no"], ui_id="appointments_booking_no", font_size=60, bold=True,
             color=BLUE, size_hint_y=None, height=100),
        *_booking_lines(d),
        _line("请按预约时间到大厅，在自助机“到场签到取号”", "appointments_booked_hint", MUTED),
        Widget(),
    ]


def book_unknown(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The answer was lost: the booking may exist; 重新查询 asks, never books twice."""
    return [
        _title("预约结果确认中"),
        *_error(screen),
        _line("请勿重复预约。点击“重新查询”确认预约结果", "appointments_unknown_hint", MUTED),
        Widget(),
        _button("重新查询", "appointments_settle", ui, lambda f: f.settle(), _WAIT),
    ]


def choose_booking(screen: Screen, ui: FunctionUi) -> list[Widget]:
    check_in = screen.data["mode"] == "check_in"
    bookings = screen.data["bookings"]
    widgets: list[Widget] = [_title("请选择要签到的预约" if check_in else "请选择要取消的预约")]
    widgets += _error(screen)
    if not bookings:
        widgets.append(_line("今天没有可签到的预约" if check_in else "没有可取消的预约",
                             "appointments_no_bookings"))
        return [*widgets, Widget()]
    buttons = [
        _button(f"{b['service_name']}\n{_day(b['date'], b['weekday'])} {b['start']}-{b['end']}",
                f"appointments_booking_{b['booking_no']}", ui,
                lambda f, no=b["booking_no"]: f.choose_booking(no),
                "正在签到取号，请稍候…" if check_in else None)
        for b in bookings
    ]
    return [*widgets, button_grid(buttons, 1, 120)]


def confirm_cancel(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [
        _title("确认取消以下预约？"),
        *_booking_lines(screen.data),
        *_error(screen),
        Widget(),
        _button("确认取消", "appointments_confirm_cancel", ui, lambda f: f.confirm_cancel(), _WAIT),
    ]


def cancelled(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [_title("预约已取消"), *_booking_lines(screen.data), Widget()]


def platform_error(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [
        _title("暂时无法办理"),
        *_error(screen),
        Widget(),
        _button("重试", "appointments_retry", ui, lambda f: f.retry(), _WAIT),
    ]


def _booking_lines(d: dict[str, Any]) -> list[Widget]:
    return [
        _line(f"业务：{d['service_name']}", "appointments_service"),
        _line(f"时间：{_day(d['date'], d['weekday'])} {d['start']}-{d['end']}", "appointments_time"),
    ]


def _day(iso: str, weekday: int) -> str:
    _, month, day = iso.split("-")
    return f"{int(month)}月{int(day)}日 周{WEEKDAYS[weekday]}"


def _title(text: str) -> Text:
    return Text(text=text, ui_id="screen_title", font_size=40, bold=True, size_hint_y=None, height=80)


def _line(text: str, ui_id: str, color: tuple[float, ...] | None = None) -> Text:
    extra = {"color": color} if color else {}
    return Text(text=text, ui_id=ui_id, font_size=32, size_hint_y=None, height=60, **extra)


def _error(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [Text(text=screen.error_text, ui_id="error_line", font_size=30, color=RED, bold=True,
                 size_hint_y=None, height=70)]


_button = partial(step_button, font_size=32, halign="center")


SCREENS = FunctionScreens(
    {
        **IDENTIFY_SCREENS,
        "menu": menu,
        "choose_service": choose_service,
        "choose_slot": choose_slot,
        "confirm": confirm,
        "booked": booked,
        "book_unknown": book_unknown,
        "choose_booking": choose_booking,
        "confirm_cancel": confirm_cancel,
        "cancelled": cancelled,
        "ticket": ticket,
        "platform_error": platform_error,
    }
)

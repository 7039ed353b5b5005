"""取号's screens: the services with 等候N人, then the ticket.

Draws :class:`flows.ticketing.TicketFlow`'s ``choose_service`` and ``ticket`` screens; a
service tapped runs ``flow.take(code)`` on the kiosk's worker (it prints).
"""

from __future__ import annotations

from typing import Any

from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.widgets import BLUE, MUTED, RED, Text, TouchButton, button_grid, grid_columns


def services(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """请选择业务 and a button per service, each with how many people wait."""
    widgets: list[Widget] = [
        Text(
            text="请选择业务",
            ui_id="screen_title",
            font_size=40,
            bold=True,
            size_hint_y=None,
            height=80,
        ),
        _service_buttons(screen.data["services"], ui),
    ]
    if screen.error_text:
        widgets.append(
            Text(
                text=screen.error_text,
                ui_id="error_line",
                font_size=26,
                color=RED,
                size_hint_y=None,
                height=60,
            )
        )
    return widgets


def _service_buttons(services: list[dict[str, Any]], ui: FunctionUi) -> Widget:
    """Up to four services in one column of big buttons; more in two columns."""
    columns = grid_columns(len(services))
    one_column = columns == 1
    buttons: list[Widget] = []
    for s in services:
        button = TouchButton(
            text=f"{s['name']}\n[size={26 if one_column else 24}]等候{s['waiting']}人[/size]",
            markup=True,
            ui_id=f"service_{s['code']}",
            font_size=40 if one_column else 32,
        )
        button.bind(on_release=lambda _b, code=s["code"]: _take(ui, code))
        buttons.append(button)
    return button_grid(buttons, columns, row_height=140 if one_column else 100)


def _take(ui: FunctionUi, code: str) -> None:
    ui.step(lambda flow: flow.take(code), busy="正在出号，请稍候…")


def ticket(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The number, big; people ahead, the estimated wait; the printer's error if it failed."""
    d = screen.data
    widgets: list[Widget] = [
        Text(text="您的号码", font_size=32, color=MUTED, size_hint_y=None, height=50),
        Text(
            text=d["ticket_no"],
            ui_id="ticket_no",
            font_size=150,
            bold=True,
            color=BLUE,
            size_hint_y=None,
            height=200,
        ),
        Text(
            text=d["service_name"],
            ui_id="ticket_service",
            font_size=36,
            size_hint_y=None,
            height=60,
        ),
        Text(
            text=f"前面还有{d['people_ahead']}人",
            ui_id="people_ahead",
            font_size=34,
            size_hint_y=None,
            height=56,
        ),
        Text(
            text=d.get("est_wait_text") or wait_text(d["est_wait_min"]),
            ui_id="est_wait",
            font_size=34,
            size_hint_y=None,
            height=56,
        ),
    ]
    if screen.error_text:
        widgets += [
            Text(
                text=screen.error_text,
                ui_id="error_line",
                font_size=30,
                color=RED,
                bold=True,
                size_hint_y=None,
                height=56,
            ),
            Text(
                text="号码已取得，请记住您的号码",
                ui_id="remember_hint",
                font_size=30,
                color=RED,
                size_hint_y=None,
                height=56,
            ),
        ]
    else:
        widgets.append(
            Text(
                text="请取走号票，留意叫号",
                ui_id="take_ticket_hint",
                font_size=28,
                color=MUTED,
                size_hint_y=None,
                height=56,
            )
        )
    widgets.append(Widget())
    return widgets


def wait_text(minutes: int) -> str:
    """预计等候约M分钟, or 不到1分钟: a screen from a flow that gives no range (the flow's
    ``est_wait_text``, :mod:`flows.wait_estimate`, is shown when there is one)."""
    if minutes < 1:
        return "预计等候不到1分钟"
    return f"预计等候约{minutes}分钟"


SCREENS = FunctionScreens({"choose_service": services, "ticket": ticket}, tile_ui_id="take_button")

"""便民查询's screens: the list of queries, any query's further fields and answer (drawn from the
spec's layout the flow sends, so one set of screens serves all 17), and the social security
card's loss report (:class:`flows.convenience_queries.ConvenienceQueriesFlow`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.form_screens import FORM_SCREENS, error_line, field_rows, note, title
from kiosk.functions import FunctionScreens, FunctionUi, Kept
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.step_button import step_button
from kiosk.widgets import BLUE, GREEN, INK, Text, button_grid

_WAIT = "正在查询，请稍候…"
_PRINTING = "正在打印，请稍候…"
_CARD_STATES = {"normal": "正常", "lost": "已挂失"}
_CARD_ACTIONS = {"report": "挂失", "release": "解挂"}


#: Each window's list of queries, built once: eighteen two-line buttons cost a frame or more
#: to lay out and render, on the tap that opens 便民查询. Only the queries' names are in it.
_lists: Kept[list[Widget]] = Kept()


def choose_query(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Every query, two columns, and the card's loss report last."""
    items = [*screen.data["queries"], screen.data["card"]]
    key = tuple((q["id"], q["title"], q["department"]) for q in items)

    def build() -> list[Widget]:
        buttons = [
            _button(f"{q['title']}\n[size=20]{q['department']}[/size]", f"convenience_queries_{q['id']}",
                    ui, lambda f, qid=q["id"]: f.choose(qid), markup=True)
            for q in items
        ]  # fmt: skip
        return [title("请选择查询事项"), button_grid(buttons, 2, 100)]

    widgets = _lists.get(ui, build, key)
    widgets[1].scroll_y = 1  # each visit starts at the top of the list
    return [*widgets, *error_line(screen)]


def inputs(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The query's further fields, then 查询."""
    return [
        title(screen.data["title"]),
        field_rows(screen, ui),
        *error_line(screen),
        _button("查询", "convenience_queries_ask", ui, lambda f: f.ask(), busy=_WAIT),
    ]


def result(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The answer as the spec lays it out: labelled values, the records' table, 打印."""
    d = screen.data
    body = GridLayout(cols=1, spacing=6, size_hint_y=None, padding=(0, 4))
    body.bind(minimum_height=body.setter("height"))
    body.add_widget(note(f"{d['department']}  查询时间：{d['asked_at']}", "convenience_queries_source", 44))
    for n, row in enumerate(d["fields"]):
        body.add_widget(Text(text=f"{row['label']}：{row['value']}", ui_id=f"convenience_queries_field_{n}",
                             font_size=28, color=INK, halign="left", size_hint_y=None, height=48))  # fmt: skip
    table = d.get("table")
    if table is not None:
        body.add_widget(Text(text=table["title"], font_size=28, bold=True, color=BLUE,
                             size_hint_y=None, height=52))  # fmt: skip
        body.add_widget(_table(table))
    scroll = ScrollView(do_scroll_x=False, bar_width=12)
    scroll.add_widget(body)
    widgets: list[Widget] = [title(d["title"]), scroll, *error_line(screen)]
    if d["printed"]:
        widgets.append(Text(text="已打印，请在打印机出纸口取走", ui_id="convenience_queries_printed",
                            font_size=28, color=GREEN, size_hint_y=None, height=56))  # fmt: skip
    elif d["printable"]:
        widgets.append(_button("打印", "convenience_queries_print", ui, lambda f: f.print_answer(),
                               busy=_PRINTING))  # fmt: skip
    widgets.append(_button("返回查询列表", "convenience_queries_back", ui, lambda f: f.back()))
    return widgets


def _table(table: dict[str, Any]) -> Widget:
    columns = table["columns"]
    grid = GridLayout(cols=len(columns), spacing=2, size_hint_y=None, row_default_height=44,
                      row_force_default=True)  # fmt: skip
    grid.bind(minimum_height=grid.setter("height"))
    for label in columns:
        grid.add_widget(Text(text=label, font_size=22, bold=True, color=INK))
    for row in table["rows"]:
        for cell in row:
            grid.add_widget(Text(text=cell, font_size=22, color=INK))
    if not table["rows"]:
        grid.add_widget(Text(text="暂无记录", ui_id="convenience_queries_no_rows", font_size=24, color=INK))
    return grid


def no_record(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title(screen.data["title"]), *error_line(screen), note("如有疑问，请到窗口咨询", "convenience_queries_ask_staff"),
            Widget(), _button("返回查询列表", "convenience_queries_back", ui, lambda f: f.back())]  # fmt: skip


def unavailable(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title(screen.data["title"]), *error_line(screen), Widget(),
            _button("重试", "convenience_queries_retry", ui, lambda f: f.retry(), busy=_WAIT),
            _button("返回查询列表", "convenience_queries_back", ui, lambda f: f.back())]  # fmt: skip


def card_status(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The card: number (masked by the platform), bank, state, and the change it allows."""
    d = screen.data
    action = _CARD_ACTIONS[d["action"]]
    return [
        title(d["title"]),
        _line(f"卡号：{d['card_no']}", "convenience_queries_card_no"),
        _line(f"金融账户：{d['bank']}", "convenience_queries_card_bank"),
        _line(f"卡状态：{_CARD_STATES.get(d['state'], d['state'])}", "convenience_queries_card_state"),
        Widget(),
        _button(f"办理{action}", "convenience_queries_card_change", ui, lambda f: f.card_change()),
    ]


def card_confirm(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    action = _CARD_ACTIONS[d["action"]]
    effect = ("挂失后，该卡的社保和金融功能将暂停使用。" if d["action"] == "report"
              else "解挂后，该卡恢复正常使用。")  # fmt: skip
    return [
        title(f"确认{action}"),
        _line(f"确认为卡号 {d['card_no']} 的社会保障卡办理{action}？", "convenience_queries_card_question"),
        note(effect, "convenience_queries_card_effect"),
        Widget(),
        _button(f"确认{action}", "convenience_queries_card_confirm", ui, lambda f: f.card_confirm(),
                busy="正在办理，请稍候…"),
        _button("取消", "convenience_queries_card_cancel", ui, lambda f: f.card_cancel()),
    ]


def card_done(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    action = _CARD_ACTIONS.get(d["action"], "")
    widgets: list[Widget] = [title(d["title"])]
    if d["done"]:
        widgets += [
            Text(text=f"{action}成功", ui_id="convenience_queries_card_done", font_size=40, bold=True,
                 color=GREEN, size_hint_y=None, height=80),
            _line(f"受理编号：{d['ref']}", "convenience_queries_card_ref"),
            _line(f"卡状态：{_CARD_STATES.get(d['new_state'], d['new_state'])}", "convenience_queries_card_state"),
        ]  # fmt: skip
    widgets += [*error_line(screen), Widget(),
                _button("返回查询列表", "convenience_queries_back", ui, lambda f: f.back())]  # fmt: skip
    return widgets


def card_unknown(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title(screen.data["title"]), *error_line(screen), Widget(),
            _button("查询结果", "convenience_queries_card_settle", ui, lambda f: f.card_settle(),
                    busy="正在确认办理结果…")]  # fmt: skip


def _line(text: str, ui_id: str) -> Text:
    return Text(text=text, ui_id=ui_id, font_size=30, color=INK, size_hint_y=None, height=56)


_button = partial(step_button, font_size=28, markup=False, size_hint_y=None, height=90)


SCREENS = FunctionScreens(
    {
        **IDENTIFY_SCREENS,
        **FORM_SCREENS,
        "choose_query": choose_query,
        "inputs": inputs,
        "result": result,
        "no_record": no_record,
        "unavailable": unavailable,
        "card_status": card_status,
        "card_confirm": card_confirm,
        "card_done": card_done,
        "card_unknown": card_unknown,
    }
)

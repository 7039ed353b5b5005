"""办事指南's screens: search (filter chips, text, results) and one item's guide (situations,
materials, 打印, QR code).

Draws :class:`flows.service_guide.ServiceGuideFlow`'s ``search`` and ``guide`` screens; every
tap runs a flow step on the kiosk's worker. Text entry goes through :func:`text_entry`, the
one place the on-screen pinyin keyboard (``kiosk/keyboard.py``, being built) will plug in:
until it exists, a plain text field and a row of initial-letter keys (``S`` ``F`` ``Z`` finds
居民身份证换领) stand in.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from flows.guide_document import qr_image
from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.widgets import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    MUTED,
    RED,
    Field,
    Text,
    TouchButton,
    button_grid,
)

ID = "service_guide"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _line(text: str, ui_id: str = "", *, size: int = 26, color: Any = None, bold: bool = False,
          halign: str = "left") -> Text:  # fmt: skip
    """A wrapped line that grows to its text's height (a guide's long paragraphs)."""
    label = Text(text=text, ui_id=ui_id, font_size=size, bold=bold, halign=halign,
                 size_hint_y=None, height=size * 2)  # fmt: skip
    if color is not None:
        label.color = color
    label.bind(texture_size=lambda w, s: setattr(w, "height", max(s[1] + 8, size * 1.6)))
    return label


def _chip(text: str, ui_id: str, chosen: bool, on_tap: Callable[[], None]) -> TouchButton:
    chip = TouchButton(text=text, ui_id=ui_id, font_size=24, fill=BLUE if chosen else GREY,
                       size_hint=(None, None), width=max(120, 30 * len(text) + 40), height=72)  # fmt: skip
    chip.bind(on_release=lambda _b: on_tap())
    return chip


def _chip_row(chips: list[Widget]) -> ScrollView:
    """Chips in one row that scrolls sideways when they do not fit."""
    row = BoxLayout(orientation="horizontal", spacing=10, size_hint=(None, None), height=72)
    row.bind(minimum_width=row.setter("width"))
    for chip in chips:
        row.add_widget(chip)
    scroll = ScrollView(do_scroll_y=False, size_hint_y=None, height=84, bar_width=6)
    scroll.add_widget(row)
    return scroll


def _choose(ui: FunctionUi, facet: str, value: str | None) -> Callable[[], None]:
    return lambda: ui.step(lambda flow: flow.choose(facet, value))


def text_entry(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The search text: the hook for the on-screen pinyin keyboard.

    When ``kiosk/keyboard.py`` lands, this returns its widget instead, feeding
    ``flow.set_text(text)`` on every change; the flow already searches Chinese text and pinyin
    (full or initials) alike. Until then: a text field (a hardware keyboard, or a technician)
    and initial-letter keys.
    """
    text = screen.data["query"]["text"]
    field = Field(text=text, ui_id=f"{ID}_text", hint_text="输入事项名称或拼音首字母",
                  font_size=28, size_hint_y=None, height=64)  # fmt: skip
    field.bind(on_text_validate=lambda f: ui.step(lambda flow: flow.set_text(f.text)))
    keys = GridLayout(cols=14, spacing=6, size_hint_y=None, height=2 * 64 + 6)
    for letter in LETTERS:
        key = TouchButton(text=letter, ui_id=f"{ID}_key_{letter}", font_size=26)
        key.bind(on_release=lambda _b, c=letter: ui.step(lambda flow: flow.type_letter(c)))
        keys.add_widget(key)
    erase = TouchButton(text="退格", ui_id=f"{ID}_erase", font_size=22, fill=MUTED)
    erase.bind(on_release=lambda _b: ui.step(lambda flow: flow.erase()))
    keys.add_widget(erase)
    clear = TouchButton(text="清空", ui_id=f"{ID}_clear", font_size=22, fill=MUTED)
    clear.bind(on_release=lambda _b: ui.step(lambda flow: flow.clear()))
    keys.add_widget(clear)
    return [field, keys]


def catalog_age(screen: Screen) -> list[Widget]:
    """目录更新于X天前, once the kiosk's copy of the catalog is older than a day."""
    catalog = screen.data["catalog"]
    if not catalog["stale"]:
        return []
    return [_line(f"目录更新于{catalog['age_days']}天前，内容以窗口最新要求为准", f"{ID}_stale",
                  size=24, color=AMBER, halign="center")]  # fmt: skip


def _error(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [_line(screen.error_text, "error_line", size=26, color=RED, bold=True, halign="center")]


def search(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Filter chips, text, and the matching items."""
    d = screen.data
    q = d["query"]
    audiences = [
        _chip(a, f"{ID}_audience_{a}", q["audience"] == a, _choose(ui, "audience", a))
        for a in d["audiences"]
    ]
    themes = [
        _chip(t["label"], f"{ID}_theme_{t['value']}", q["theme"] == t["value"],
              _choose(ui, "theme", t["value"]))
        for t in d["themes"]
    ]  # fmt: skip
    departments = [
        _chip(t["label"], f"{ID}_department_{t['value']}", q["department"] == t["value"],
              _choose(ui, "department", t["value"]))
        for t in d["departments"]
    ]  # fmt: skip
    results: list[Widget] = []
    for r in d["results"]:
        button = TouchButton(
            text=f"{r['name']}\n[size=20]{r['department']}[/size]", markup=True,
            ui_id=f"{ID}_item_{r['code']}", font_size=28,
        )  # fmt: skip
        button.bind(on_release=lambda _b, c=r["code"]: ui.step(lambda flow: flow.open_item(c)))
        results.append(button)
    if d["total"] > len(d["results"]):
        more = TouchButton(text=f"更多（共{d['total']}项）", ui_id=f"{ID}_more", font_size=26,
                           fill=MUTED)  # fmt: skip
        more.bind(on_release=lambda _b: ui.step(lambda flow: flow.more()))
        results.append(more)
    return [
        *catalog_age(screen),
        *_error(screen),
        _chip_row([*audiences, *themes]),
        _chip_row(departments),
        *text_entry(screen, ui),
        _line(f"共找到{d['total']}项", f"{ID}_total", size=24, color=MUTED),
        button_grid(results, 1, row_height=96),
    ]


def _qr(url: str) -> Image:
    buffer = io.BytesIO()
    qr_image(url, 300).save(buffer, format="PNG")
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    return Image(texture=texture, size_hint=(None, None), size=(300, 300))


def guide(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The guide: facts, situations, materials, conditions, legal basis; 打印 and a QR code."""
    d = screen.data
    item = d["item"]
    body = BoxLayout(orientation="vertical", spacing=6, size_hint_y=None, padding=(8, 8))
    body.bind(minimum_height=body.setter("height"))
    add = body.add_widget
    add(_line(item["name"], f"{ID}_name", size=36, bold=True, color=BLUE))
    for label, key in (
        ("办理部门", "department"), ("承诺时限", "promised_time_limit"),
        ("法定时限", "legal_time_limit"), ("咨询电话", "phone"), ("办理地点", "address"),
        ("办理时间", "office_hours"), ("收费标准", "fee"),
    ):  # fmt: skip
        if item[key]:
            add(_line(f"{label}：{item[key]}", f"{ID}_{key}", size=24))
    if d["situations"]:
        add(_line("办理情形（请选择，材料随之调整）", size=26, bold=True))
        chips = [
            _chip(s["name"], f"{ID}_situation_{s['code']}", s["chosen"],
                  lambda c=s["code"], chosen=s["chosen"]: ui.step(
                      lambda flow: flow.choose_situation(None if chosen else c)))
            for s in d["situations"]
        ]  # fmt: skip
        add(_chip_row(chips))
    add(_line(f"申请材料（{len(d['materials'])}项）", f"{ID}_materials_title", size=26, bold=True))
    for n, m in enumerate(d["materials"], start=1):
        extra = "" if m["required"] else "（非必要，可容缺后补）"
        note = f"；{m['note']}" if m["note"] else ""
        add(_line(f"{n}. {m['name']}：{m['form']}{m['copies']}份{extra}{note}",
                  f"{ID}_material_{m['id']}", size=24))  # fmt: skip
    add(_line("受理条件", size=26, bold=True))
    for n, c in enumerate(item["conditions"], start=1):
        add(_line(f"{n}. {c}", size=24))
    add(_line("设定依据", size=26, bold=True))
    for basis in item["legal_basis"]:
        add(_line(basis, size=22, color=MUTED))
    scroll = ScrollView(do_scroll_x=False, bar_width=12)
    scroll.add_widget(body)

    side = BoxLayout(orientation="vertical", spacing=12, size_hint_x=None, width=320)
    side.add_widget(_qr(d["qr_url"]))
    side.add_widget(_line("手机扫码查看指南", size=22, color=MUTED, halign="center"))
    printer = TouchButton(text="打印指南", ui_id=f"{ID}_print", font_size=30,
                          disabled=not d["can_print"], size_hint_y=None, height=96)  # fmt: skip
    printer.bind(on_release=lambda _b: ui.step(lambda flow: flow.print_guide(),
                                               busy="正在打印，请稍候…"))  # fmt: skip
    side.add_widget(printer)
    if d["printed"]:
        side.add_widget(_line("已打印，请取走指南", f"{ID}_printed", size=24, color=GREEN,
                              halign="center"))  # fmt: skip
    back = TouchButton(text="返回列表", ui_id=f"{ID}_back", font_size=28, fill=MUTED,
                       size_hint_y=None, height=90)  # fmt: skip
    back.bind(on_release=lambda _b: ui.step(lambda flow: flow.back()))
    side.add_widget(back)
    side.add_widget(Widget())

    row = BoxLayout(orientation="horizontal", spacing=16)
    row.add_widget(scroll)
    row.add_widget(side)
    return [*catalog_age(screen), *_error(screen), row]


SCREENS = FunctionScreens({"search": search, "guide": guide})

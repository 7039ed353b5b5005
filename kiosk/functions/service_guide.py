"""办事指南's screens: search (filter chips, text, results) and one item's guide (situations,
materials, 打印, QR code).

Draws :class:`flows.service_guide.ServiceGuideFlow`'s ``search`` and ``guide`` screens; every
tap runs a flow step on the kiosk's worker. The search text is typed on the on-screen pinyin
keyboard (:class:`SearchEntry`): the list follows the letters as they are typed (``s`` ``f``
``z`` finds 居民身份证换领) and a picked word (身份证) searches as Chinese text.

**Drawn once, updated after.** A citizen types a letter at a time and every letter is a new
search screen, so the search screen's widgets are kept (one :class:`_SearchView` per kiosk)
and each new screen changes only what differs: the field's text, the total, the results'
rows (a row's label is re-rendered only when its text changes), a chip's colour. Building
them anew cost about a hundred Kivy widgets per letter, 200 ms and more on a kiosk's CPU.
A guide's lines come from a pool the same way (:class:`_GuideView`), and its QR code is a
texture of the symbol's modules that the flow computed on the worker.

A widget that is kept and restyled (关爱模式) is put back in its normal style before one of its
colours or sizes changes (:func:`_renew`), so care mode then restyles the new value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.care_mode import restyle
from kiosk.functions import FunctionScreens, FunctionUi, Kept
from kiosk.keyboard import KeyboardField
from kiosk.widgets import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    INK,
    MUTED,
    RED,
    Text,
    TouchButton,
    qr_widget,
)

ID = "service_guide"
ROW_HEIGHT = 96
CHIP_ROW = 84
QR_SIZE = 300


def _renew(widget: Widget) -> None:
    """Put a kept widget back in its normal style and forget it, before a colour or size of
    it changes: the window's next restyle then starts from the new value."""
    restyle(widget, False)
    for w in widget.walk(restrict=True):
        w.__dict__.pop("_normal_style", None)


def _line(text: str, ui_id: str = "", *, size: int = 26, color: Any = None, bold: bool = False,
          halign: str = "left") -> Text:  # fmt: skip
    """A wrapped line that grows to its text's height (a guide's long paragraphs)."""
    label = Text(text=text, ui_id=ui_id, font_size=size, bold=bold, halign=halign,
                 color=INK if color is None else color, size_hint_y=None,
                 height=size * 2)  # fmt: skip
    label.bind(texture_size=_fit_height)
    return label


def _fit_height(label: Text, size: Sequence[float]) -> None:
    label.height = max(size[1] + 8, label.font_size * 1.6)


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
    scroll = ScrollView(do_scroll_y=False, size_hint_y=None, height=CHIP_ROW, bar_width=6)
    scroll.add_widget(row)
    return scroll


def _choose(ui: FunctionUi, facet: str, value: str | None) -> Callable[[], None]:
    return lambda: ui.step(lambda flow: flow.choose(facet, value))


class SearchEntry:
    """The search text on the on-screen pinyin keyboard: the list follows every letter.

    The letters being composed are searched as pinyin while the citizen types (``sfz`` finds
    居民身份证换领, ``shenfen`` too), and a picked word is searched as Chinese text; the flow
    searches both alike.

    The field is what the citizen typed; the list is the flow's answer. A letter typed while a
    step runs gets no step of its own (the kiosk drops taps while busy), so when an answer
    comes for older text the search is asked again. An answer that differs from a field
    nobody typed in since (a new visit opening 办事指南) resets the field instead.
    """

    def __init__(self, ui: FunctionUi) -> None:
        self.ui = ui
        #: The flow's search text, as the list on screen shows it.
        self.shown = ""
        self._typing = False
        self.field = KeyboardField(ui_id=f"{ID}_text", layouts=("pinyin",), max_length=30,
                                   foldable=True, hint="点此输入事项名称或拼音首字母")  # fmt: skip
        self.field.bind(on_typed=self._typed)

    def wanted(self) -> str:
        return self.field.text or self.field.composing

    def show(self, text: str) -> None:
        """The flow answered with this search text."""
        self.shown = text
        if text == self.wanted():
            self._typing = False
        elif self._typing:
            self._search()
        else:
            self.field.wipe()
            self.field.text = text

    def _typed(self, *_: Any) -> None:
        self._typing = True
        self._search()

    def _search(self) -> None:
        text = self.wanted()
        if text == self.shown:
            self._typing = False
        else:
            self.ui.step(lambda flow: flow.set_text(text))


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


class _SearchView:
    """The search screen's widgets for one kiosk, kept between screens and updated in place."""

    def __init__(self, ui: FunctionUi) -> None:
        self.ui = ui
        self.entry = SearchEntry(ui)
        # While the keys are out, the filter chips make way for the results.
        self.entry.field.bind(unfolded=lambda *_: self._fold_filters())
        self.total = _line("", f"{ID}_total", size=24, color=MUTED)
        self.facets: tuple[Any, ...] | None = None
        self.chips: dict[tuple[str, str], TouchButton] = {}
        self.rows_of_chips: list[ScrollView] = []
        self.grid = GridLayout(cols=1, spacing=16, padding=(0, 8), size_hint_y=None,
                               row_default_height=ROW_HEIGHT, row_force_default=True)  # fmt: skip
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.results = ScrollView(do_scroll_x=False, bar_width=12)
        self.results.add_widget(self.grid)
        #: Result rows, built as more are shown and reused for every search after.
        self.rows: list[TouchButton] = []
        self.more = TouchButton(ui_id=f"{ID}_more", font_size=26, fill=MUTED)
        self.more.bind(on_release=lambda _b: ui.step(lambda flow: flow.more()))
        self.shown_codes: tuple[str, ...] | None = None

    def draw(self, screen: Screen) -> list[Widget]:
        d = screen.data
        q = d["query"]
        self._chips(d, q)
        self.entry.show(q["text"])
        self.total.text = f"共找到{d['total']}项"
        self._results(d)
        return [*catalog_age(screen), *_error(screen), *self.rows_of_chips, self.entry.field,
                self.total, self.results]  # fmt: skip

    def _fold_filters(self) -> None:
        hide = self.entry.field.unfolded
        for row in self.rows_of_chips:
            row.height, row.opacity, row.disabled = (0, 0, True) if hide else (CHIP_ROW, 1, False)

    def _chips(self, d: dict[str, Any], q: dict[str, Any]) -> None:
        facets = (tuple(d["audiences"]),
                  tuple((t["value"], t["label"]) for t in d["themes"]),
                  tuple((t["value"], t["label"]) for t in d["departments"]))  # fmt: skip
        if facets != self.facets:  # a new catalog: its themes and departments
            self.facets = facets
            self.chips = {}
            audiences, themes, departments = facets
            row = [self._chip("audience", a, a) for a in audiences]
            row += [self._chip("theme", v, label) for v, label in themes]
            self.rows_of_chips = [_chip_row(row),
                                  _chip_row([self._chip("department", v, label)
                                             for v, label in departments])]  # fmt: skip
            self._fold_filters()
        for (facet, value), chip in self.chips.items():
            fill = BLUE if q[facet] == value else GREY
            if tuple(chip.fill) != fill:
                _renew(chip)
                chip.fill = fill

    def _chip(self, facet: str, value: str, label: str) -> TouchButton:
        chip = _chip(label, f"{ID}_{facet}_{value}", False, _choose(self.ui, facet, value))
        self.chips[(facet, value)] = chip
        return chip

    def _results(self, d: dict[str, Any]) -> None:
        results = d["results"]
        codes = tuple(r["code"] for r in results)
        if codes != self.shown_codes:
            if self.shown_codes is None or codes[: len(self.shown_codes)] != self.shown_codes:
                self.results.scroll_y = 1  # a new search starts at its top; 更多 stays put
            self.shown_codes = codes
        while len(self.rows) < len(results):
            row = TouchButton(markup=True, font_size=28)
            row.bind(on_release=self._open)
            self.rows.append(row)
        for row, r in zip(self.rows, results):
            row.code = r["code"]
            row.ui_id = f"{ID}_item_{r['code']}"
            row.text = f"{r['name']}\n[size=20]{r['department']}[/size]"
        wanted: list[Widget] = list(self.rows[: len(results)])
        if d["total"] > len(results):
            self.more.text = f"更多（共{d['total']}项）"
            wanted.append(self.more)
        if list(reversed(self.grid.children)) != wanted:
            self.grid.clear_widgets()
            for w in wanted:
                self.grid.add_widget(w)

    def _open(self, row: TouchButton) -> None:
        code = row.code
        self.ui.step(lambda flow: flow.open_item(code))


class _GuideView:
    """A guide's widgets: the side column (QR code, 打印, 返回列表) kept, the text lines taken
    from a pool and given each guide's text."""

    def __init__(self, ui: FunctionUi) -> None:
        self.ui = ui
        self.body = BoxLayout(orientation="vertical", spacing=6, size_hint_y=None, padding=(8, 8))
        self.body.bind(minimum_height=self.body.setter("height"))
        self.scroll = ScrollView(do_scroll_x=False, bar_width=12)
        self.scroll.add_widget(self.body)
        self.pool: list[Text] = []
        self.printer = TouchButton(text="打印指南", ui_id=f"{ID}_print", font_size=30,
                                   size_hint_y=None, height=96)  # fmt: skip
        self.printer.bind(on_release=lambda _b: ui.step(lambda flow: flow.print_guide(),
                                                        busy="正在打印，请稍候…"))  # fmt: skip
        self.printed = _line("已打印，请取走指南", f"{ID}_printed", size=24, color=GREEN,
                             halign="center")  # fmt: skip
        self.back = TouchButton(text="返回列表", ui_id=f"{ID}_back", font_size=28, fill=MUTED,
                                size_hint_y=None, height=90)  # fmt: skip
        self.back.bind(on_release=lambda _b: ui.step(lambda flow: flow.back()))
        self.qr_hint = _line("手机扫码查看指南", size=22, color=MUTED, halign="center")
        self.qr_rows: tuple[str, ...] | None = None
        self.qr: Widget = Widget()
        self.code: str | None = None

    def draw(self, screen: Screen) -> list[Widget]:
        d = screen.data
        item = d["item"]
        lines: list[tuple[str, str, int, bool, Any]] = [
            (item["name"], f"{ID}_name", 36, True, BLUE)]  # fmt: skip
        for label, key in (
            ("办理部门", "department"), ("承诺时限", "promised_time_limit"),
            ("法定时限", "legal_time_limit"), ("咨询电话", "phone"), ("办理地点", "address"),
            ("办理时间", "office_hours"), ("收费标准", "fee"),
        ):  # fmt: skip
            if item[key]:
                lines.append((f"{label}：{item[key]}", f"{ID}_{key}", 24, False, INK))
        chips: list[Widget] = []
        if d["situations"]:
            lines.append(("办理情形（请选择，材料随之调整）", "", 26, True, INK))
            chips = [_chip_row([
                _chip(s["name"], f"{ID}_situation_{s['code']}", s["chosen"],
                      lambda c=s["code"], chosen=s["chosen"]: self.ui.step(
                          lambda flow: flow.choose_situation(None if chosen else c)))
                for s in d["situations"]])]  # fmt: skip
        at_chips = len(lines)
        lines.append((f"申请材料（{len(d['materials'])}项）", f"{ID}_materials_title", 26, True, INK))
        for n, m in enumerate(d["materials"], start=1):
            extra = "" if m["required"] else "（非必要，可容缺后补）"
            note = f"；{m['note']}" if m["note"] else ""
            lines.append((f"{n}. {m['name']}：{m['form']}{m['copies']}份{extra}{note}",
                          f"{ID}_material_{m['id']}", 24, False, INK))  # fmt: skip
        lines.append(("受理条件", "", 26, True, INK))
        lines += [(f"{n}. {c}", "", 24, False, INK) for n, c in enumerate(item["conditions"], 1)]
        lines.append(("设定依据", "", 26, True, INK))
        lines += [(basis, "", 22, False, MUTED) for basis in item["legal_basis"]]

        widgets: list[Widget] = [self._take(i, *line) for i, line in enumerate(lines)]
        widgets[at_chips:at_chips] = chips
        if self.code != item["code"]:
            self.code = item["code"]
            self.scroll.scroll_y = 1  # another guide starts at its top; a situation stays put
        self.body.clear_widgets()
        for w in widgets:
            self.body.add_widget(w)

        qr_rows = tuple(d["qr_rows"])
        if qr_rows != self.qr_rows:
            self.qr_rows = qr_rows
            self.qr = qr_widget(qr_rows, QR_SIZE, f"{ID}_qr")
        self.printer.disabled = not d["can_print"]
        side = BoxLayout(orientation="vertical", spacing=12, size_hint_x=None, width=320)
        for w in (self.qr, self.qr_hint, self.printer, *([self.printed] if d["printed"] else []),
                  self.back, Widget()):  # fmt: skip
            if w.parent is not None:
                w.parent.remove_widget(w)
            side.add_widget(w)
        row = BoxLayout(orientation="horizontal", spacing=16)
        if self.scroll.parent is not None:
            self.scroll.parent.remove_widget(self.scroll)
        row.add_widget(self.scroll)
        row.add_widget(side)
        return [*catalog_age(screen), *_error(screen), row]

    def _take(self, i: int, text: str, ui_id: str, size: int, bold: bool, color: Any) -> Text:
        """The pool's ``i``-th line with this text and style (new only past the pool's end)."""
        if i == len(self.pool):
            self.pool.append(_line(text, ui_id, size=size, color=color, bold=bold))
            return self.pool[i]
        label = self.pool[i]
        if (label.font_size, label.bold, tuple(label.color)) != (size, bold, tuple(color)):
            _renew(label)
            label.font_size, label.bold, label.color = size, bold, color
        label.text, label.ui_id = text, ui_id
        return label


#: The views of each window's 办事指南, kept: see "Drawn once, updated after" above.
_views: Kept[tuple[_SearchView, _GuideView]] = Kept()


def _view(ui: FunctionUi) -> tuple[_SearchView, _GuideView]:
    return _views.get(ui, lambda: (_SearchView(ui), _GuideView(ui)))


def search(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Filter chips, text, and the matching items."""
    return _view(ui)[0].draw(screen)


def guide(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The guide: facts, situations, materials, conditions, legal basis; 打印 and a QR code."""
    return _view(ui)[1].draw(screen)


SCREENS = FunctionScreens({"search": search, "guide": guide})

"""自助复印's screens: what to copy, for which business, placing each side or page under the
高拍仪 (the last crop shown from memory), the copies, 打印, and the printer fault screen with
继续打印 / 取消 (:class:`flows.self_copy.SelfCopyFlow`)."""

from __future__ import annotations

from functools import partial
import io
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.form_screens import error_line, note, title
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.step_button import step_button
from kiosk.widgets import GREEN, Text, button_grid

_CAPTURING = "正在拍摄，请勿移动材料…"
_PRINTING = "正在复印，请稍候…"
#: Two lines each: on one, the last word wrapped alone onto a second line.
_PLACE = {
    "front": "请将身份证人像面朝上平放在高拍仪下\n放好后点击“拍摄”",
    "back": "请将身份证国徽面朝上平放在高拍仪下\n放好后点击“拍摄”",
    "page": "请将第{page}页材料正面朝上平放在高拍仪下\n放好后点击“拍摄”",
}


def choose_kind(screen: Screen, ui: FunctionUi) -> list[Widget]:
    buttons = [
        _button(f"{k['title']}\n[size=22]{k['note']}[/size]", f"self_copy_{k['id']}", ui,
                lambda f, kid=k["id"]: f.choose_kind(kid), markup=True, height=140)
        for k in screen.data["kinds"]
    ]  # fmt: skip
    return [title("请选择复印内容"), button_grid(buttons, 1, 140), *error_line(screen)]


def choose_purpose(screen: Screen, ui: FunctionUi) -> list[Widget]:
    buttons = [
        _button(p["name"], f"self_copy_purpose_{p['id']}", ui,
                lambda f, pid=p["id"]: f.choose_purpose(pid))
        for p in screen.data["purposes"]
    ]  # fmt: skip
    return [title("复印件用于办理哪项业务？"),
            note("复印件将加注“仅供办理××业务使用”水印", "self_copy_purpose_note"),
            button_grid(buttons, 2, 100), _button("返回", "self_copy_back", ui, lambda f: f.back())]  # fmt: skip


def place(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """Where to lay the card or page, the last crop, 拍摄 / 重拍 / 拍摄完成."""
    d = screen.data
    where = note(_PLACE[d["side"]].format(page=d["page"]), "self_copy_place")
    widgets: list[Widget] = [*_heading(d), where]
    if d["last_jpeg"]:
        widgets.append(_image(d["last_jpeg"], "self_copy_last"))
    else:
        widgets.append(Widget())
    widgets += error_line(screen)
    row = BoxLayout(spacing=12, size_hint_y=None, height=96)
    if d["can_capture"]:
        row.add_widget(_button("拍摄", "self_copy_capture", ui, lambda f: f.capture(), busy=_CAPTURING))
    if d["captured"]:
        row.add_widget(_button("重拍上一张", "self_copy_retake", ui, lambda f: f.retake()))
    if d["can_finish"]:
        row.add_widget(_button(f"拍摄完成（{d['captured']}页）", "self_copy_finish", ui,
                               lambda f: f.finish_pages()))  # fmt: skip
    widgets += [row, _button("返回", "self_copy_back", ui, lambda f: f.back(), height=80)]
    return widgets


def confirm(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The scans, the copies (− / +), 打印."""
    d = screen.data
    previews = BoxLayout(spacing=12)
    for i, scan in enumerate(d["previews"]):
        previews.add_widget(_image(scan, f"self_copy_preview_{i + 1}"))
    copies = BoxLayout(spacing=12, size_hint_y=None, height=90)
    copies.add_widget(_button("－", "self_copy_fewer", ui,
                              lambda f, n=d["copies"] - 1: f.set_copies(n)))  # fmt: skip
    copies.add_widget(Text(text=f"{d['copies']} 份", ui_id="self_copy_copies", font_size=34))
    copies.add_widget(_button("＋", "self_copy_more", ui,
                              lambda f, n=d["copies"] + 1: f.set_copies(n)))  # fmt: skip
    widgets: list[Widget] = [*_heading(d), previews, copies, *error_line(screen)]
    if d["can_print"]:
        label = "重新打印" if screen.error_key else "打印"
        widgets.append(_button(label, "self_copy_print", ui, lambda f: f.print_copy(), busy=_PRINTING))
    else:
        widgets.append(note("本机未配置打印机，请到窗口复印", "self_copy_no_printer"))
    widgets.append(_button("重新开始", "self_copy_back", ui, lambda f: f.back(), height=80))
    return widgets


def paused(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """A printer fault mid-job: 继续打印 once staff fixed it, or 取消."""
    return [
        title("复印暂停"), *error_line(screen),
        note("工作人员处理后请点击“继续打印”；不再需要请点击“取消”", "self_copy_paused"),
        Widget(),
        _button("继续打印", "self_copy_resume", ui, lambda f: f.resume(), busy=_PRINTING),
        _button("取消", "self_copy_cancel", ui, lambda f: f.cancel_print()),
    ]  # fmt: skip


def printed(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    return [
        title("复印完成"),
        Text(text=f"已复印 {d['copies']} 份，请在打印机出纸口取走", ui_id="self_copy_printed",
             font_size=30, color=GREEN, bold=True, size_hint_y=None, height=60),
        Widget(), _button("继续复印", "self_copy_again", ui, lambda f: f.back()),
    ]  # fmt: skip


def cancelled(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("复印已取消"), note("本次复印已取消，不会再打印", "self_copy_cancelled"),
            Widget(), _button("重新开始", "self_copy_again", ui, lambda f: f.back())]  # fmt: skip


def _heading(d: dict[str, Any]) -> list[Widget]:
    """What is copied, and the watermark it will carry on a line of its own (in the title it
    wrapped, its closing bracket alone on a second line)."""
    return [title(d["kind_title"]),
            note(f"复印件加注水印：仅供办理{d['purpose_name']}业务使用", "self_copy_purpose")]  # fmt: skip


def _image(data: bytes, ui_id: str) -> Image:
    # Drawn from the bytes in memory: no copy of the citizen's card is written to disk.
    texture = CoreImage(io.BytesIO(data), ext="jpg").texture
    image = Image(texture=texture, fit_mode="contain")
    image.ui_id = ui_id
    return image


_button = partial(step_button, font_size=30, markup=False, size_hint_y=None, height=90)


SCREENS = FunctionScreens(
    {
        "choose_kind": choose_kind,
        "choose_purpose": choose_purpose,
        "place": place,
        "confirm": confirm,
        "paused": paused,
        "printed": printed,
        "cancelled": cancelled,
    }
)

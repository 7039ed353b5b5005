"""证明打印's screens: the certificates, each page of the one issued (the platform's PNG preview,
drawn from memory, never from a file), 打印, and what went wrong
(:class:`flows.certificates.CertificatesFlow`)."""

from __future__ import annotations

from functools import partial
import io

from kivy.core.image import Image as CoreImage
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.form_screens import error_line, note, title
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.step_button import step_button
from kiosk.widgets import GREEN, Text, button_grid

_PRINTING = "正在打印，请稍候…"


def choose_certificate(screen: Screen, ui: FunctionUi) -> list[Widget]:
    buttons = [
        _button(f"{c['title']}\n[size=22]{c['note']}[/size]", f"certificates_{c['id']}", ui,
                lambda f, cid=c["id"]: f.choose(cid), markup=True, height=140)
        for c in screen.data["certificates"]
    ]  # fmt: skip
    return [title("请选择要打印的证明"), button_grid(buttons, 1, 140), *error_line(screen)]


def preview(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The page shown, 上一页 / 下一页, 打印 (or 已打印), and a printer fault if there was one."""
    d = screen.data
    texture = CoreImage(io.BytesIO(d["page_png"]), ext="png").texture
    page = Image(texture=texture, fit_mode="contain")
    pages = BoxLayout(spacing=12, size_hint_y=None, height=80)
    if d["pages"] > 1:
        pages.add_widget(_button("上一页", "certificates_previous", ui,
                                 lambda f, n=d["page"] - 1: f.page(n), height=80))
        pages.add_widget(Text(text=f"第{d['page']}页 共{d['pages']}页", ui_id="certificates_page",
                              font_size=26))
        pages.add_widget(_button("下一页", "certificates_next", ui,
                                 lambda f, n=d["page"] + 1: f.page(n), height=80))  # fmt: skip
    widgets: list[Widget] = [title(d["title"]), page, pages, *error_line(screen)]
    if d["printed"]:
        widgets.append(Text(text="已打印，请在打印机出纸口取走", ui_id="certificates_printed",
                            font_size=30, color=GREEN, bold=True, size_hint_y=None, height=60))  # fmt: skip
    elif d["can_print"]:
        label = "重新打印" if screen.error_key else "打印"
        widgets.append(_button(label, "certificates_print", ui, lambda f: f.print_document(), busy=_PRINTING))
    else:
        widgets.append(note("本机未配置打印机，请到窗口打印", "certificates_no_printer"))
    widgets.append(_button("返回", "certificates_back", ui, lambda f: f.back(), height=80))
    return widgets


def refused(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title(screen.data["title"]), *error_line(screen), Widget(),
            _button("返回", "certificates_back", ui, lambda f: f.back())]  # fmt: skip


def unavailable(screen: Screen, ui: FunctionUi) -> list[Widget]:
    widgets: list[Widget] = [title(screen.data["title"]), *error_line(screen), Widget()]
    if screen.data.get("retry"):
        widgets.append(_button("重试", "certificates_retry", ui, lambda f: f.retry(),
                               busy="正在获取证明，请稍候…"))  # fmt: skip
    widgets.append(_button("返回", "certificates_back", ui, lambda f: f.back()))
    return widgets


_button = partial(step_button, font_size=30, markup=False, size_hint_y=None, height=90)


SCREENS = FunctionScreens(
    {
        **IDENTIFY_SCREENS,
        "choose_certificate": choose_certificate,
        "preview": preview,
        "refused": refused,
        "unavailable": unavailable,
    }
)

"""自助填表's screens: the forms, the citizen's card, on screen or by phone (a QR code polled
until the phone has submitted), the form, its preview and the print
(:class:`flows.form_print.FormPrintFlow`).

The form's own screens (``form_mode``, ``phone_qr``, ``form``) are 自助申报's too
(:mod:`kiosk.functions.self_submission` includes :data:`FORM_SOURCE_SCREENS`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
import io
from typing import Any

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from flows.guide_document import qr_image
from flows.screens import Screen
from kiosk.form_screens import FORM_SCREENS, error_line, field_rows, note, title
from kiosk.functions import Draw, FunctionScreens, FunctionUi
from kiosk.identify_screens import IDENTIFY_SCREENS
from kiosk.step_button import step_button
from kiosk.widgets import GREEN, INK, Text, TouchButton, button_grid

#: Seconds between two polls of the phone form (each poll itself waits up to 2 s upstream).
PHONE_POLL_S = 0.5


#: The form screens' button; 自助申报 draws its screens with it too.
button = partial(step_button, font_size=32, size_hint_y=None, height=96)


def poll_while_shown(widget: Widget, ui: FunctionUi, action: Callable[[Any], Screen],
                     delay_s: float) -> None:  # fmt: skip
    """Run ``action`` once after ``delay_s`` unless the screen was replaced meanwhile (the
    step's answer redraws the screen, which schedules the next poll)."""
    event = Clock.schedule_once(lambda _dt: ui.step(action), delay_s)
    widget.bind(parent=lambda _w, parent: event.cancel() if parent is None else None)


def items(prefix: str) -> Draw:
    def draw(screen: Screen, ui: FunctionUi) -> list[Widget]:
        buttons: list[Widget] = []
        for row in screen.data["items"]:
            b = TouchButton(text=f"{row['name']}\n[size=24]{row['form_name']}[/size]",
                            markup=True, ui_id=f"{prefix}_item_{row['code'][-12:]}", font_size=30)
            b.bind(on_release=lambda _b, c=row["code"]: ui.step(lambda f: f.choose_item(c),
                                                               busy="正在读取事项…"))
            buttons.append(b)
        return [title("请选择办理事项"), *error_line(screen), button_grid(buttons, 1, 110)]

    return draw


def form_mode(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    return [
        title(f"填写{d['form_name']}"),
        note(f"申请人：{d['applicant']['name']}  {d['applicant']['id_number']}", "form_applicant"),
        *error_line(screen),
        Widget(),
        button("在本机填写", "form_on_screen", ui, lambda f: f.fill_on_screen()),
        button("手机扫码填写", "form_by_phone", ui, lambda f: f.fill_by_phone(),
               busy="正在生成填表二维码…"),
    ]  # fmt: skip


def phone_qr(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The mobile form's QR code; polls until the phone has submitted."""
    d = screen.data
    buffer = io.BytesIO()
    qr_image(d["url"], 400).save(buffer, format="PNG")
    buffer.seek(0)
    image = Image(texture=CoreImage(buffer, ext="png").texture, size_hint_y=None, height=420,
                  fit_mode="contain")  # fmt: skip
    image.ui_id = "form_phone_qr"  # type: ignore[attr-defined]
    poll_while_shown(image, ui, lambda f: f.poll_phone(), PHONE_POLL_S)
    return [
        title("请用手机扫码填写"),
        image,
        note(f"{d['form_name']}：在手机上填好并提交后，本机自动继续（{d['expires_min']}分钟内有效）",
             "form_phone_note", 80),
        *error_line(screen),
        button("改为在本机填写", "form_on_screen", ui, lambda f: f.fill_on_screen()),
    ]  # fmt: skip


def form(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    widgets: list[Widget] = [title(d["form_name"])]
    if d.get("from_phone"):
        widgets.append(note("已收到手机填写的内容，请核对", "form_from_phone"))
    return widgets + [field_rows(screen, ui), *error_line(screen),
                      button("下一步", "form_next", ui, lambda f: f.form_done())]  # fmt: skip


def unavailable(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [title("暂时无法办理"), *error_line(screen), Widget()]


def preview(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    rows = [Text(text=f"{r['label']}：{r['value']}", ui_id=f"form_fill_row_{n}", font_size=28,
                 color=INK, halign="left", size_hint_y=None, height=50)
            for n, r in enumerate(d["rows"])]  # fmt: skip
    widgets: list[Widget] = [title(f"请核对{d['form_name']}"), *rows, Widget(),
                             button("返回修改", "form_fill_change", ui, lambda f: f.show_form())]
    if d["can_print"]:
        widgets.append(button("打印", "form_fill_print", ui, lambda f: f.print_form(),
                              busy="正在打印，请稍候…"))  # fmt: skip
    return widgets


def printed(screen: Screen, ui: FunctionUi) -> list[Widget]:
    d = screen.data
    if d["printed"]:
        return [Text(text="打印完成", ui_id="form_fill_done", font_size=48, bold=True, color=GREEN,
                     size_hint_y=None, height=90),
                note(f"请取走{d['form_name']}，签字后交窗口工作人员", "form_fill_take"),
                Widget()]  # fmt: skip
    return [title("未能打印"), *error_line(screen), Widget(),
            button("重新打印", "form_fill_reprint", ui, lambda f: f.print_form(),
                   busy="正在打印，请稍候…")]  # fmt: skip


FORM_SOURCE_SCREENS: dict[str, Draw] = {
    **IDENTIFY_SCREENS,
    **FORM_SCREENS,
    "form_mode": form_mode,
    "phone_qr": phone_qr,
    "form": form,
    "unavailable": unavailable,
}

SCREENS = FunctionScreens({
    **FORM_SOURCE_SCREENS,
    "choose_item": items("form_fill"),
    "preview": preview,
    "printed": printed,
})  # fmt: skip

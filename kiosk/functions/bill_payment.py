"""生活缴费's screens: bill types, the account, the bill and its channels, the QR code (polled
until paid or given up), then the result.

Draws :class:`flows.bill_payment.BillPaymentFlow`'s screens. The QR screen asks the flow
every ``poll_s`` seconds (``flow.check()``) through the kiosk's worker, never on the Kivy
thread; the poll stops when the screen is replaced (its clock event is bound to the widget).
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from flows.screens import Screen
from kiosk.functions import FunctionScreens, FunctionUi
from kiosk.keyboard import KeyboardField
from kiosk.widgets import (
    BLUE,
    GREEN,
    MUTED,
    RED,
    Text,
    TouchButton,
    button_grid,
    grid_columns,
)

#: The longest account typed: a fixed line's area code and number (0979 and 7 digits), with
#: a digit to spare; water and electricity accounts have 10, gas 8.
ACCOUNT_MAX = 12


def _title(text: str) -> Text:
    return Text(text=text, ui_id="screen_title", font_size=40, bold=True, size_hint_y=None,
                height=80)  # fmt: skip


def _error(screen: Screen) -> list[Widget]:
    if not screen.error_text:
        return []
    return [Text(text=screen.error_text, ui_id="error_line", font_size=28, color=RED,
                 size_hint_y=None, height=60)]  # fmt: skip


def choose_bill_type(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """请选择缴费项目 and a button per bill type."""
    buttons: list[Widget] = []
    for t in screen.data["types"]:
        button = TouchButton(text=t["name"], ui_id=f"bill_payment_type_{t['id']}", font_size=40)
        button.bind(on_release=lambda _b, i=t["id"]: ui.step(lambda f: f.choose_type(i)))
        buttons.append(button)
    columns = grid_columns(len(buttons))
    return [_title("请选择缴费项目"), button_grid(buttons, columns, row_height=140), *_error(screen)]


def enter_account(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The account on the digit keyboard, and 查询. A fixed-line number's hyphen is optional
    (``0979-8412345`` and ``09798412345`` are the same account), so digits are enough."""
    hint = "请输入固定电话号码（含区号）" if screen.data["bill_type"] == "phone" else "请输入户号"
    field = KeyboardField(ui_id="bill_payment_account", layouts=("digits",), hint=hint,
                          max_length=ACCOUNT_MAX)  # fmt: skip
    query = TouchButton(text="查询", ui_id="bill_payment_lookup", font_size=36, size_hint_y=None,
                        height=100)  # fmt: skip
    query.bind(on_release=lambda _b: ui.step(lambda f: f.lookup(field.text),
                                             busy="正在查询账单，请稍候…"))  # fmt: skip
    return [_title(f"{screen.data['type_name']}查询"), field, *_error(screen), Widget(), query]


def bill(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The bill, and a button per channel."""
    d = screen.data
    lines = [
        f"{d['biller']}", f"户号：{d['account']}    户名：{d['holder']}",
        f"账期：{d['period']}",
    ]  # fmt: skip
    widgets: list[Widget] = [_title(f"{d['type_name']}账单")]
    widgets += [Text(text=line, font_size=30, size_hint_y=None, height=52) for line in lines]
    widgets.append(Text(text=f"应缴金额：¥{d['amount_yuan']}", ui_id="bill_payment_amount",
                        font_size=44, bold=True, color=BLUE, size_hint_y=None, height=80))
    buttons: list[Widget] = []
    for c in d["channels"]:
        button = TouchButton(text=f"{c['name']}扫码支付", ui_id=f"bill_payment_pay_{c['id']}",
                             font_size=34)  # fmt: skip
        button.bind(on_release=lambda _b, i=c["id"]: ui.step(lambda f: f.pay(i),
                                                           busy="正在生成支付二维码…"))
        buttons.append(button)
    widgets += [button_grid(buttons, grid_columns(len(buttons)), row_height=110), *_error(screen)]
    return widgets


def scan_qr(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The QR code, the amount, the time left; polls the flow until the screen changes."""
    d = screen.data
    image = Image(texture=_qr_texture(d["qr_code"]), size_hint_y=None, height=420,
                  fit_mode="contain")  # fmt: skip
    image.ui_id = "bill_payment_qr"  # type: ignore[attr-defined]
    change = TouchButton(text="换一种支付方式", ui_id="bill_payment_change", font_size=30,
                         size_hint_y=None, height=90)  # fmt: skip
    change.bind(on_release=lambda _b: ui.step(lambda f: f.change_channel()))
    event = Clock.schedule_once(lambda _dt: ui.step(lambda f: f.check()), d["poll_s"])
    image.bind(parent=lambda widget, parent: event.cancel() if parent is None else None)
    return [
        _title(f"请使用{d['channel_name']}扫码支付"),
        Text(text=f"{d['type_name']}  ¥{d['amount_yuan']}", ui_id="bill_payment_amount",
             font_size=40, bold=True, color=BLUE, size_hint_y=None, height=70),
        image,
        Text(text=f"请在{d['remaining_s']}秒内完成支付", ui_id="bill_payment_remaining",
             font_size=28, color=MUTED, size_hint_y=None, height=50),
        *_error(screen),
        change,
    ]  # fmt: skip


def paid(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """缴费成功, the order number, and the receipt's fate."""
    d = screen.data
    widgets: list[Widget] = [
        Text(text="缴费成功", ui_id="bill_payment_done", font_size=56, bold=True, color=GREEN,
             size_hint_y=None, height=100),
        Text(text=f"{d['type_name']}  ¥{d['amount_yuan']}", font_size=36, size_hint_y=None,
             height=60),
        Text(text=f"订单号：{d['out_trade_no']}", ui_id="bill_payment_order", font_size=28,
             color=MUTED, size_hint_y=None, height=50),
    ]  # fmt: skip
    if screen.error_text:
        widgets += [
            *_error(screen),
            Text(text="缴费已成功，凭条未打印，请记下订单号或联系工作人员补打",
                 ui_id="bill_payment_receipt_hint", font_size=28, color=RED, size_hint_y=None,
                 height=56),
        ]  # fmt: skip
        again = TouchButton(text="重新打印凭条", ui_id="bill_payment_reprint", font_size=30,
                            size_hint_y=None, height=90)  # fmt: skip
        again.bind(on_release=lambda _b: ui.step(lambda f: f.reprint(), busy="正在打印凭条…"))
        widgets.append(again)
    else:
        widgets.append(Text(text="请取走缴费凭条", ui_id="bill_payment_take_receipt",
                            font_size=30, color=MUTED, size_hint_y=None, height=56))  # fmt: skip
    return [*widgets, Widget()]


def timed_out(screen: Screen, ui: FunctionUi) -> list[Widget]:
    """The order ended unpaid: the sentence says whether anything was charged."""
    return [_title("支付未完成"), *_error(screen),
            Text(text=f"订单号：{screen.data['out_trade_no']}", font_size=28, color=MUTED,
                 size_hint_y=None, height=50), Widget()]  # fmt: skip


def unavailable(screen: Screen, ui: FunctionUi) -> list[Widget]:
    return [_title("生活缴费"), *_error(screen), Widget()]


def _qr_texture(payload: str) -> Any:
    buffer = io.BytesIO()
    qrcode.make(payload, box_size=10, border=2).save(buffer, format="PNG")
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture


SCREENS = FunctionScreens({
    "choose_bill_type": choose_bill_type, "enter_account": enter_account, "bill": bill,
    "scan_qr": scan_qr, "paid": paid, "timed_out": timed_out, "unavailable": unavailable,
})  # fmt: skip

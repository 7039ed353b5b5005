"""The 生活缴费 receipt (缴费凭条): laid out as a one-page PDF and printed on the kiosk's A4
printer, printed at most once per paid order even across a crash.

The order book says ``printing`` before the job is submitted, and the job's id is written to
it as soon as CUPS accepts the job; a restart follows that job instead of printing again, and
only a job that CUPS aborted or cancelled is printed anew. A kill between CUPS accepting the
job and the id being written leaves ``printing`` without an id: the restart then finds the
job by its title, which is unique to the order (:func:`submitted_job`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.clock import hall_time
from core.fonts import cjk_font
from devices.document_printer import DocumentPrinter
from drivers.cups_printer import JOB_ABORTED, JOB_CANCELED

#: The receipt's fixed text (user-facing, so it lives in one place).
RECEIPT_TEXT = {
    "title": "生活缴费凭条",
    "footer": "请妥善保管本凭条，如有疑问请凭订单号咨询工作人员",
}

_DPI = 150
_A4 = (1240, 1754)


@dataclass(frozen=True)
class ReceiptContent:
    """What a receipt says. Nothing names the citizen."""

    hall_name: str
    type_name: str
    bill_no: str
    amount_yuan: str
    channel_name: str
    out_trade_no: str
    trade_no: str
    paid_at: float


def receipt_pdf(content: ReceiptContent, path: Path) -> Path:
    """Lay the receipt out as a one-page A4 PDF at ``path``."""
    page = Image.new("RGB", _A4, "white")
    draw = ImageDraw.Draw(page)
    font_path = str(cjk_font())
    title = ImageFont.truetype(font_path, 64)
    body = ImageFont.truetype(font_path, 40)
    small = ImageFont.truetype(font_path, 30)
    y = 150
    draw.text((_A4[0] // 2, y), content.hall_name, font=body, fill="black", anchor="mm")
    y += 100
    draw.text((_A4[0] // 2, y), RECEIPT_TEXT["title"], font=title, fill="black", anchor="mm")
    y += 140
    rows = [
        ("缴费项目", content.type_name),
        ("账单编号", content.bill_no),
        ("缴费金额", f"¥{content.amount_yuan}"),
        ("支付方式", content.channel_name),
        ("订单号", content.out_trade_no),
        ("交易流水号", content.trade_no),
        ("缴费时间", hall_time(content.paid_at).strftime("%Y-%m-%d %H:%M:%S")),
    ]
    for label, value in rows:
        draw.text((160, y), f"{label}：", font=body, fill="black")
        draw.text((480, y), value, font=body, fill="black")
        y += 80
    draw.text((_A4[0] // 2, y + 80), RECEIPT_TEXT["footer"], font=small, fill="black",
              anchor="mm")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    page.save(path, "PDF", resolution=_DPI)
    return path


def submit(printer: DocumentPrinter, path: Path, title: str) -> int:
    """Hand the receipt to the printer's queue; its job id."""
    options = {"media": printer.profile.media, "sides": printer.profile.sides, "copies": "1"}
    return printer.driver.submit(str(path), title, options)


def submitted_job(printer: DocumentPrinter, title: str) -> int | None:
    """The job a previous run submitted under ``title`` before it could record the id."""
    return printer.driver.find_job(title)


def needs_new_job(printer: DocumentPrinter, job_id: int) -> bool:
    """Whether a job recorded before a restart ended without printing (so print again)."""
    return printer.driver.job(job_id).state in (JOB_CANCELED, JOB_ABORTED)

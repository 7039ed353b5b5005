"""A service item's guide (办事指南) as an A4 PDF for the document printer.

Drawn with Pillow in Noto Sans CJK (:mod:`core.fonts`) at 150 dpi and saved as PDF pages:
Pillow is locked already, and a printed guide is a page of text and one QR code, which needs
no PDF library. The first page carries the QR code of the guide on the platform's public site,
so a citizen can carry it on their phone; every page has the item's code and the page number.
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from core.fonts import CJK_BOLD, cjk_font, require_font
from govplatform.catalog import ServiceItem

#: A4 at 150 dpi.
PAGE_W, PAGE_H = 1240, 1754
DPI = 150
MARGIN = 100
QR_SIZE = 240
INK = (20, 24, 30)
MUTED = (96, 104, 116)
RULE = (200, 205, 212)


class _Pages:
    """Pages being filled top to bottom; a line that does not fit starts a new page."""

    def __init__(self, footer: str) -> None:
        self.footer = footer
        self.body = ImageFont.truetype(str(cjk_font()), 26)
        self.small = ImageFont.truetype(str(cjk_font()), 20)
        self.bold = ImageFont.truetype(str(require_font(CJK_BOLD)), 30)
        self.title = ImageFont.truetype(str(require_font(CJK_BOLD)), 44)
        self.pages: list[Image.Image] = []
        self.y = 0
        self._new_page()

    def _new_page(self) -> None:
        self.pages.append(Image.new("RGB", (PAGE_W, PAGE_H), "white"))
        self.draw = ImageDraw.Draw(self.pages[-1])
        self.y = MARGIN

    def text(
        self,
        text: str,
        font: ImageFont.FreeTypeFont,
        *,
        indent: int = 0,
        fill: tuple[int, int, int] = INK,
        right: int = PAGE_W - MARGIN,
    ) -> None:
        """Wrapped text; Chinese breaks between any two characters."""
        height = int(font.size * 1.55)
        for line in _wrap(text, font, right - MARGIN - indent):
            if self.y + height > PAGE_H - MARGIN - 40:
                self._new_page()
            self.draw.text((MARGIN + indent, self.y), line, font=font, fill=fill)
            self.y += height

    def heading(self, text: str) -> None:
        self.y += 18
        self.text(text, self.bold)
        self.draw.line((MARGIN, self.y, PAGE_W - MARGIN, self.y), fill=RULE, width=2)
        self.y += 10

    def finish(self) -> list[Image.Image]:
        for n, page in enumerate(self.pages, start=1):
            ImageDraw.Draw(page).text(
                (MARGIN, PAGE_H - MARGIN),
                f"{self.footer}    第{n}页 / 共{len(self.pages)}页",
                font=self.small,
                fill=MUTED,
            )
        return self.pages


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for char in text:
        if font.getlength(line + char) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line else lines or [""]


def qr_image(url: str, size: int = QR_SIZE) -> Image.Image:
    """The QR code of ``url`` as a square image ``size`` pixels wide."""
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    symbol.add_data(url)
    symbol.make(fit=True)
    image = symbol.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("RGB").resize((size, size), Image.Resampling.NEAREST)


def write_guide_pdf(
    item: ServiceItem,
    situation: str | None,
    qr_url: str,
    path: Path,
    printed_on: str,
    hall_name: str = "",
) -> int:
    """Draw ``item``'s guide, its materials narrowed to ``situation``, into ``path``.

    Args:
        item: the item.
        situation: the chosen 办理情形's code, or None.
        qr_url: what the QR code opens (the guide on the platform's public site).
        path: the PDF written.
        printed_on: the date printed in the footer (``2026-11-23``).
        hall_name: the hall that printed it, in the footer.

    Returns:
        The number of pages.

    Raises:
        ConfigError (100): the Chinese font is missing.
    """
    pages = _Pages(f"{hall_name}  {printed_on}打印  事项编码 {item.code}".strip())
    text_right = PAGE_W - MARGIN - QR_SIZE - 30
    pages.text("办事指南", pages.small, fill=MUTED)
    pages.text(item.name, pages.title, right=text_right)
    pages.y += 8
    facts = [
        ("办理部门", item.department),
        ("事项类型", item.item_type),
        ("服务对象", "、".join(item.audiences)),
        ("承诺时限", item.promised_time_limit),
        ("法定时限", item.legal_time_limit),
        ("收费标准", item.fee),
        ("咨询电话", item.phone),
        ("监督投诉", item.complaint_phone),
        ("办理地点", item.address),
        ("办理时间", item.office_hours),
    ]
    for label, value in facts:
        if value:
            pages.text(f"{label}：{value}", pages.body, right=text_right if pages.y < 520 else PAGE_W - MARGIN)
    first = pages.pages[0]
    first.paste(qr_image(qr_url), (PAGE_W - MARGIN - QR_SIZE, MARGIN + 40))
    ImageDraw.Draw(first).text(
        (PAGE_W - MARGIN - QR_SIZE + 30, MARGIN + 50 + QR_SIZE),
        "手机扫码查看指南",
        font=pages.small,
        fill=MUTED,
    )
    pages.y = max(pages.y, MARGIN + QR_SIZE + 90) if len(pages.pages) == 1 else pages.y

    chosen = item.situation(situation) if situation else None
    if item.situations:
        pages.heading("办理情形")
        pages.text(
            f"按“{chosen.name}”列出所需材料" if chosen else "未选择办理情形，仅列出各情形均需的材料",
            pages.body,
        )
    pages.heading("受理条件")
    for n, condition in enumerate(item.conditions, start=1):
        pages.text(f"{n}. {condition}", pages.body, indent=10)
    pages.heading("申请材料")
    for n, m in enumerate(item.materials_for(situation), start=1):
        extra = "" if m.required else "（非必要，可容缺后补）"
        note = f"；{m.note}" if m.note else ""
        pages.text(f"{n}. {m.name}：{m.form}{m.copies}份{extra}{note}", pages.body, indent=10)
    pages.heading("设定依据")
    for basis in item.legal_basis:
        pages.text(basis, pages.body, indent=10)
    images = pages.finish()
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=DPI)
    return len(images)

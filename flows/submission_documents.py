"""The two A4 documents of 自助申报 and 自助填表: a filled application form to hand to the
window, and the receipt (回执) of a case submitted online.

Drawn with Pillow in Noto Sans CJK at 300 dpi in black and white and saved as PDF pages whose
images are CCITT G4 (lossless two-level): a form comes out as clean as a laser-printed one,
with no JPEG smudge around the characters, and a page is a few tens of kilobytes. No kiosk
chrome, no colour: a form a clerk can read and file like one filled by hand.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from core.fonts import CJK_BOLD, cjk_font, require_font

DPI = 300
PAGE_W, PAGE_H = 2480, 3508
MARGIN = 200
LABEL_W = 620
ROW_PAD = 28
BLACK, WHITE = 0, 1


@dataclass(frozen=True)
class Row:
    """One line of a document's table."""

    label: str
    value: str


class _Sheet:
    """Pages filled top to bottom with a title and bordered rows."""

    def __init__(self, footer: str) -> None:
        self.footer = footer
        self.body = ImageFont.truetype(str(cjk_font()), 50)
        self.small = ImageFont.truetype(str(cjk_font()), 38)
        self.bold = ImageFont.truetype(str(require_font(CJK_BOLD)), 54)
        self.title = ImageFont.truetype(str(require_font(CJK_BOLD)), 84)
        self.pages: list[Image.Image] = []
        self._new_page()

    def _new_page(self) -> None:
        self.pages.append(Image.new("1", (PAGE_W, PAGE_H), WHITE))
        self.draw = ImageDraw.Draw(self.pages[-1])
        self.y = MARGIN

    def centred(self, text: str, font: ImageFont.FreeTypeFont, gap: int = 30) -> None:
        width = font.getlength(text)
        self.draw.text(((PAGE_W - width) / 2, self.y), text, font=font, fill=BLACK)
        self.y += int(font.size * 1.3) + gap

    def line(self, text: str, font: ImageFont.FreeTypeFont) -> None:
        for part in _wrap(text, font, PAGE_W - 2 * MARGIN):
            self._room(int(font.size * 1.5))
            self.draw.text((MARGIN, self.y), part, font=font, fill=BLACK)
            self.y += int(font.size * 1.5)

    def table(self, rows: Sequence[Row]) -> None:
        """Label | value rows in a ruled box; a long value wraps inside its cell."""
        left, right, split = MARGIN, PAGE_W - MARGIN, MARGIN + LABEL_W
        line_h = int(self.body.size * 1.45)
        for row in rows:
            labels = _wrap(row.label, self.bold, LABEL_W - 2 * ROW_PAD)
            values = _wrap(row.value or " ", self.body, right - split - 2 * ROW_PAD)
            height = max(len(labels), len(values)) * line_h + 2 * ROW_PAD
            self._room(height)
            top = self.y
            self.draw.rectangle((left, top, right, top + height), outline=BLACK, width=4)
            self.draw.line((split, top, split, top + height), fill=BLACK, width=4)
            for n, text in enumerate(labels):
                self.draw.text((left + ROW_PAD, top + ROW_PAD + n * line_h), text,
                               font=self.bold, fill=BLACK)  # fmt: skip
            for n, text in enumerate(values):
                self.draw.text((split + ROW_PAD, top + ROW_PAD + n * line_h), text,
                               font=self.body, fill=BLACK)  # fmt: skip
            self.y = top + height - 4  # rows share their border

    def gap(self, pixels: int) -> None:
        self.y += pixels

    def _room(self, height: int) -> bool:
        if self.y + height > PAGE_H - MARGIN - 80:
            self._new_page()
            return True
        return False

    def pdf(self) -> tuple[bytes, int]:
        for n, page in enumerate(self.pages, start=1):
            ImageDraw.Draw(page).text(
                (MARGIN, PAGE_H - MARGIN), f"{self.footer}    第{n}页 / 共{len(self.pages)}页",
                font=self.small, fill=BLACK,
            )  # fmt: skip
        out = io.BytesIO()
        self.pages[0].save(out, "PDF", save_all=True, append_images=self.pages[1:], resolution=DPI)
        return out.getvalue(), len(self.pages)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Chinese breaks between any two characters."""
    lines: list[str] = []
    line = ""
    for char in text:
        if font.getlength(line + char) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line else lines or [""]


def form_pdf(form_name: str, item_name: str, rows: Sequence[Row], footer: str) -> tuple[bytes, int]:
    """A filled application form: its name, the item, one ruled row per field, and a line
    for the applicant's signature. Returns the PDF and its page count.

    Raises:
        ConfigError (100): the Chinese font is missing.
    """
    sheet = _Sheet(footer)
    sheet.centred(form_name, sheet.title)
    sheet.centred(f"事项：{item_name}", sheet.body, gap=60)
    sheet.table(rows)
    sheet.gap(140)
    sheet.line("申请人（签字）：                        日期：      年    月    日", sheet.body)
    return sheet.pdf()


def receipt_pdf(case_no: str, rows: Sequence[Row], footer: str) -> tuple[bytes, int]:
    """The receipt of a case submitted online (网上申报回执): the case number first, then the
    facts; what the citizen keeps to follow the case (办件查询). Returns the PDF and its page
    count."""
    sheet = _Sheet(footer)
    sheet.centred("网上申报回执", sheet.title)
    sheet.centred(f"办件编号：{case_no}", sheet.bold, gap=60)
    sheet.table(rows)
    sheet.gap(100)
    sheet.line("请凭办件编号在自助终端“办件查询”或政务服务网查询办理进度。", sheet.body)
    sheet.line("原件请妥善保管，窗口审核时如需核验将另行通知。", sheet.body)
    return sheet.pdf()

"""The print audit as a report for staff: CSV (every record) and PDF (totals per function and
item, the failures, then every record), over a period (:mod:`flows.print_audit`).

The PDF follows the kiosk's other documents (receipts, guides): pages drawn with Pillow in the
hall's CJK font, so it looks the same in every reader and on every printer. Each drawn line
also goes into an invisible text layer (:class:`flows.pdf_pages.Text`), as a scanner's OCR
layer does, so the report can be searched, copied from and checked by ``pdftotext``.

Text is Simplified Chinese (staff read it); the CSV's header is too, and it is written as
UTF-8 with a byte order mark, which is how Excel on a hall's PC recognises UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.clock import hall_time
from core.errors import all_error_types
from core.fonts import cjk_font
from core.strings_zh import ERROR_TEXT
from flows.pdf_pages import Draw, PdfDocument, Text
from flows.print_audit import PrintRecord, failures, totals

#: Fixed report text (user-facing, so it lives in one place).
REPORT_TEXT = {
    "title": "打印/复印审计报表",
    "period": "统计期间：{first} 至 {last}",
    "made": "生成时间：{at}",
    "summary": "一、按功能和事项汇总",
    "failures": "二、未成功打印（失败或取消）",
    "records": "三、全部记录",
    "none": "（无）",
    "grand": "合计：{prints} 次，成功 {done} 次，失败 {failed} 次，取消 {cancelled} 次，出纸 {sheets} 张",
}
OUTCOME_TEXT = {"done": "成功", "failed": "失败", "cancelled": "取消"}
CSV_HEADER = ("时间", "终端", "功能", "事项", "页数", "份数", "结果", "故障代码", "错误代码",
              "说明")  # fmt: skip
SUMMARY_HEADER = ("功能", "事项", "次数", "成功", "失败", "取消", "出纸(张)")
RECORD_HEADER = ("时间", "终端", "功能", "事项", "页数", "份数", "结果", "说明")

_DPI = 150
_PAGE_PX = (1240, 1754)
_MARGIN = 60
_LINE = 34
_MM_PER_PX = 25.4 / _DPI


def function_titles() -> dict[str, str]:
    """Function id → its tile title (证明打印), for every registered kiosk function."""
    from flows.kiosk_functions import registered

    return {f.id: f.title for f in registered()}


def note(record: PrintRecord) -> str:
    """What happened, for staff: the fault met and what the citizen chose, or the error."""
    fault = _reason(record.fault_code)
    if record.outcome == "done":
        return f"{fault}，处理后继续打印" if fault else ""
    if record.outcome == "cancelled":
        return f"{fault}，市民取消" if fault else "市民取消"
    return _reason(record.error_code) or "打印失败"


def write_csv(records: Sequence[PrintRecord], path: Path) -> Path:
    """Every record, one line each, oldest first."""
    titles = function_titles()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in records:
        writer.writerow([
            _when(r.at), r.device_id, titles.get(r.function, r.function), r.item, r.pages,
            r.copies, OUTCOME_TEXT.get(r.outcome, r.outcome), r.fault_code or "",
            r.error_code or "", note(r),
        ])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


def write_pdf(records: Sequence[PrintRecord], first_day: str, last_day: str, made_at: float,
              path: Path) -> Path:
    """The report: period, totals per function and item, the failures, every record."""
    titles = function_titles()
    report = _Report()
    report.line(REPORT_TEXT["title"], size=44)
    report.line(REPORT_TEXT["period"].format(first=first_day, last=last_day))
    report.line(REPORT_TEXT["made"].format(at=_when(made_at)))
    rows = totals(list(records))
    report.line(REPORT_TEXT["grand"].format(
        prints=len(records), done=sum(t.done for t in rows), failed=sum(t.failed for t in rows),
        cancelled=sum(t.cancelled for t in rows), sheets=sum(t.sheets for t in rows)))
    report.gap()
    report.line(REPORT_TEXT["summary"], size=32)
    report.table(SUMMARY_HEADER, [
        (titles.get(t.function, t.function), t.item, t.prints, t.done, t.failed, t.cancelled,
         t.sheets) for t in rows
    ], widths=(130, 330, 100, 100, 100, 100, 160))
    report.gap()
    report.line(REPORT_TEXT["failures"], size=32)
    report.table(RECORD_HEADER, [_record_row(r, titles) for r in failures(list(records))],
                 widths=_RECORD_WIDTHS)
    report.gap()
    report.line(REPORT_TEXT["records"], size=32)
    report.table(RECORD_HEADER, [_record_row(r, titles) for r in records], widths=_RECORD_WIDTHS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(report.pdf(REPORT_TEXT["title"]))
    return path


_RECORD_WIDTHS = (210, 90, 100, 250, 55, 55, 55, 305)


def _record_row(r: PrintRecord, titles: dict[str, str]) -> tuple[object, ...]:
    return (_when(r.at), r.device_id, titles.get(r.function, r.function), r.item, r.pages,
            r.copies, OUTCOME_TEXT.get(r.outcome, r.outcome), note(r))


def _when(at: float) -> str:
    return hall_time(at).strftime("%Y-%m-%d %H:%M:%S")


def _reason(code: int | None) -> str:
    if code is None:
        return ""
    for cls in all_error_types():
        if cls.code == code:
            # "打印机缺纸，请联系工作人员" → "打印机缺纸": the report names the fault only.
            return ERROR_TEXT.get(cls.key, cls.key).split("，")[0]
    return f"错误{code}"


@dataclass
class _Page:
    image: object
    texts: list[Text]


class _Report:
    """Lines and tables laid out top to bottom over as many A4 pages as they need."""

    def __init__(self) -> None:
        from PIL import ImageFont

        self._font_path = str(cjk_font())
        self._fonts: dict[int, ImageFont.FreeTypeFont] = {}
        self.pages: list[_Page] = []
        self.y = 0
        self._new_page()

    def line(self, text: str, size: int = 26, x: int = _MARGIN) -> None:
        self._room(round(size * 1.5))
        self._text(text, x, self.y, size)
        self.y += round(size * 1.5)

    def gap(self) -> None:
        self.y += _LINE // 2

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]],
              widths: Sequence[int]) -> None:
        if not rows:
            self.line(REPORT_TEXT["none"])
            return
        self._row(header, widths, size=20)
        for row in rows:
            self._row([str(v) for v in row], widths, size=20)

    def pdf(self, title: str) -> bytes:
        doc = PdfDocument(_PAGE_PX[0] * _MM_PER_PX, _PAGE_PX[1] * _MM_PER_PX, title=title)
        for page in self.pages:
            out = io.BytesIO()
            page.image.save(out, "JPEG", quality=85)  # type: ignore[attr-defined]
            name = doc.add_jpeg(out.getvalue())
            doc.add_page([Draw(name, 0, 0, doc.width_mm, doc.height_mm), *page.texts])
        return doc.to_bytes()

    def _row(self, cells: Sequence[str], widths: Sequence[int], size: int) -> None:
        self._room(_LINE)
        x = _MARGIN
        for cell, width in zip(cells, widths):
            self._text(self._fit(cell, width - 8, size), x, self.y, size)
            x += width
        self.y += _LINE

    def _room(self, height: int) -> None:
        if self.y + height > _PAGE_PX[1] - _MARGIN:
            self._new_page()

    def _new_page(self) -> None:
        from PIL import Image

        self.pages.append(_Page(Image.new("RGB", _PAGE_PX, "white"), []))
        self.y = _MARGIN

    def _font(self, size: int):  # -> ImageFont.FreeTypeFont
        from PIL import ImageFont

        if size not in self._fonts:
            self._fonts[size] = ImageFont.truetype(self._font_path, size)
        return self._fonts[size]

    def _fit(self, text: str, width: int, size: int) -> str:
        font = self._font(size)
        while text and font.getlength(text) > width:
            text = text[:-2] + "…" if len(text) > 1 else ""
        return text

    def _text(self, text: str, x: int, y: int, size: int) -> None:
        from PIL import ImageDraw

        page = self.pages[-1]
        ImageDraw.Draw(page.image).text((x, y), text, font=self._font(size), fill="black")  # type: ignore[arg-type]
        baseline = y + size * 0.88
        page.texts.append(Text(text, x * _MM_PER_PX, baseline * _MM_PER_PX, size * 72 / _DPI))

"""The simulated platform's documents: A4 PDFs drawn with Pillow and Noto Sans CJK, with a PNG
preview of each page, kept in a small store and served by the domain that issued them.

A real platform hands the kiosk a signed PDF (证明, 凭证) and, for the screen, page images; a
kiosk cannot count on a PDF renderer (poppler is installed for tests only). So the simulator
does the same: every document is a real multi-page PDF that CUPS prints, and each page also
exists as a PNG the kiosk shows. A page is drawn once, at 150 dpi, and both forms come from it.

Documents carry personal data; the store keeps only the newest :data:`KEEP` and their ids are
random (uuid4), so one citizen's document cannot be guessed from another's.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from core.fonts import CJK_BOLD, cjk_font, require_font
from upstream_sim.server import Request, Response, Route, ok, refused

#: A4 at 150 dpi.
DPI = 150
PAGE_W, PAGE_H = 1240, 1754
MARGIN = 110
#: Preview width on the kiosk's screen; the PNG keeps the page's proportions.
PREVIEW_W = 620
KEEP = 200
RED = (200, 30, 30)
#: Where the body ends: the issuer lines and the seal take the bottom of every page.
FOOT_Y = PAGE_H - MARGIN - 350


@dataclass(frozen=True)
class Fields:
    """A block of label: value lines."""

    rows: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """A ruled table; rows beyond a page continue on the next one under repeated headings."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Paragraph:
    text: str


Block = Fields | Table | Paragraph


@dataclass(frozen=True)
class Issued:
    """One issued document."""

    doc_id: str
    title: str
    verify_code: str
    issued_on: str
    pdf: bytes
    pages: tuple[bytes, ...]

    def meta(self, prefix: str) -> dict[str, Any]:
        """What the issuing call answers: where to fetch the PDF and each page's preview."""
        base = f"{prefix}/documents/{self.doc_id}"
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "pages": len(self.pages),
            "verify_code": self.verify_code,
            "issued_on": self.issued_on,
            "pdf_url": f"{base}.pdf",
            "page_urls": [f"{base}/pages/{n}.png" for n in range(1, len(self.pages) + 1)],
        }


@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = require_font(CJK_BOLD) if bold else cjk_font()
    return ImageFont.truetype(str(path), size)


class _Pages:
    """Draws blocks top to bottom, starting a new page when one is full."""

    def __init__(self, title: str, issuer: str) -> None:
        self.title = title
        self.issuer = issuer
        self.images: list[Image.Image] = []
        self.y = 0
        self._new_page()

    def _new_page(self) -> None:
        self.page = Image.new("RGB", (PAGE_W, PAGE_H), "white")
        self.draw = ImageDraw.Draw(self.page)
        self.images.append(self.page)
        title_font = _font(46, bold=True)
        width = self.draw.textlength(self.title, font=title_font)
        self.draw.text(((PAGE_W - width) / 2, MARGIN), self.title, fill="black", font=title_font)
        self.y = MARGIN + 100

    def room(self, height: int) -> None:
        if self.y + height > FOOT_Y:
            self._new_page()

    def fields(self, block: Fields) -> None:
        font = _font(26)
        for label, value in block.rows:
            self.room(44)
            self.draw.text((MARGIN, self.y), f"{label}：", fill="black", font=font)
            self.draw.text((MARGIN + 300, self.y), value, fill="black", font=font)
            self.y += 44
        self.y += 20

    def paragraph(self, block: Paragraph) -> None:
        font = _font(26)
        line = ""
        for char in block.text:
            if self.draw.textlength(line + char, font=font) > PAGE_W - 2 * MARGIN:
                self.room(42)
                self.draw.text((MARGIN, self.y), line, fill="black", font=font)
                self.y += 42
                line = ""
            line += char
        if line:
            self.room(42)
            self.draw.text((MARGIN, self.y), line, fill="black", font=font)
            self.y += 42
        self.y += 20

    def table(self, block: Table) -> None:
        font = _font(22)
        width = (PAGE_W - 2 * MARGIN) // max(1, len(block.columns))
        row_h = 40

        def heading() -> None:
            self._row(block.columns, width, row_h, _font(22, bold=True))

        self.room(row_h * 2)
        heading()
        for row in block.rows:
            if self.y + row_h > FOOT_Y:
                self._new_page()
                heading()
            self._row(row, width, row_h, font)
        self.y += 24

    def _row(self, cells: Sequence[str], width: int, height: int, font: Any) -> None:
        for n, cell in enumerate(cells):
            x = MARGIN + n * width
            self.draw.rectangle((x, self.y, x + width, self.y + height), outline="black")
            self.draw.text((x + 8, self.y + 8), str(cell), fill="black", font=font)
        self.y += height

    def finish(self, verify_code: str, issued_on: str) -> list[Image.Image]:
        total = len(self.images)
        small = _font(22)
        for n, page in enumerate(self.images, start=1):
            draw = ImageDraw.Draw(page)
            bottom = PAGE_H - MARGIN
            draw.text((MARGIN, bottom - 150), f"出具机构：{self.issuer}", fill="black", font=small)
            draw.text((MARGIN, bottom - 115), f"出具日期：{issued_on}", fill="black", font=small)
            draw.text((MARGIN, bottom - 80), f"验证码：{verify_code}", fill="black", font=small)
            draw.text((PAGE_W - MARGIN - 160, bottom - 20), f"第{n}页 共{total}页", fill="black",
                      font=small)  # fmt: skip
            _seal(draw, (PAGE_W - MARGIN - 170, bottom - 230), self.issuer)
        return self.images


def _seal(draw: ImageDraw.ImageDraw, centre: tuple[int, int], issuer: str) -> None:
    """A red round seal (电子专用章) with the issuer's name across it."""
    x, y = centre
    r = 110
    draw.ellipse((x - r, y - r, x + r, y + r), outline=RED, width=6)
    draw.text((x - 22, y - 30), "★", fill=RED, font=_font(44))
    name = issuer[:8]
    font = _font(20, bold=True)
    draw.text((x - draw.textlength(name, font=font) / 2, y + 22), name, fill=RED, font=font)
    label = "电子专用章"
    draw.text((x - draw.textlength(label, font=font) / 2, y + 52), label, fill=RED, font=font)


def render(
    title: str, issuer: str, blocks: Sequence[Block], issued_on: date, verify_code: str
) -> tuple[bytes, tuple[bytes, ...]]:
    """A document's PDF and the PNG preview of each page."""
    pages = _Pages(title, issuer)
    for block in blocks:
        if isinstance(block, Fields):
            pages.fields(block)
        elif isinstance(block, Table):
            pages.table(block)
        else:
            pages.paragraph(block)
    images = pages.finish(verify_code, issued_on.isoformat())
    pdf = io.BytesIO()
    images[0].save(pdf, "PDF", save_all=True, append_images=images[1:], resolution=DPI)
    previews = []
    for image in images:
        small = image.resize((PREVIEW_W, PREVIEW_W * PAGE_H // PAGE_W), Image.LANCZOS)
        png = io.BytesIO()
        small.save(png, "PNG", optimize=True)
        previews.append(png.getvalue())
    return pdf.getvalue(), tuple(previews)


class DocumentStore:
    """The documents one domain issued, newest :data:`KEEP` kept, served under ``prefix``.

    Args:
        prefix: the domain's path (``/certificates``); documents are at
            ``{prefix}/documents/{doc_id}.pdf`` and ``…/{doc_id}/pages/{n}.png``.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._docs: OrderedDict[str, Issued] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, title: str, issuer: str, blocks: Sequence[Block], today: date) -> Issued:
        """Draw a document, keep it, and return it."""
        doc_id = uuid.uuid4().hex
        verify_code = doc_id[:4].upper() + "-" + doc_id[4:8].upper() + "-" + doc_id[8:12].upper()
        pdf, pages = render(title, issuer, blocks, today, verify_code)
        issued = Issued(doc_id, title, verify_code, today.isoformat(), pdf, pages)
        with self._lock:
            self._docs[doc_id] = issued
            while len(self._docs) > KEEP:
                self._docs.popitem(last=False)
        return issued

    def routes(self) -> list[Route]:
        return [
            Route("GET", f"{self.prefix}/documents/{{doc_file}}", self._pdf, _openapi_pdf()),
            Route("GET", f"{self.prefix}/documents/{{doc_id}}/pages/{{page_file}}", self._page,
                  _openapi_png()),  # fmt: skip
        ]

    def _find(self, doc_id: str) -> Issued | None:
        with self._lock:
            return self._docs.get(doc_id)

    def _pdf(self, request: Request) -> Response:
        name = request.params["doc_file"]
        issued = self._find(name.removesuffix(".pdf")) if name.endswith(".pdf") else None
        if issued is None:
            return refused(404, "DOCUMENT_NOT_FOUND", "文书不存在或已过期")
        return Response(200, raw=issued.pdf, content_type="application/pdf")

    def _page(self, request: Request) -> Response:
        issued = self._find(request.params["doc_id"])
        name = request.params["page_file"]
        number = name.removesuffix(".png")
        if issued is None or not name.endswith(".png") or not number.isdigit():
            return refused(404, "DOCUMENT_NOT_FOUND", "文书不存在或已过期")
        if not 1 <= int(number) <= len(issued.pages):
            return refused(404, "PAGE_NOT_FOUND", "页码不存在")
        return Response(200, raw=issued.pages[int(number) - 1], content_type="image/png")


def issued_answer(store: DocumentStore, issued: Issued) -> Response:
    """The answer of a call that issued a document: its metadata in the platform envelope."""
    return ok(issued.meta(store.prefix))


def _openapi_pdf() -> dict[str, Any]:
    return {
        "summary": "Fetch an issued document as PDF",
        "parameters": [{"name": "doc_file", "in": "path", "required": True,
                        "schema": {"type": "string", "example": "3f2a….pdf"}}],
        "responses": {"200": {"description": "the PDF",
                              "content": {"application/pdf": {}}},
                      "404": {"description": "DOCUMENT_NOT_FOUND"}},
    }  # fmt: skip


def _openapi_png() -> dict[str, Any]:
    return {
        "summary": "A page of an issued document as a PNG preview",
        "parameters": [
            {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "page_file", "in": "path", "required": True,
             "schema": {"type": "string", "example": "1.png"}},
        ],
        "responses": {"200": {"description": "the page", "content": {"image/png": {}}},
                      "404": {"description": "DOCUMENT_NOT_FOUND or PAGE_NOT_FOUND"}},
    }  # fmt: skip

"""自助复印's page layout: where the scans go on A4 and where the watermark labels go.

An ID card copy puts the card's front above its back, each at the card's true size
(85.6 × 54 mm, GB/T 14916 / ISO 7810 ID-1), centred on one A4 page. A document copy puts each
A4 page full size on an A4 page. Sizes are exact in the PDF (:mod:`flows.pdf_pages`): the
scans' pixel counts only decide their sharpness.

Every page carries the watermark seed 004 asks of a copy (标签化水印): a two-line *label*,
"仅供办理XX业务使用" over the date and the kiosk id, painted in one colour
(:data:`WATERMARK_RGB`) over everything, tiled in staggered rows. The tiling is sized so that
a crop holds at least one whole label when it is at least ``label width + column pitch``
wide and ``label height + row pitch`` high; a quarter of the page (105 × 148.5 mm) always is,
and so is a crop of one card alone (the staggered rows halve the width needed when two rows
fit). A copy cannot be cut down to an unlabelled piece that still shows a useful part.

The label is a stencil mask in a colour no scan is expected to have, so a test finds it on
the printed output (rendered back from the PDF CUPS produced) by colour and shape.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from core.fonts import cjk_font
from flows.pdf_pages import Draw, PdfDocument

A4_MM = (210.0, 297.0)
ID_CARD_MM = (85.6, 54.0)
MM_PER_INCH = 25.4

#: Where the card images go: centred across, front in the upper half, back in the lower.
CARD_X_MM = (A4_MM[0] - ID_CARD_MM[0]) / 2
FRONT_Y_MM = 62.0
BACK_Y_MM = 172.0

#: The watermark's paint, RGB 0–1: a rose no ID card, stamp or printed text has, so the
#: labels can be told from the content on the printed page.
WATERMARK_RGB = (230 / 255, 90 / 255, 170 / 255)
#: Glyph size of the label's text; shrunk when a long purpose would make the label too wide.
LABEL_CHAR_MM = 3.4
#: The widest label allowed: two labels and a gap must fit across half the page (below).
LABEL_MAX_MM = 46.0
#: Blank space around the label's text, inside its box.
LABEL_PAD_MM = 0.6
#: Gap between two labels of a row, and the distance between rows.
COLUMN_GAP_MM = 10.0
ROW_PITCH_MM = 20.0
#: The stencil's resolution: finer than any printer's 300 dpi, so its edges stay clean.
STENCIL_DPI = 600


@dataclass(frozen=True)
class Label:
    """What the watermark says.

    Attributes:
        purpose: the business the copy may be used for (``社保``), from the purpose list.
        day: the date of the copy (``2026-12-07``).
        kiosk_id: the kiosk that made it.
    """

    purpose: str
    day: str
    kiosk_id: str

    @property
    def lines(self) -> tuple[str, str]:
        return f"仅供办理{self.purpose}业务使用", f"{self.day}  {self.kiosk_id}"


@dataclass(frozen=True)
class Stamp:
    """A label rendered as a stencil.

    Attributes:
        image: Pillow mode ``"1"`` image, black = ink.
        width_mm: its width on paper.
        height_mm: its height on paper.
    """

    image: object
    width_mm: float
    height_mm: float


def render_label(label: Label, dpi: int = STENCIL_DPI) -> Stamp:
    """The label as a 1-bit image at ``dpi``; its size on paper is its pixels at that dpi.

    The glyph size is :data:`LABEL_CHAR_MM` unless that makes the label wider than
    :data:`LABEL_MAX_MM`, when it shrinks to fit: the tiling's promise depends on the width.
    """
    from PIL import Image, ImageDraw, ImageFont

    px_per_mm = dpi / MM_PER_INCH
    size = LABEL_CHAR_MM * px_per_mm
    font = ImageFont.truetype(str(cjk_font()), round(size))
    widest = max(font.getlength(line) for line in label.lines)
    pad = round(LABEL_PAD_MM * px_per_mm)
    if widest + 2 * pad > LABEL_MAX_MM * px_per_mm:
        size *= (LABEL_MAX_MM * px_per_mm - 2 * pad) / widest
        font = ImageFont.truetype(str(cjk_font()), int(size))
        widest = max(font.getlength(line) for line in label.lines)
    line_h = round(size * 1.3)
    width, height = int(widest) + 2 * pad + 1, 2 * line_h + 2 * pad
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(label.lines):
        draw.text((pad, pad + i * line_h), line, font=font, fill=0)
    return Stamp(image, width / px_per_mm, height / px_per_mm)


def tile_positions(stamp_w: float, stamp_h: float, page_mm: tuple[float, float] = A4_MM
                   ) -> list[tuple[float, float]]:
    """Top-left corners (mm) of the labels covering a page: rows :data:`ROW_PITCH_MM` apart,
    each row shifted by half a column pitch from the one above, labels running off the edges
    so the edges are covered too (the PDF clips them)."""
    pitch_x = stamp_w + COLUMN_GAP_MM
    positions = []
    row = 0
    y = -stamp_h / 2
    while y < page_mm[1]:
        x = -pitch_x / 2 * (1 + row % 2)
        while x < page_mm[0]:
            positions.append((x, y))
            x += pitch_x
        y += ROW_PITCH_MM
        row += 1
    return positions


@dataclass(frozen=True)
class CopyDocument:
    """A composed copy.

    Attributes:
        pdf: the PDF to print.
        pages: pages of one copy (1 for an ID card).
        copies: how many copies the PDF holds, one after the other (collated).
    """

    pdf: bytes
    pages: int
    copies: int


def id_card_copy(front: bytes, back: bytes, label: Label, copies: int) -> CopyDocument:
    """Front and back of an ID card on one A4 page at true size, watermarked, ``copies`` times.

    Args:
        front, back: the cropped card images (JPEG or PNG bytes), either orientation.
        label: the watermark.
        copies: how many copies (pages) the document holds.
    """
    doc = PdfDocument(*A4_MM, title="身份证复印件")
    w, h = ID_CARD_MM
    cards = [
        Draw(doc.add_jpeg(_jpeg(front, landscape=True)), CARD_X_MM, FRONT_Y_MM, w, h),
        Draw(doc.add_jpeg(_jpeg(back, landscape=True)), CARD_X_MM, BACK_Y_MM, w, h),
    ]
    marks = _watermark(doc, label)
    for _ in range(copies):
        doc.add_page(cards + marks)
    return CopyDocument(doc.to_bytes(), 1, copies)


def document_copy(pages: Sequence[bytes], label: Label, copies: int) -> CopyDocument:
    """Each A4 page scan on its own A4 page at full size, watermarked; all pages ``copies``
    times over, collated (1, 2, 3, 1, 2, 3)."""
    doc = PdfDocument(*A4_MM, title="材料复印件")
    scans = [Draw(doc.add_jpeg(_jpeg(p, landscape=False)), 0.0, 0.0, *A4_MM) for p in pages]
    marks = _watermark(doc, label)
    for _ in range(copies):
        for scan in scans:
            doc.add_page([scan, *marks])
    return CopyDocument(doc.to_bytes(), len(pages), copies)


def _watermark(doc: PdfDocument, label: Label) -> list[Draw]:
    stamp = render_label(label)
    image = stamp.image
    name = doc.add_stencil(image.tobytes(), image.width, image.height)  # type: ignore[attr-defined]
    return [
        Draw(name, x, y, stamp.width_mm, stamp.height_mm, WATERMARK_RGB)
        for x, y in tile_positions(stamp.width_mm, stamp.height_mm)
    ]


def _jpeg(data: bytes, landscape: bool) -> bytes:
    """A scan as an RGB JPEG turned to the orientation its place on the page has."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        turn = (image.width > image.height) != landscape and image.width != image.height
        if image.format == "JPEG" and image.mode == "RGB" and not turn:
            return data  # already right: embedded as it is, no second compression
        rgb = image.convert("RGB")
    if turn:
        rgb = rgb.transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=92)
    return out.getvalue()

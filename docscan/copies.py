"""自助复印: an ID card's front and back on one A4 at true size, and a purpose watermark.

The watermark ("仅供办理XX业务使用", the date and the kiosk id) is tiled diagonally over the whole
page at a pitch smaller than a card, so any crop that keeps a readable part of a card keeps a
whole watermark line too. Pages are saved as PDF (one or many pages, with the true page size),
JPEG or PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.fonts import cjk_font

A4_MM = (210.0, 297.0)
ID_CARD_MM = (85.6, 54.0)
MM_PER_INCH = 25.4


def mm_to_px(mm: float, dpi: int) -> int:
    """Millimetres to whole pixels at ``dpi``."""
    return round(mm / MM_PER_INCH * dpi)


@dataclass(frozen=True)
class IdCopyLayout:
    """Where the card images went, as (left, top, right, bottom) pixel boxes on the page."""

    front: tuple[int, int, int, int]
    back: tuple[int, int, int, int]
    dpi: int


def _as_pil(image: Any) -> Any:
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    import numpy as np

    array = np.asarray(image)
    if array.ndim == 2:
        return Image.fromarray(array).convert("RGB")
    return Image.fromarray(array[:, :, ::-1].copy())  # BGR from OpenCV


def id_copy_page(front: Any, back: Any, dpi: int = 300) -> tuple[Any, IdCopyLayout]:
    """Front above back on a white A4, each resized to exactly 85.6 × 54 mm.

    Args:
        front, back: the cropped card images (BGR arrays or PIL images), either orientation.
        dpi: output resolution; the page is 210 × 297 mm at this dpi.

    Returns:
        The page (PIL RGB image) and the :class:`IdCopyLayout`.
    """
    from PIL import Image

    page = Image.new("RGB", (mm_to_px(A4_MM[0], dpi), mm_to_px(A4_MM[1], dpi)), "white")
    card_w, card_h = mm_to_px(ID_CARD_MM[0], dpi), mm_to_px(ID_CARD_MM[1], dpi)
    left = (page.width - card_w) // 2
    boxes = []
    for image, top_mm in ((front, 50.0), (back, 160.0)):
        card = _as_pil(image)
        if card.height > card.width:
            card = card.rotate(90, expand=True)
        card = card.resize((card_w, card_h), Image.Resampling.LANCZOS)
        top = mm_to_px(top_mm, dpi)
        page.paste(card, (left, top))
        boxes.append((left, top, left + card_w, top + card_h))
    return page, IdCopyLayout(boxes[0], boxes[1], dpi)


def watermark_text(business: str, date: str, kiosk_id: str) -> str:
    """The citizen-facing watermark line, e.g. "仅供办理社保卡补办业务使用 2026-11-23 kiosk-1"."""
    return f"仅供办理{business}业务使用  {date}  {kiosk_id}"


def watermark(page: Any, business: str, date: str, kiosk_id: str, dpi: int = 300,
              opacity: int = 90) -> Any:
    """Tile the purpose watermark across the whole page at 30°.

    Args:
        page: PIL RGB page.
        business: the 事项 name the copy may be used for.
        date: the date printed in the mark.
        kiosk_id: the kiosk that made the copy.
        dpi: page resolution, to size the text (4 mm high) and the pitch (40 mm).
        opacity: 0–255 alpha of the grey text.

    Returns:
        A new PIL RGB page.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(cjk_font()), mm_to_px(4.0, dpi))
    text = watermark_text(business, date, kiosk_id)
    # Draw on an oversized layer, rotate, and centre-crop, so the tiling has no bare corners.
    side = int((page.width ** 2 + page.height ** 2) ** 0.5) + 1
    layer = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(layer)
    text_w = int(draw.textlength(text, font=font))
    pitch_y = mm_to_px(22.0, dpi)
    gap = mm_to_px(12.0, dpi)
    for row, y in enumerate(range(0, side, pitch_y)):
        shift = (row % 2) * (text_w + gap) // 2
        for x in range(-shift, side, text_w + gap):
            draw.text((x, y), text, font=font, fill=opacity)
    layer = layer.rotate(30, resample=Image.Resampling.BILINEAR)
    offset = ((side - page.width) // 2, (side - page.height) // 2)
    alpha = layer.crop((offset[0], offset[1], offset[0] + page.width, offset[1] + page.height))
    grey = Image.new("RGB", page.size, (110, 110, 110))
    return Image.composite(grey, page.convert("RGB"), alpha)


def save_pages(pages: Sequence[Any], path: Path, dpi: int = 300, quality: int = 90) -> Path:
    """Save pages by the path's suffix: ``.pdf`` (all pages), ``.jpg``/``.png`` (one page).

    Raises:
        ValueError: several pages for a single-image format, or an unknown suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".pdf":
        first, *rest = [p.convert("RGB") for p in pages]
        first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi)
    elif suffix in (".jpg", ".jpeg", ".png"):
        if len(pages) != 1:
            raise ValueError("one page per JPEG or PNG file")
        fmt = "JPEG" if suffix != ".png" else "PNG"
        extra = {"quality": quality} if fmt == "JPEG" else {}
        pages[0].convert("RGB").save(path, fmt, dpi=(dpi, dpi), **extra)
    else:
        raise ValueError(f"unknown page format {suffix!r}")
    return Path(path)

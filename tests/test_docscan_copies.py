"""ID copies come out at true size, and the watermark covers every card."""

from __future__ import annotations

import numpy as np
import pytest

from docscan.copies import id_copy_page, mm_to_px, save_pages, watermark, watermark_text

DPI = 300
PX_PER_MM = DPI / 25.4


def _card(colour: int) -> np.ndarray:
    card = np.full((540, 856, 3), colour, np.uint8)
    card[20:30, 20:400] = 0  # a line of "text"
    return card


def _non_white_box(page: np.ndarray, rows: slice) -> tuple[int, int]:
    region = page[rows]
    ys, xs = np.nonzero(region.min(axis=2) < 250)
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_both_sides_are_printed_at_true_id_card_size() -> None:
    page, layout = id_copy_page(_card(200), _card(180).transpose(1, 0, 2), DPI)
    pixels = np.asarray(page)
    assert page.size == (mm_to_px(210, DPI), mm_to_px(297, DPI))
    half = pixels.shape[0] // 2
    for rows in (slice(0, half), slice(half, None)):
        width_px, height_px = _non_white_box(pixels, rows)
        assert abs(width_px / PX_PER_MM - 85.6) <= 1.0
        assert abs(height_px / PX_PER_MM - 54.0) <= 1.0
    assert layout.front[3] < layout.back[1]  # front above back, not overlapping


def test_the_watermark_is_on_every_card_and_every_corner_of_the_page() -> None:
    dpi = 150
    page, layout = id_copy_page(_card(230), _card(230), dpi)
    marked = np.asarray(watermark(page, "社保卡补办", "2026-11-23", "kiosk-1", dpi=dpi))
    changed = np.abs(marked.astype(int) - np.asarray(page).astype(int)).max(axis=2) > 10
    for left, top, right, bottom in (layout.front, layout.back):
        # Every quarter of each card carries watermark ink, so no crop of a card escapes it.
        mid_x, mid_y = (left + right) // 2, (top + bottom) // 2
        for x0, x1, y0, y1 in ((left, mid_x, top, mid_y), (mid_x, right, top, mid_y),
                               (left, mid_x, mid_y, bottom), (mid_x, right, mid_y, bottom)):
            assert changed[y0:y1, x0:x1].mean() > 0.01
    h, w = changed.shape
    for y0, x0 in ((0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)):
        assert changed[y0:y0 + h // 2, x0:x0 + w // 2].mean() > 0.01


def test_the_watermark_says_what_the_copy_is_for() -> None:
    assert watermark_text("社保卡补办", "2026-11-23", "kiosk-1") == (
        "仅供办理社保卡补办业务使用  2026-11-23  kiosk-1")


def test_pdf_pages_have_the_a4_size_and_multi_page_pdfs_keep_every_page(tmp_path) -> None:
    from PIL import Image

    page = Image.new("RGB", (mm_to_px(210, 100), mm_to_px(297, 100)), "white")
    path = save_pages([page, page, page], tmp_path / "copies.pdf", dpi=100)
    text = path.read_bytes()
    assert text.count(b"/Type /Page") - text.count(b"/Type /Pages") == 3
    width_pt, height_pt = [float(v) for v in
                           text.split(b"/MediaBox [")[1].split(b"]")[0].split()[2:4]]
    assert abs(width_pt / 72 * 25.4 - 210) <= 1.0 and abs(height_pt / 72 * 25.4 - 297) <= 1.0
    for suffix in (".jpg", ".png"):
        single = save_pages([page], tmp_path / f"copy{suffix}", dpi=100)
        assert Image.open(single).size == page.size
    with pytest.raises(ValueError):
        save_pages([page, page], tmp_path / "two.png")

"""Plain document photos for the camera simulator: an A4 page with Chinese text on a desk.

Small on purpose: one page layout, a wood-coloured desk, a slight perspective as a 高拍仪 arm
gives, a little sensor noise. Each frame number shows a different page number, so a test can
tell frames apart. The synthetic scan data set with labelled corners lives elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from core.fonts import cjk_font

#: The page's lines (user-visible content of the simulated document).
PAGE_LINES = (
    "政务服务事项申请表",
    "申请事项：个体工商户设立登记",
    "申请人：王某某",
    "联系电话：138****0000",
    "申请日期：2026年11月23日",
    "第 {page} 页",
)


def render_page(width: int, height: int, page: int = 1) -> bytes:
    """One document photo as JPEG bytes.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        page: the page number printed on the page.

    Returns:
        A baseline JPEG (quality 85).

    Raises:
        ConfigError (100): the CJK font is not installed (Debian fonts-noto-cjk).
    """
    import cv2

    _, jpeg = cv2.imencode(
        ".jpg", render_array(width, height, page), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    return jpeg.tobytes()


def render_array(width: int, height: int, page: int = 1):  # -> numpy.ndarray (BGR)
    """The same photo as a BGR ``uint8`` array (see :func:`render_page`)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(page)
    desk = np.empty((height, width, 3), np.float32)
    grain = np.sin(np.linspace(0, 40, width))[None, :] * 8 + rng.normal(0, 3, (height, width))
    desk[..., 0], desk[..., 1], desk[..., 2] = 70 + grain, 110 + grain, 150 + grain
    sheet = _sheet(min(width, height), page)
    sh, sw = sheet.shape[:2]
    # The page fills about 80 % of the frame height, its top edge slightly narrower (the
    # camera looks down at a small angle) and the whole page turned by a degree or two.
    ph = height * 0.8
    pw = ph * sw / sh
    cx, cy = width / 2, height / 2
    corners = np.float32(
        [
            [cx - pw / 2 + pw * 0.03, cy - ph / 2],
            [cx + pw / 2 - pw * 0.02, cy - ph / 2 + ph * 0.02],
            [cx + pw / 2, cy + ph / 2],
            [cx - pw / 2 - pw * 0.01, cy + ph / 2 - ph * 0.01],
        ]
    )
    source = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    warp = cv2.getPerspectiveTransform(source, corners)
    page_img = cv2.warpPerspective(sheet, warp, (width, height))
    mask = cv2.warpPerspective(np.ones((sh, sw), np.float32), warp, (width, height))[..., None]
    photo = desk * (1 - mask) + page_img.astype(np.float32) * mask
    photo += rng.normal(0, 2, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)


def write_sequence(directory: Path, count: int, width: int, height: int) -> str:
    """Write ``count`` frames as ``0000.jpg``… and return the ``%04d.jpg`` pattern path."""
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (directory / f"{n:04d}.jpg").write_bytes(render_page(width, height, n + 1))
    return str(directory / "%04d.jpg")


def _sheet(size: int, page: int):  # -> numpy.ndarray (BGR), A4 proportions
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = str(cjk_font())
    height = max(size, 200)
    width = int(height / 1.414)
    sheet = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(sheet)
    title = ImageFont.truetype(font, max(height // 22, 8))
    body = ImageFont.truetype(font, max(height // 36, 6))
    margin = width // 10
    y = height // 10
    for n, line in enumerate(PAGE_LINES):
        font = title if n == 0 else body
        draw.text((margin, y), line.format(page=page), fill=(20, 20, 20), font=font)
        y += int(font.size * 2.0)
    draw.rectangle((margin, y, width - margin, y + height // 4), outline=(60, 60, 60), width=2)
    return np.asarray(sheet)[:, :, ::-1].copy()

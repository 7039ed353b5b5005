"""Map a page quadrilateral to a flat rectangle of the right shape, once.

Output resolution comes from a target, not from the camera: a page is delivered at 200 dpi
(A4: 1654 × 2339 px, what 政务 material upload needs for printed text) and an ID card at 300 dpi
(1011 × 638 px, small print and the photo), never upscaled. A page seen at a higher resolution
than that is warped straight down to the target size, so the warp and the encode cost what the
output needs, not what the sensor gives.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Known page shapes, (width, height) in millimetres, portrait.
ASPECTS_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "id_card": (54.0, 85.6)}
#: Output resolution per shape. A page of unknown shape ("detected") gets at most the pixels
#: of an A4 page at 200 dpi: on a 高拍仪 platen nothing larger than A4 is expected, and an A3
#: sheet still comes out at ~140 dpi.
TARGET_DPI: dict[str, int] = {"a4": 200, "id_card": 300, "detected": 200}
MM_PER_INCH = 25.4


def target_pixels(aspect: str) -> int:
    """Most output pixels for ``aspect``: its true size at its target dpi (A4 for "detected")."""
    width_mm, height_mm = ASPECTS_MM.get(aspect, ASPECTS_MM["a4"])
    dots_per_mm = TARGET_DPI[aspect] / MM_PER_INCH
    return round(width_mm * dots_per_mm) * round(height_mm * dots_per_mm)


def output_size(quad: np.ndarray, aspect: str = "detected", limit: bool = True) -> tuple[int, int]:
    """Output (width, height) in pixels: the page's own pixel size, shaped to ``aspect`` and,
    with ``limit``, no larger than the target dpi allows.

    Args:
        quad: corners tl, tr, br, bl.
        aspect: ``"a4"``, ``"id_card"`` (either orientation, as the page lies) or
            ``"detected"`` (the mean lengths of opposite sides).
        limit: cap at :func:`target_pixels` (False: the page's full pixel size).

    Raises:
        ValueError: an unknown aspect name.
    """
    if aspect != "detected" and aspect not in ASPECTS_MM:
        raise ValueError(f"unknown aspect {aspect!r}")
    top, bottom = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])
    left, right = np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    width, height = (top + bottom) / 2, (left + right) / 2
    area = width * height
    if aspect != "detected":
        # The true aspect, the measured area: no detail invented or thrown away.
        short, long_ = sorted(ASPECTS_MM[aspect])
        narrow = (area * short / long_) ** 0.5
        width, height = (narrow * long_ / short, narrow) if width >= height else (
            narrow, narrow * long_ / short)
    if limit and area > target_pixels(aspect):
        shrink = (target_pixels(aspect) / area) ** 0.5
        width, height = width * shrink, height * shrink
    return max(1, round(width)), max(1, round(height))


def warp(image: np.ndarray, quad: np.ndarray, aspect: str = "detected",
         limit: bool = True) -> np.ndarray:
    """The page flattened to its rectangle in one ``warpPerspective`` straight to the output
    size (``INTER_LINEAR``: cubic costs 2.6× for no visible gain). See :func:`output_size`."""
    width, height = output_size(np.asarray(quad, np.float64), aspect, limit)
    target = np.float32([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                         [-0.5, height - 0.5]])
    homography = cv2.getPerspectiveTransform(np.float32(quad), target)
    return cv2.warpPerspective(image, homography, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)

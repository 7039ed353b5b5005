"""The scan look: even lighting, a white background, readable contrast.

The background (paper plus lighting) is estimated on a quarter-size copy by closing away the
ink and median-smoothing, then each pixel is divided by it: a shadow or lamp gradient turns into
flat white while ink keeps its colour, so a red stamp stays red.
"""

from __future__ import annotations

import cv2
import numpy as np


def scan_look(page: np.ndarray, gray: bool = False) -> np.ndarray:
    """Whiten a flattened page.

    Args:
        page: BGR page image.
        gray: return one channel (document mode); colour is kept otherwise (stamps, photos).

    Returns:
        The cleaned page, same size.
    """
    work = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) if gray else page
    height, width = work.shape[:2]
    small = cv2.resize(work, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_LINEAR)
    small = cv2.dilate(small, np.ones((7, 7), np.uint8))
    small = cv2.medianBlur(small, 21 if min(small.shape[:2]) > 21 else 3)
    background = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(work, background, scale=255)
    # Stretch so faint ink gets darker: the 1st percentile goes to black, paper stays white.
    low = float(np.percentile(flat[::8, ::8], 1))
    lut = np.clip((np.arange(256, dtype=np.float32) - low) * 255.0 / max(1.0, 255 - low), 0, 255)
    return cv2.LUT(flat, lut.astype(np.uint8))

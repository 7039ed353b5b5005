"""With the quality check on, a page whose text glare washes out is refused, and a white page
under a bright lamp is not: glare is what stands above the paper, not every white pixel."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import FrameGlare
from core.strings_zh import error_text
from docscan.quality import check_page
from docscan.warp import warp
from hardware_sim.document_scenes import make_scene


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    scene = make_scene(9, (1080, 1440), card=False)
    return warp(scene.image, np.float32(scene.quads[0]))


def test_a_glare_spot_over_some_words_is_refused(page: np.ndarray) -> None:
    # A reflection about 1 % of the page: a handful of characters gone.
    glared = page.copy()
    height, width = glared.shape[:2]
    radius = int(np.sqrt(0.01 * height * width / np.pi))
    cv2.circle(glared, (width // 2, height // 3), radius, (255, 255, 255), -1)
    check_page(page)
    with pytest.raises(FrameGlare) as info:
        check_page(glared)
    assert error_text(info.value) == "材料反光严重，请调整材料角度后重新拍摄"


def test_a_white_page_under_a_bright_lamp_keeps_its_text_and_passes(page: np.ndarray) -> None:
    # The paper clips to white everywhere; every line of ink is still there.
    bright = np.clip(page.astype(np.float32) * 1.3, 0, 255).astype(np.uint8)
    assert (bright.min(axis=2) >= 250).mean() > 0.5
    check_page(bright)

"""Is this frame worth capturing? Sharpness, glare, and, for continuous capture, whether the
page lies still with no hand over it.

Continuous capture on a 高拍仪 watches the preview: it captures when a page is present and the
scene has been still for a few frames (the hand has left), and not again until the page changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import FrameBlurry, FrameGlare, HandInFrame

#: Variance of the Laplacian on a 512-px grey copy below which text is unreadable.
BLUR_LIMIT = 40.0
#: Share of the page that glare may hide (about a 15-mm spot on A4: a few characters).
GLARE_LIMIT = 0.005
#: Clipped: the darkest channel at least this bright.
CLIPPED = 250
#: Glare is brighter than the paper around it by at least this much; paper whiter than
#: CLIPPED minus this leaves no room to tell a reflection from the paper itself.
GLARE_ABOVE_PAPER = 12


def _gray_small(image: np.ndarray, size: int = 512) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = size / max(gray.shape[:2])
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return gray


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian (higher is sharper)."""
    return float(cv2.Laplacian(_gray_small(image), cv2.CV_64F).var())


def glare_share(page: np.ndarray) -> float:
    """Share of the flattened page hidden by glare: clipped white that stands above the
    paper's own level, in patches (not single sparkles).

    Clipped pixels alone are not glare: a white sheet under a bright lamp clips everywhere and
    keeps every line of its ink, and counting it as glare refused good pages. Glare is a
    reflection brighter than the paper around it, where the ink is washed out."""
    darkest = page.min(axis=2) if page.ndim == 3 else page
    small = _gray_small(darkest)
    paper = float(np.percentile(small, 60))  # the paper: most of a page is blank
    if paper > CLIPPED - GLARE_ABOVE_PAPER:
        return 0.0  # the paper itself is at white: nothing brighter to see
    clipped = np.uint8(small >= CLIPPED) * 255
    clipped = cv2.morphologyEx(clipped, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(np.count_nonzero(clipped)) / clipped.size


def check_page(page: np.ndarray) -> None:
    """Refuse a flattened page that is blurred or glared.

    Raises:
        FrameBlurry (608): the text would not be readable.
        FrameGlare (609): a reflection washes out part of the page.
    """
    value = sharpness(page)
    if value < BLUR_LIMIT:
        raise FrameBlurry(sharpness=round(value, 1))
    share = glare_share(page)
    if share > GLARE_LIMIT:
        raise FrameGlare(share=round(share, 4))


@dataclass
class StillnessWatch:
    """Tells continuous capture when the scene has settled: the hand is gone, the page still.

    Feed every preview frame to :meth:`update`; it returns True once, when the frame has differed
    from the previous one by less than ``threshold`` (mean absolute grey level on a 128-px copy)
    for ``frames_needed`` frames in a row, and re-arms after the scene changes again.
    """

    threshold: float = 2.5
    frames_needed: int = 3
    _previous: np.ndarray | None = None
    _still: int = 0
    _armed: bool = True

    def update(self, frame: np.ndarray) -> bool:
        tiny = _gray_small(frame, 128).astype(np.float32)
        moving = self._previous is None or self._previous.shape != tiny.shape or float(
            np.abs(tiny - self._previous).mean()) >= self.threshold
        self._previous = tiny
        if moving:
            self._still = 0
            self._armed = True
            return False
        self._still += 1
        if self._armed and self._still >= self.frames_needed:
            self._armed = False
            return True
        return False

    def rearm(self) -> None:
        """Fire again on this scene once it is still: the last shot was refused (blur, glare)."""
        self._armed = True

    def require_still(self, frame: np.ndarray) -> None:
        """Raise HandInFrame (610) while the scene is still moving (a hand placing the page)."""
        self.update(frame)
        self.raise_if_moving()

    def raise_if_moving(self) -> None:
        """Raise HandInFrame (610) unless the frames seen so far have settled."""
        if self._still < self.frames_needed:
            raise HandInFrame(still_frames=self._still)

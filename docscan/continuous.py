"""Continuous capture (连拍): watch the 高拍仪 preview, shoot each new page once it lies still,
and tell the citizen what to do while it does not.

Each preview frame goes to :meth:`ContinuousCapture.feed`. While the scene moves (a hand placing
the page) it raises :class:`core.errors.HandInFrame` (610, "请将手移出拍摄区域"). Once the scene
has been still for a few frames it captures with the blur and glare checks on: a blurred page
raises :class:`core.errors.FrameBlurry` (608) and is tried again on the next still frame (the
blur was the last of the motion); a glared one raises :class:`core.errors.FrameGlare` (609) and,
like every other refusal (no page, two pages, low confidence …), is not retried until the scene
changes, because the same still scene gives the same answer. A captured page is not shot again
until the next one is placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import FrameBlurry
from docscan.pipeline import Capture, capture, decode
from docscan.quality import StillnessWatch


@dataclass
class ContinuousCapture:
    """Shoots each page placed under the camera once.

    Attributes:
        aspect, clean, fmt: passed to :func:`docscan.pipeline.capture`.
        watch: decides when the scene has settled.
    """

    aspect: str = "detected"
    clean: bool = True
    fmt: str = ".jpg"
    watch: StillnessWatch = field(default_factory=StillnessWatch)

    def feed(self, frame: bytes | np.ndarray) -> Capture | None:
        """One preview frame.

        Returns:
            The :class:`Capture` when a new page has just settled; None when there is nothing
            new (the page already captured, or the refusal already raised, still lies there).

        Raises:
            HandInFrame (610): the scene is still moving.
            FrameBlurry (608), FrameGlare (609): the settled page is not readable.
            CaptureError: any other refusal of :func:`docscan.pipeline.capture`.
        """
        image = decode(bytes(frame)) if isinstance(frame, bytes | bytearray) else frame
        if not self.watch.update(image):
            self.watch.raise_if_moving()
            return None
        try:
            return capture(image, self.aspect, self.clean, self.fmt, check_quality=True)
        except FrameBlurry:
            self.watch.rearm()
            raise

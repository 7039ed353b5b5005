"""Capture a material's pages from the 高拍仪 by continuous capture (连拍): the citizen lays a
page down, takes the hand away, and the page is shot once it lies still.

:class:`PageWatcher` reads fresh frames from the document camera and feeds them to
:class:`docscan.continuous.ContinuousCapture` for a short while per step (a kiosk step must
come back to the screen, so the screen polls by calling the step again). What the citizen
reads meanwhile is the key of the last refusal: 请将手移出拍摄区域 while the scene moves, and
its own sentence for blur, glare, two pages, a page cut off by the frame, no page at all.

The camera comes from the kiosk: :func:`document_camera_of` reads
``context.document_camera`` when the kiosk has that field, so a flow works before and after
the launcher opens one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import CaptureError

if TYPE_CHECKING:
    from devices.document_camera import DocumentCamera
    from docscan.continuous import ContinuousCapture

#: How long one watch step looks at the desk before the screen is redrawn.
WATCH_S = 2.5
#: A frame older than this is not waited for longer (the camera's own timeout applies).
FRAME_TIMEOUT_S = 3.0
#: Upload size the platform takes per page (``upstream_sim.submissions.MAX_ATTACHMENT_BYTES``).
MAX_UPLOAD_BYTES = 700_000


def document_camera_of(context: Any, camera: DocumentCamera | None = None) -> DocumentCamera | None:
    """The 高拍仪 a flow captures with: the one given, else the kiosk's, else None.

    ``KioskContext`` has no ``document_camera`` field yet; read it by name so the flow needs
    no change once it has.
    """
    return camera if camera is not None else getattr(context, "document_camera", None)


@dataclass(frozen=True)
class Watched:
    """One watch step: the page shot, or the key of what the citizen should do."""

    page: bytes | None = None
    size: tuple[int, int] = (0, 0)
    error_key: str | None = None


class PageWatcher:
    """Continuous capture over one camera.

    Args:
        camera: the document camera.
        frames_needed: still frames before a shot (the camera gives 15 a second).
    """

    def __init__(self, camera: DocumentCamera, frames_needed: int = 3) -> None:
        self.camera = camera
        self.frames_needed = frames_needed
        self.last_key: str | None = None
        self._capture = self._fresh()

    def rearm(self) -> None:
        """Shoot the page lying there again (a retake), and forget the last instruction."""
        self._capture = self._fresh()
        self.last_key = None

    def watch(self, budget_s: float = WATCH_S) -> Watched:
        """Look at the desk for up to ``budget_s``.

        Raises:
            DeviceError: the camera is gone (CameraUnplugged 342), gives no frames (340) or
                black ones (343); nothing is captured.
        """
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            still = self.camera.capture(timeout_s=FRAME_TIMEOUT_S)
            try:
                shot = self._capture.feed(still.image)
            except CaptureError as err:
                self.last_key = err.key
                continue
            if shot is not None:
                self.last_key = None
                return Watched(shot.data, shot.size)
        return Watched(error_key=self.last_key)

    def _fresh(self) -> ContinuousCapture:
        # Imported here: numpy and OpenCV load only on a kiosk that captures.
        from docscan.continuous import ContinuousCapture
        from docscan.quality import StillnessWatch

        return ContinuousCapture(watch=StillnessWatch(frames_needed=self.frames_needed))


def fit_for_upload(jpeg: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The page as the platform takes it: as shot when small enough, else re-encoded at a
    lower quality, then smaller, until it fits (text stays legible down to ~150 dpi)."""
    if len(jpeg) <= max_bytes:
        return jpeg
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    scale = 1.0
    while True:
        for quality in (80, 70, 60):
            data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
            if len(data) <= max_bytes:
                return data
        scale *= 0.8
        image = cv2.resize(image, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
        if scale < 0.3:
            return data

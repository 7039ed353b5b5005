"""Read frames from a camera through OpenCV ``VideoCapture``: a UVC index, a video file, an
image sequence or an MJPEG URL.

The driver opens, sets the capture mode, reads one frame at a time and releases; what a frame
means (fresh, dark, corrupt) is :mod:`devices.document_camera`'s business. cv2 is imported on
first use, so a kiosk without OpenCV still boots.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from core.errors import CameraBadFrame, CameraUnplugged, DeviceNotFound

P = ParamSpec("P")
T = TypeVar("T")

#: Source kinds, by how OpenCV reaches them.
INDEX, FILE, IMAGES, STREAM = "index", "file", "images", "stream"


@dataclass(frozen=True)
class CaptureMode:
    """A capture format: what was asked for, or what the camera actually delivers.

    Attributes:
        fourcc: pixel format (``MJPG``, ``YUYV``); empty when the backend does not say.
        width: frame width in pixels.
        height: frame height in pixels.
        fps: frames per second (0 when unknown).
    """

    fourcc: str
    width: int
    height: int
    fps: float


def _cv_errors(method: Callable[P, T]) -> Callable[P, T]:
    """Map OpenCV's exceptions to Hall Edge errors, once for every driver call."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        import cv2

        driver = args[0]
        try:
            return method(*args, **kwargs)
        except cv2.error as err:
            raise CameraBadFrame(str(err), device=getattr(driver, "device_id", "")) from err

    return wrapper


class OpenCvCamera:
    """One OpenCV capture source.

    Args:
        source: a camera index, a file path, a ``%04d`` image-sequence pattern or a URL.
        kind: ``index``, ``file``, ``images`` or ``stream``.
        wanted: the mode to ask a UVC camera for; ignored by the other kinds.
        device_id: the hall's name for the camera, carried in errors.
        open_timeout_ms: how long FFmpeg may take to open a stream.
        read_timeout_ms: how long one FFmpeg read may block. A read that times out ends the
            stream (FFmpeg's interrupt closes it), so this is a dead-stream detector, kept well
            above the device's "no frames" timeout.
    """

    def __init__(
        self,
        source: int | str,
        kind: str,
        wanted: CaptureMode | None = None,
        device_id: str = "",
        open_timeout_ms: int = 5000,
        read_timeout_ms: int = 15000,
    ) -> None:
        self.source = source
        self.kind = kind
        self.wanted = wanted
        self.device_id = device_id
        self.open_timeout_ms = open_timeout_ms
        self.read_timeout_ms = read_timeout_ms
        self.mode: CaptureMode | None = None
        self._cap: Any = None

    @property
    def live(self) -> bool:
        """True for a camera or stream (frames are now); false for a file or image sequence."""
        return self.kind in (INDEX, STREAM)

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    @_cv_errors
    def open(self) -> CaptureMode:
        """Open the source and, for a UVC camera, set the wanted mode.

        Returns:
            The mode the source reports after opening (what it will really deliver).

        Raises:
            DeviceNotFound (301): no camera at that index, or no such file.
            CameraUnplugged (342): the stream cannot be reached.
        """
        import cv2

        cap = cv2.VideoCapture(self.source, *self._backend(cv2))
        if not cap.isOpened():
            cap.release()
            facts = {"device": self.device_id, "source": str(self.source)}
            if self.kind == STREAM:
                raise CameraUnplugged(f"cannot open stream {self.source}", **facts)
            raise DeviceNotFound(f"cannot open camera source {self.source!r}", **facts)
        if self.kind == INDEX and self.wanted is not None:
            _set_mode(cap, self.wanted)
        self._cap = cap
        self.mode = _read_mode(cap)
        return self.mode

    @_cv_errors
    def read(self) -> Any:
        """The next frame as a BGR array, or None when none could be decoded (corrupt frame,
        end of file, lost stream)."""
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        return frame if ok else None

    def rewind(self) -> None:
        """Back to the first frame of a file or image sequence."""
        import cv2

        if self._cap is not None:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def release(self) -> None:
        """Close the source; :meth:`open` may open it again."""
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def _backend(self, cv2: Any) -> tuple[Any, ...]:
        if self.kind == INDEX:
            return (cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY,)
        if self.kind == IMAGES:
            return (cv2.CAP_IMAGES,)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.open_timeout_ms]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.read_timeout_ms]
        return (cv2.CAP_FFMPEG, params)


def _set_mode(cap: Any, wanted: CaptureMode) -> None:
    # Order matters on UVC cameras (reference §3). The pixel format goes first: the camera lists
    # its sizes per format, and the large document sizes exist only in MJPG (YUY2 at 3264x2448
    # is ~16 MB a frame, too much for USB 2.0), so asking for the size while still in YUY2
    # silently falls back to a small YUY2 size. The frame rate goes last because the rates
    # offered depend on the format and size just chosen. BUFFERSIZE 1 keeps V4L2 from queueing
    # stale frames behind the one we want.
    import cv2

    cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*wanted.fourcc))
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, wanted.width)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, wanted.height)
    cap.set(cv2.CAP_PROP_FPS, wanted.fps)
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)


def _read_mode(cap: Any) -> CaptureMode:
    # set() can fall back without a word: the mode is what the capture reports afterwards.
    import cv2

    # Some backends report the code as a signed 32-bit number.
    code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    fourcc = code.to_bytes(4, "little").decode("ascii", "replace").strip("\x00") if code else ""
    return CaptureMode(
        fourcc,
        int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        float(cap.get(cv2.CAP_PROP_FPS)),
    )

"""The 高拍仪 document camera: full-resolution stills of what lies on the desk, and its health.

:class:`DocumentCamera` holds an OpenCV capture driver (:class:`drivers.opencv_camera.OpenCvCamera`)
and a :class:`CameraProfile`. A reader thread drains the source continuously and keeps only the
newest frame: a capture then waits for frames read *after* the request, so the citizen gets the
page as it lies now, not one buffered from before they placed it.

The reader also judges the stream. A frame that fails to decode between good ones is a corrupt
frame (``bad_frame``, the stream goes on); reads that keep failing mean the source is gone, so
the reader releases it and reopens, and a source that cannot be reopened is ``offline``. No new
frame for ``frame_timeout_s`` is a ``timeout``; a black frame is ``dark_frame``.

A file or image sequence plays in a loop at the profile's frame rate, like a camera looking at
a recording, which is how the demo and tests use recorded desks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import (
    CameraBadFrame,
    CameraDarkFrame,
    CameraNoFrames,
    CameraUnplugged,
    DeviceError,
)
from devices.health import Health, HealthState, Reason
from drivers.opencv_camera import CaptureMode

#: Health reasons beyond :class:`devices.health.Reason`.
DARK_FRAME = "dark_frame"


class FrameDriver(Protocol):
    """The driver contract (:class:`drivers.opencv_camera.OpenCvCamera`)."""

    @property
    def live(self) -> bool: ...

    @property
    def is_open(self) -> bool: ...

    def open(self) -> CaptureMode: ...

    def read(self) -> Any: ...

    def rewind(self) -> None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class CameraProfile:
    """What one camera model delivers and how patient to be with it. Data, not subclasses.

    Attributes:
        model: the profile's name (``uvc-8mp``).
        fourcc: the pixel format asked for (MJPG for full resolution, reference §3).
        width: the still width asked for.
        height: the still height asked for.
        fps: the frame rate asked for; the pace a file or image sequence is played at.
        frame_timeout_s: no new frame for this long is a ``timeout``.
        fresh_frames: frames to wait for after a capture request; the first may have been
            exposed before the request (one buffered frame), the second was not.
        dark_level: mean grey level (0–255) below which a frame is black.
        lost_after: failed reads in a row after which the source is released and reopened.
        reopen_s: pause between attempts to reopen a lost source.
        bad_frame_memory_s: how long a corrupt frame keeps the health at ``warning``.
    """

    model: str
    fourcc: str = "MJPG"
    width: int = 3264
    height: int = 2448
    fps: float = 15.0
    frame_timeout_s: float = 3.0
    fresh_frames: int = 2
    dark_level: float = 12.0
    lost_after: int = 3
    reopen_s: float = 1.0
    bad_frame_memory_s: float = 10.0

    @property
    def mode(self) -> CaptureMode:
        """The capture mode this profile asks for."""
        return CaptureMode(self.fourcc, self.width, self.height, self.fps)


#: Known models, by the name used in device URLs (``?profile=uvc-5mp``). Sizes are the ones
#: public code shows for document cameras (reference §3); the driver reads back what it got.
PROFILES: dict[str, CameraProfile] = {
    "uvc-8mp": CameraProfile("uvc-8mp"),
    "uvc-5mp": CameraProfile("uvc-5mp", width=2592, height=1944),
    "uvc-1080p": CameraProfile("uvc-1080p", width=1920, height=1080, fps=30.0),
    "mjpeg-http": CameraProfile("mjpeg-http", width=1280, height=960, reopen_s=0.3),
}


@dataclass(frozen=True)
class Still:
    """One captured frame.

    Attributes:
        image: the frame, a BGR ``uint8`` array (height, width, 3).
        seq: the reader's frame number.
        at: when it was read (``time.monotonic``).
    """

    image: Any
    seq: int
    at: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


class DocumentCamera:
    """A document camera read through one frame driver.

    Args:
        driver: the frame driver.
        profile: the model's profile.
        device_id: the hall's name for the camera, carried in health and errors.
        on_close: called by :meth:`close` after the source is released.
    """

    def __init__(
        self,
        driver: FrameDriver,
        profile: CameraProfile,
        device_id: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.profile = profile
        self.device_id = device_id
        self.on_close = on_close
        self.mode: CaptureMode | None = None
        self.bad_frames = 0
        self._cond = threading.Condition()
        self._seq = 0
        self._latest: Any = None
        self._latest_at: float | None = None
        self._bad_at: float | None = None
        self._lost: DeviceError | None = None
        self._started_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start reading (capture and health start it on first use)."""
        with self._cond:
            if self._thread is not None:
                return
            self._started_at = time.monotonic()
            self._thread = threading.Thread(
                target=self._read_loop, name=f"camera-{self.device_id}", daemon=True
            )
            self._thread.start()

    def capture(self, timeout_s: float | None = None) -> Still:
        """A full-resolution still of the desk as it is now.

        Args:
            timeout_s: how long to wait for fresh frames; the profile's ``frame_timeout_s``
                by default.

        Returns:
            The still.

        Raises:
            CameraNoFrames (340): no fresh frame in time.
            CameraUnplugged (342), DeviceNotFound (301): the source is gone or was never there.
            CameraDarkFrame (343): the frame is black.
        """
        self.start()
        timeout_s = self.profile.frame_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._seq + self.profile.fresh_frames
            while self._seq < target:
                left = deadline - time.monotonic()
                if self._lost is not None:
                    # A new instance per caller: one shared exception would pile up tracebacks.
                    lost = self._lost
                    raise type(lost)(str(lost), **lost.details)
                if left <= 0:
                    raise CameraNoFrames(
                        f"no fresh frame in {timeout_s} s", device=self.device_id, timeout_s=timeout_s
                    )  # fmt: skip
                self._cond.wait(left)
            still = Still(self._latest, self._seq, self._latest_at or 0.0)
        if self._is_dark(still.image):
            raise CameraDarkFrame("black frame", device=self.device_id, reason=DARK_FRAME)
        return still

    def health(self) -> Health:
        """The camera's health from what the reader saw. Never raises."""
        self.start()
        now = time.monotonic()
        with self._cond:
            lost, latest, latest_at, bad_at = (
                self._lost,
                self._latest,
                self._latest_at,
                self._bad_at,
            )
            started_at = self._started_at or now
        if isinstance(lost, CameraUnplugged):
            return Health(self.device_id, HealthState.OFFLINE, (Reason.UNPLUGGED,), lost.code)
        if lost is not None:
            return Health.from_error(self.device_id, lost)
        if latest_at is None and now - started_at < self.profile.frame_timeout_s:
            return Health.unknown(self.device_id)
        if latest_at is None or now - latest_at > self.profile.frame_timeout_s:
            return Health(
                self.device_id, HealthState.UNKNOWN, (Reason.TIMEOUT,), CameraNoFrames.code
            )
        if self._is_dark(latest):
            return Health(self.device_id, HealthState.ERROR, (DARK_FRAME,), CameraDarkFrame.code)
        if bad_at is not None and now - bad_at < self.profile.bad_frame_memory_s:
            return Health(
                self.device_id, HealthState.WARNING, (Reason.BAD_FRAME,), CameraBadFrame.code
            )
        return Health.ok(self.device_id)

    def close(self) -> None:
        """Stop reading, release the source, then call ``on_close``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.profile.frame_timeout_s + 20.0)
        self.driver.release()
        if self.on_close is not None:
            self.on_close()

    def _read_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if not self.driver.is_open and not self._reopen():
                continue
            try:
                frame = self.driver.read()
            except DeviceError:
                frame = None  # a frame OpenCV choked on counts as a failed read
            if frame is None:
                failures += 1
                if not self.driver.live:
                    # End of the recording: play it again. Not a corrupt frame.
                    self.driver.rewind()
                if failures >= self.profile.lost_after:
                    # The source is gone, not one bad frame: start over from open().
                    self.driver.release()
                    failures = 0
                continue
            self._publish(frame, bad=failures if self.driver.live else 0)
            failures = 0
            if not self.driver.live:
                self._stop.wait(1.0 / self.profile.fps)

    def _reopen(self) -> bool:
        try:
            self.mode = self.driver.open()
        except DeviceError as err:
            with self._cond:
                self._lost = err
                self._cond.notify_all()
            self._stop.wait(self.profile.reopen_s)
            return False
        with self._cond:
            self._lost = None
        return True

    def _publish(self, frame: Any, bad: int) -> None:
        now = time.monotonic()
        with self._cond:
            if bad:
                self.bad_frames += bad
                self._bad_at = now
            self._seq += 1
            self._latest, self._latest_at = frame, now
            self._cond.notify_all()

    def _is_dark(self, frame: Any) -> bool:
        import cv2

        small = cv2.resize(frame, (64, 48), interpolation=cv2.INTER_AREA)
        return float(small.mean()) < self.profile.dark_level

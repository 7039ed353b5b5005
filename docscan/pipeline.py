"""From camera bytes to a cropped, flattened, whitened page: decode → detect → warp → clean → encode.

Detection on a small copy; one warp from the full-resolution frame straight to the output size
(200 dpi for a page, 300 dpi for an ID card, never upscaled: :mod:`docscan.warp`); one core
(OpenCV's own threads are limited to one by :func:`single_core`, so the kiosk's UI keeps the
other core).

A low-confidence detection is refused with :class:`core.errors.LowConfidence` (607, "请重新摆放
材料"), never returned as a crop: a wrong crop silently cuts off part of a citizen's document,
while a refusal costs one more placement.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.errors import CaptureError, CorruptImage, ImageSizeInvalid
from docscan.cleanup import scan_look
from docscan.detect import detect
from docscan.quality import check_page
from docscan.warp import warp

#: Smallest and largest frames accepted (pixels on a side / total pixels).
MIN_SIDE = 240
MAX_PIXELS = 50_000_000


def single_core() -> None:
    """Keep OpenCV on one core: the kiosk UI and the other devices share the box."""
    cv2.setNumThreads(1)


@dataclass
class Capture:
    """A captured page.

    Attributes:
        data: the encoded page (JPEG or PNG bytes).
        quad: corners tl, tr, br, bl in frame pixels.
        confidence: the detector's confidence (only values ≥ the threshold get here).
        size: the page's (width, height) in pixels (see :func:`docscan.warp.output_size`).
        timings_ms: per stage, for the benchmark and the technician log.
    """

    data: bytes
    quad: np.ndarray
    confidence: float
    size: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)


def _check_size(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE or width * height > MAX_PIXELS:
        raise ImageSizeInvalid(width=width, height=height)


def decode(data: bytes) -> np.ndarray:
    """Decode camera bytes to BGR, checking the size from the header before decoding.

    Raises:
        CorruptImage (605): not an image, or a JPEG cut short.
        ImageSizeInvalid (606): smaller than 240 px on a side or over 50 MP.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError) as err:
        raise CorruptImage(bytes=len(data)) from err
    _check_size(width, height)
    if data[:2] == b"\xff\xd8" and data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
        # libjpeg fills a truncated tail with grey and only warns; the crop would look valid.
        raise CorruptImage(bytes=len(data), reason="truncated")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise CorruptImage(bytes=len(data))
    return image


def encode(image: np.ndarray, fmt: str = ".jpg", quality: int = 90) -> bytes:
    """Encode a page as ``.jpg`` or ``.png``."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == ".jpg" else []
    ok, buf = cv2.imencode(fmt, image, params)
    if not ok:
        raise CorruptImage(reason="encode failed")
    return buf.tobytes()


def capture(frame: bytes | np.ndarray, aspect: str = "detected", clean: bool = True,
            fmt: str = ".jpg", check_quality: bool = False) -> Capture:
    """Capture the one page in a frame.

    Args:
        frame: encoded camera bytes or a BGR array.
        aspect: ``"a4"``, ``"id_card"`` or ``"detected"`` (see :func:`docscan.warp.output_size`).
        clean: apply the scan look (even lighting, white paper).
        fmt: ``".jpg"`` or ``".png"``.
        check_quality: refuse a blurred or glared page (:func:`docscan.quality.check_page`).

    Returns:
        The :class:`Capture`.

    Raises:
        CorruptImage (605), ImageSizeInvalid (606): bad bytes or size.
        BlankFrame (604), NoPageFound (601), TwoPagesFound (602), PageOutOfFrame (603),
        LowConfidence (607), PageCovered (612), FrameGlare (609, glare over the page's border):
        see :func:`docscan.detect.detect`; a hidden corner or side is refused whatever
        ``check_quality`` says.
        FrameBlurry (608), FrameGlare (609, glare over the page): with ``check_quality``.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if isinstance(frame, bytes | bytearray):
        image = decode(bytes(frame))
    else:
        image = frame
        _check_size(image.shape[1], image.shape[0])
    t1 = time.perf_counter()
    try:
        found = detect(image)
    except CaptureError as err:
        # A refusal costs time too; the technician log and the benchmark want to see it.
        err.details["detect_ms"] = round((time.perf_counter() - t1) * 1000, 2)
        raise
    t2 = time.perf_counter()
    page = warp(image, found.quad, aspect)
    if check_quality:
        check_page(page)
    t3 = time.perf_counter()
    if clean:
        page = scan_look(page)
    t4 = time.perf_counter()
    data = encode(page, fmt)
    t5 = time.perf_counter()
    for name, a, b in (("decode", start, t1), ("detect", t1, t2), ("warp", t2, t3),
                       ("clean", t3, t4), ("encode", t4, t5), ("total", start, t5)):
        timings[name] = round((b - a) * 1000, 2)
    return Capture(data, found.quad, found.confidence, (page.shape[1], page.shape[0]), timings)

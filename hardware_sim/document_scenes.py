"""Synthetic 高拍仪 frames with exact ground-truth corners.

A flat document (a text page with a table and a red stamp, or an ID-card-like card) is
rendered, warped onto a desk background (wood, a patterned mat, a plain or dark desk) by a
known homography, then spoiled the way a real document camera spoils it: a lighting gradient,
a soft shadow, low contrast, a hand over part of an edge, sensor noise, blur and JPEG
compression. The corners are known by construction, so detection can be scored exactly.
Everything is drawn from ``numpy.random.default_rng(seed)``: a seed gives the same bytes.

Layouts other than ``"single"`` make the bad inputs the pipeline must refuse: ``"two"``
(two pages side by side), ``"stack"`` (a page lying across another one), ``"off_edge"`` (a page
partly outside the frame), ``"none"`` (an empty desk).

``cover`` puts something over the page's border that a capture must refuse rather than crop
(:data:`COVERS`: a hand over a corner or over a long stretch of a side, a pen across a corner,
glare over a corner), and ``desk`` forces the desk, including a ``"granite"`` top as bright as
paper and speckled at every scale. These draw from their own generator, so every seed's frame
without them is the same bytes as before they existed.

The ground-truth CSV is the one :mod:`docscan.dataset` reads.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.fonts import cjk_font

#: (width, height) in millimetres.
A4_MM = (210.0, 297.0)
ID_CARD_MM = (85.6, 54.0)

_LINES = (
    "政务服务事项申请表",
    "申请人姓名：张某某    证件号码：略",
    "办理事项：社会保障卡补办",
    "联系地址：某市某区某街道便民服务中心",
    "本人承诺所提交材料真实有效。",
    "受理窗口：综合受理3号窗口",
    "材料清单：身份证复印件一份，户口簿一份。",
    "经办人签字：            日期：",
)


@dataclass
class Scene:
    """One synthetic frame.

    Attributes:
        image: the BGR frame (after JPEG round trip when ``jpeg`` was asked).
        jpeg: the encoded bytes a camera would deliver, or None.
        quads: ground-truth quads, corners tl, tr, br, bl in frame pixels (pixel centres at
            integer coordinates); empty for an empty desk.
        size_mm: the document's true size (width, height) in millimetres.
        tags: what was done to the frame (background, effects), for reports.
        border_hidden: how much of the (first) page's border a hand or a pen hides: the
            largest share of one side (all its hidden stretches together: a palm resting on
            the edge beside a finger crossing it hides both), 0 when nothing lies over the
            border. Measured on the drawn shape before light, blur and JPEG: hidden where the
            shape covers at least half of a border pixel. Glare is not counted (how far it
            washes the border out depends on the light under it).
        corner_hidden: a hand or a pen lies over a corner of the (first) page.
    """

    image: Any
    jpeg: bytes | None
    quads: list[list[tuple[float, float]]]
    size_mm: tuple[float, float]
    tags: list[str] = field(default_factory=list)
    border_hidden: float = 0.0
    corner_hidden: bool = False


def _font(px: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(cjk_font()), max(8, px))


def render_page(width: int, rng: Any, card: bool = False) -> Any:
    """A flat document image, BGR, ``width`` pixels wide, the true aspect of A4 or an ID card."""
    import numpy as np
    from PIL import Image, ImageDraw

    mm = ID_CARD_MM if card else A4_MM
    height = round(width * mm[1] / mm[0])
    paper = tuple(int(v) for v in rng.integers(225, 256, 3)) if not card else (
        int(rng.integers(200, 235)), int(rng.integers(215, 240)), int(rng.integers(225, 250)))
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    unit = width / mm[0]  # pixels per millimetre
    ink = (30, 30, 40)
    if card:
        draw.rectangle([4 * unit, 6 * unit, 26 * unit, 34 * unit], outline=(90, 90, 90), width=2)
        for i, text in enumerate(("姓名 王某某", "性别 男  民族 汉", "住址 某省某市某区", "公民身份号码")):
            draw.text((32 * unit, (6 + 8 * i) * unit), text, font=_font(int(4 * unit)), fill=ink)
    else:
        margin = 20 * unit
        draw.text((margin, 18 * unit), _LINES[0], font=_font(int(8 * unit)), fill=ink)
        body = _font(int(4.2 * unit))
        for i, text in enumerate(_LINES[1:]):
            draw.text((margin, (36 + 9 * i) * unit), text, font=body, fill=ink)
        top = 110 * unit
        rows, cols = 6, 4
        cell_w, cell_h = (width - 2 * margin) / cols, 12 * unit
        for r in range(rows + 1):
            y = top + r * cell_h
            draw.line([margin, y, width - margin, y], fill=ink, width=max(1, int(0.4 * unit)))
        for c in range(cols + 1):
            x = margin + c * cell_w
            draw.line([x, top, x, top + rows * cell_h], fill=ink, width=max(1, int(0.4 * unit)))
        for r in range(rows):
            for c in range(cols):
                draw.text((margin + c * cell_w + 2 * unit, top + r * cell_h + 3 * unit),
                          f"项目{r * cols + c + 1}", font=body, fill=ink)
        cx, cy, rad = width - 55 * unit, 235 * unit, 20 * unit
        red = (205, 30, 35)
        draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=red, width=int(1.2 * unit))
        draw.text((cx - 12 * unit, cy - 3 * unit), "受理专用章", font=_font(int(4.5 * unit)), fill=red)
    return np.asarray(img)[:, :, ::-1].copy()


def _background(height: int, width: int, kind: str, rng: Any) -> Any:
    import cv2
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "wood":
        freq = rng.uniform(0.02, 0.06) * 1000 / max(height, width)
        wobble = np.sin(xx * 0.004 * 1000 / width + rng.uniform(0, 6)) * 25
        grain = (np.sin((yy + wobble) * freq * 2 * math.pi / 10) + 1) / 2
        base = np.array(rng.uniform([40, 80, 130], [80, 120, 180]), np.float32)
        img = base[None, None, :] * (0.75 + 0.35 * grain[..., None])
    elif kind == "pattern":
        step = int(rng.integers(14, 40)) * max(1, width // 1000)
        check = ((xx // step + yy // step) % 2).astype(np.float32)
        a = np.array(rng.uniform(60, 200, 3), np.float32)
        b = np.array(rng.uniform(60, 200, 3), np.float32)
        img = a[None, None, :] * check[..., None] + b[None, None, :] * (1 - check[..., None])
    elif kind == "granite":
        # Speckle at three scales around a level as bright as paper: brightness and a single
        # texture scale cannot tell this desk from a sheet.
        img = np.full((height, width, 3), rng.uniform(175, 215), np.float32)
        for cell, amp in ((1, 14.0), (4, 10.0), (24, 8.0)):
            cells = (max(2, height // cell), max(2, width // cell))
            noise = rng.normal(0, amp, (*cells, 1)).astype(np.float32)
            img += cv2.resize(noise, (width, height), interpolation=cv2.INTER_NEAREST
                              if cell == 1 else cv2.INTER_LINEAR)[..., None]
    elif kind == "dark":
        img = np.full((height, width, 3), rng.uniform(25, 60), np.float32)
    else:  # plain light desk: the low-contrast case
        img = np.full((height, width, 3), rng.uniform(150, 200), np.float32)
    small = rng.normal(0, 8, (max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    img += cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return img


def _random_quad(frame: tuple[int, int], aspect: float, rng: Any, fill: float,
                 center: tuple[float, float] | None = None) -> Any:
    import numpy as np

    height, width = frame
    area = fill * width * height
    w = math.sqrt(area / aspect)
    h = w * aspect
    angle = rng.uniform(-0.35, 0.35)
    if rng.random() < 0.3:
        angle += math.pi / 2
    cx, cy = center or (width / 2 + rng.uniform(-0.08, 0.08) * width,
                        height / 2 + rng.uniform(-0.08, 0.08) * height)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    quad = corners @ rot.T + [cx, cy]
    quad += rng.normal(0, 0.025 * w, quad.shape)  # perspective: the camera is not square on
    return quad


def _fits(quad: Any, frame: tuple[int, int], margin: float) -> bool:
    height, width = frame
    return bool((quad[:, 0] > margin).all() and (quad[:, 0] < width - 1 - margin).all()
                and (quad[:, 1] > margin).all() and (quad[:, 1] < height - 1 - margin).all())


def _paste(canvas: Any, page: Any, quad: Any) -> None:
    import cv2
    import numpy as np

    h, w = page.shape[:2]
    src = np.float32([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    homography = cv2.getPerspectiveTransform(src, np.float32(quad))
    size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpPerspective(page, homography, size, flags=cv2.INTER_LINEAR)
    # Supersampled coverage so the page edge is anti-aliased exactly at the true boundary.
    ss = 4 if canvas.shape[1] <= 2000 else 1
    mask = np.zeros((canvas.shape[0] * ss, canvas.shape[1] * ss), np.uint8)
    pts = np.round((np.float64(quad) + 0.5) * ss - 0.5).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255)
    cover = cv2.resize(mask, size, interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    canvas[:] = canvas * (1 - cover) + warped.astype(np.float32) * cover


def _hand(canvas: Any, quad: Any, rng: Any) -> Any:
    import cv2
    import numpy as np

    side = int(rng.integers(0, 4))
    a, b = quad[side], quad[(side + 1) % 4]
    t = rng.uniform(0.25, 0.75)
    px, py = a + (b - a) * t
    centre = np.array([canvas.shape[1] / 2, canvas.shape[0] / 2])
    out = np.array([px, py]) - centre
    out /= np.linalg.norm(out) + 1e-9
    scale = np.linalg.norm(b - a) * 0.07
    palm = np.array([px, py]) + out * scale * 2.2
    skin = np.array(rng.uniform([120, 150, 190], [150, 180, 230]), np.float32)
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(palm[0]), int(palm[1])), (int(scale * 1.6), int(scale * 1.2)),
                math.degrees(math.atan2(out[1], out[0])), 0, 360, 255, -1)
    tip = np.array([px, py]) - out * scale * 0.9
    cv2.line(mask, (int(palm[0]), int(palm[1])), (int(tip[0]), int(tip[1])), 255,
             max(2, int(scale * 0.6)))
    soft = cv2.GaussianBlur(mask, (0, 0), 1.5).astype(np.float32)[..., None] / 255
    canvas[:] = canvas * (1 - soft) + skin * soft
    return soft[..., 0]


#: What ``make_scene(cover=…)`` puts over the page's border; a capture must refuse each.
COVERS = ("hand_corner", "hand_edge", "pen_corner", "glare_corner")


def _skin(rng: Any) -> Any:
    import numpy as np

    return np.array(rng.uniform([120, 150, 190], [150, 180, 230]), np.float32)


def _blend(canvas: Any, mask: Any, colour: Any) -> Any:
    import cv2

    soft = cv2.GaussianBlur(mask, (0, 0), 1.5).astype("float32")[..., None] / 255
    canvas[:] = canvas * (1 - soft) + colour * soft
    return soft[..., 0]


def _hidden_border(soft: Any, quad: Any) -> tuple[float, bool]:
    """How much of ``quad``'s border the drawn cover ``soft`` (0–1 per pixel) hides: the
    largest hidden share of one side, and whether a corner is hidden. The ground truth the
    scoring needs: whether a refusal for a covered border was the right answer is a fact of
    the scene, not of the detector."""
    import numpy as np

    quad = np.asarray(quad, np.float64)
    h, w = soft.shape[:2]

    def hidden(points: Any) -> Any:
        xs = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
        ys = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
        return soft[ys, xs] >= 0.5

    share = 0.0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        count = max(2, int(np.ceil(np.linalg.norm(b - a))) + 1)  # a sample per pixel
        points = a + (b - a) * np.linspace(0.0, 1.0, count)[:, None]
        share = max(share, float(hidden(points).mean()))
    return share, bool(hidden(quad).any())


def _cover(canvas: Any, quad: Any, kind: str, rng: Any) -> Any:
    """A hand or a pen over a corner or a side of ``quad`` (glare is added after the light).
    Returns the drawn shape's coverage (0–1 per pixel)."""
    import cv2
    import numpy as np

    quad = np.asarray(quad, np.float64)
    centre = quad.mean(axis=0)
    size = float(np.mean([np.linalg.norm(quad[(i + 1) % 4] - quad[i]) for i in range(4)]))
    corner = int(rng.integers(0, 4))
    mask = np.zeros(canvas.shape[:2], np.uint8)
    if kind in ("hand_corner", "hand_edge"):
        if kind == "hand_corner":
            spot = quad[corner]
            along = quad[(corner + 1) % 4] - quad[corner]
        else:
            a, b = quad[corner], quad[(corner + 1) % 4]
            spot = a + (b - a) * rng.uniform(0.3, 0.7)
            along = b - a
        out = spot - centre
        out /= np.linalg.norm(out) + 1e-9
        palm = spot + out * size * rng.uniform(-0.02, 0.04)
        angle = math.degrees(math.atan2(along[1], along[0]))
        axes = (int(size * rng.uniform(0.13, 0.18)), int(size * rng.uniform(0.08, 0.11)))
        cv2.ellipse(mask, (int(palm[0]), int(palm[1])), axes, angle, 0, 360, 255, -1)
        # Fingers reaching in over the page.
        side = np.array([-out[1], out[0]])
        for k in (-1.5, -0.5, 0.5, 1.5):
            base = palm + side * k * size * 0.045
            tip = base - out * size * rng.uniform(0.16, 0.24)
            cv2.line(mask, (int(base[0]), int(base[1])), (int(tip[0]), int(tip[1])), 255,
                     max(2, int(size * 0.035)))
        return _blend(canvas, mask, _skin(rng))
    elif kind == "pen_corner":
        # A pen lying across a corner, at an angle to both sides.
        a, b, d = quad[corner], quad[(corner + 1) % 4], quad[corner - 1]
        # Across the corner's diagonal, give or take: it crosses both sides near the corner.
        along_ab, along_ad = (b - a) / np.linalg.norm(b - a), (d - a) / np.linalg.norm(d - a)
        direction = along_ab + along_ad * rng.uniform(-1.4, -0.6)
        direction /= np.linalg.norm(direction)
        middle = a + (centre - a) * rng.uniform(0.02, 0.08)
        half = direction * size * rng.uniform(0.25, 0.35)
        width = max(3, int(size * rng.uniform(0.025, 0.035)))
        p, q = middle - half, middle + half
        cv2.line(mask, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 255, width)
        body = np.array(rng.choice([[60, 30, 20], [30, 30, 30], [40, 40, 170]]), np.float32)
        return _blend(canvas, mask, body)
    else:
        raise ValueError(f"unknown cover {kind!r}")


def _glare(canvas: Any, quad: Any, rng: Any) -> None:
    """A lamp's reflection over one corner, clipped white at its core."""
    import numpy as np

    quad = np.asarray(quad, np.float64)
    size = float(np.mean([np.linalg.norm(quad[(i + 1) % 4] - quad[i]) for i in range(4)]))
    spot = quad[int(rng.integers(0, 4))] + rng.normal(0, size * 0.02, 2)
    radius = size * rng.uniform(0.08, 0.13)
    yy, xx = np.mgrid[0:canvas.shape[0], 0:canvas.shape[1]].astype(np.float32)
    blob = np.exp(-(((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * radius ** 2)))
    canvas += (rng.uniform(260, 340) * blob)[..., None]


def _lighting(canvas: Any, rng: Any, hard: bool) -> list[str]:
    import cv2
    import numpy as np

    tags = []
    height, width = canvas.shape[:2]
    yy, xx = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(angle) + yy * math.sin(angle)) / max(width, height)
    strength = rng.uniform(0.15, 0.4 if hard else 0.25)
    gain = 1 - strength * (ramp - ramp.min()) / (np.ptp(ramp) + 1e-9)
    tags.append("gradient")
    if hard and rng.random() < 0.6:
        shadow = np.zeros_like(gain)
        cx, cy = rng.uniform(0, shadow.shape[1]), rng.uniform(0, shadow.shape[0])
        cv2.circle(shadow, (int(cx), int(cy)), int(shadow.shape[1] * rng.uniform(0.2, 0.4)), 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), shadow.shape[1] * 0.05)
        gain *= 1 - rng.uniform(0.2, 0.4) * shadow
        tags.append("shadow")
    canvas *= cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    return tags


def make_scene(
    seed: int,
    frame: tuple[int, int] = (1080, 1440),
    hard: bool = False,
    layout: str = "single",
    card: bool | None = None,
    jpeg_quality: int | None = None,
    cover: str | None = None,
    desk: str | None = None,
) -> Scene:
    """Draw one frame.

    Args:
        seed: the only source of randomness.
        frame: (height, width) in pixels.
        hard: stronger lighting, shadows, low contrast, hand occlusion, noise and compression.
        layout: ``"single"``, ``"two"``, ``"off_edge"`` or ``"none"`` (see the module doc).
        card: an ID-card-like card instead of an A4 page; None lets the seed choose.
        jpeg_quality: encode as JPEG at this quality (the seed chooses 60–92 if None and hard).
        cover: one of :data:`COVERS` over the (first) page's border, or None.
        desk: ``"wood"``, ``"pattern"``, ``"dark"``, ``"plain"`` or ``"granite"`` instead of
            the seed's choice.

    Returns:
        The :class:`Scene`.
    """
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    height, width = frame
    if card is None:
        card = bool(rng.random() < 0.2)
    size_mm = ID_CARD_MM if card else A4_MM
    kinds = ("wood", "pattern", "dark", "plain")
    bg_kind = kinds[int(rng.integers(0, len(kinds)))]
    bg_kind = desk or bg_kind
    # Covers and forced desks draw from their own generator: the main one's sequence, and so
    # every frame made without them, stays as it was.
    extra = np.random.default_rng([seed, 31])
    canvas = _background(height, width, bg_kind, extra if bg_kind == "granite" else rng)
    tags = [bg_kind, "card" if card else "a4"]
    aspect = size_mm[1] / size_mm[0]
    fill = rng.uniform(0.3, 0.55) if not card else rng.uniform(0.15, 0.3)
    quads: list[Any] = []
    if layout == "single":
        for _ in range(200):
            quad = _random_quad(frame, aspect, rng, fill)
            if _fits(quad, frame, 0.03 * min(frame)):
                break
            fill *= 0.97
        quads.append(quad)
    elif layout == "two":
        for cx in (0.27, 0.73):
            quads.append(_random_quad(frame, aspect, rng, 0.16, (cx * width, height / 2)))
    elif layout == "stack":
        # The second page lies across the first, hiding one of its corners.
        first = _random_quad(frame, aspect, rng, 0.2, (0.4 * width, 0.45 * height))
        shift = np.array([rng.uniform(0.3, 0.45), rng.uniform(0.15, 0.3)]) * [width, height] * 0.5
        quads += [first, _random_quad(frame, aspect, rng, 0.2, tuple(first.mean(axis=0) + shift))]
    elif layout == "off_edge":
        quad = _random_quad(frame, aspect, rng, 0.4)
        quads.append(quad + [width * 0.35, 0])
    for quad in quads:
        edge = int(np.linalg.norm(quad[1] - quad[0]) * 1.1)
        page = render_page(max(64, edge), rng, card)
        if hard and rng.random() < 0.5:
            # Low contrast: a grey, yellowed sheet close to the desk's brightness.
            page = (page.astype(np.float32) * rng.uniform(0.72, 0.85)).astype(np.uint8)
            tags.append("low_contrast")
        _paste(canvas, page, quad)
    hidden = (0.0, False)
    if hard and quads and layout == "single" and rng.random() < 0.5:
        hidden = _hidden_border(_hand(canvas, quads[0], rng), quads[0])
        tags.append("hand")
    if cover and cover != "glare_corner":
        covered = _hidden_border(_cover(canvas, quads[0], cover, extra), quads[0])
        hidden = (max(hidden[0], covered[0]), hidden[1] or covered[1])
    tags += _lighting(canvas, rng, hard)
    if cover == "glare_corner":
        _glare(canvas, quads[0], extra)
    if cover:
        tags.append(cover)
    if hard:
        sigma = rng.uniform(0.4, 1.2) * max(1.0, width / 1500)
        canvas[:] = cv2.GaussianBlur(canvas, (0, 0), sigma)
        canvas += rng.normal(0, rng.uniform(3, 8), canvas.shape).astype(np.float32)
        tags.append("noise")
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    if jpeg_quality is None and hard:
        jpeg_quality = int(rng.integers(60, 93))
    data = None
    if jpeg_quality is not None:
        data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])[1].tobytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return Scene(image, data, [[(float(x), float(y)) for x, y in q] for q in quads], size_mm, tags,
                 *hidden)


def write_set(folder: Path, count: int, seed: int = 0, frame: tuple[int, int] = (1080, 1440),
              hard: bool = False) -> Path:
    """Write ``count`` single-page JPEG frames and their ``groundtruth.csv`` into ``folder``,
    with how much of each page's border a hand hides (``border_hidden``, ``corner_hidden``:
    :class:`Scene`).

    Returns:
        The CSV path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "groundtruth.csv"
    with csv_path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["image", "tl_x", "tl_y", "tr_x", "tr_y", "br_x", "br_y", "bl_x", "bl_y",
                      "width_mm", "height_mm", "border_hidden", "corner_hidden"])
        for i in range(count):
            scene = make_scene(seed + i, frame, hard, jpeg_quality=None if hard else 90)
            name = f"frame_{seed + i:05d}.jpg"
            (folder / name).write_bytes(scene.jpeg or b"")
            corners = [f"{v:.2f}" for point in scene.quads[0] for v in point]
            out.writerow([name, *corners, *scene.size_mm, f"{scene.border_hidden:.4f}",
                          int(scene.corner_hidden)])
    return csv_path

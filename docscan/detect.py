"""Find the page quadrilateral in a frame.

Coarse on a small copy (about 512 px on the long side), exact at full resolution: each side is
re-found in a narrow band across the full-resolution image (the strongest step along the side's
normal, sampled at a few dozen points) and fitted as a robust line; adjacent lines intersect in
the corners. Downscaling keeps detection in a few milliseconds on a 13-MP frame, and the
refinement costs four tiny ``remap`` calls, so its accuracy does not depend on the downscale.

Candidates come from two cues, because neither works alone: edges (good on plain desks, lost in
wood grain) and a "paper" mask (bright, unsaturated; good on coloured desks, weak on a grey one).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import BlankFrame, LowConfidence, NoPageFound, PageOutOfFrame, TwoPagesFound

#: Long side of the copy the coarse search runs on.
DETECT_SIZE = 512
#: Smallest page, as a share of the frame, that counts (an ID card on the platen is ~6 %).
MIN_AREA = 0.04
#: Below this confidence a detection is refused, never cropped.
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Detection:
    """A page found in a frame.

    Attributes:
        quad: corners tl, tr, br, bl in full-resolution pixels (float32, shape 4×2).
        confidence: 0–1, the share of the refined sides backed by a clear edge.
    """

    quad: np.ndarray
    confidence: float


def order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as tl, tr, br, bl: clockwise (image y down) starting nearest the top-left."""
    pts = np.float32(points).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen, since y points down
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _small(image: np.ndarray) -> tuple[np.ndarray, float]:
    scale = DETECT_SIZE / max(image.shape[:2])
    if scale >= 1:
        return image, 1.0
    # INTER_LINEAR to twice the target, then INTER_AREA on that small copy: INTER_AREA straight
    # from 13 MP costs 40× the whole detection, INTER_LINEAR alone aliases the sensor noise.
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, size, interpolation=cv2.INTER_AREA), scale


def _cues(small: np.ndarray) -> list[np.ndarray]:
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_BGR2Lab)
    light = lab[:, :, 0]
    chroma = cv2.magnitude(lab[:, :, 1].astype(np.float32) - 128, lab[:, :, 2].astype(np.float32) - 128)
    paper = cv2.normalize(light.astype(np.float32) - 2.0 * chroma, None, 0, 255, cv2.NORM_MINMAX)
    paper = paper.astype(np.uint8)
    masks = []
    for channel in (paper, light):
        _, mask = cv2.threshold(channel, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        masks.append(mask)
    edges = cv2.Canny(light, 20, 60) | cv2.Canny(cv2.convertScaleAbs(chroma, alpha=3), 20, 60)
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 255, -1)
    masks.append(filled)
    kernel = np.ones((5, 5), np.uint8)
    return [cv2.morphologyEx(cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
            for m in masks]


def _quad_from_contour(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return order_corners(approx)
    if len(hull) >= 4:
        # A corner hidden under a hand leaves 5+ vertices: the rotated box still seeds refinement.
        return order_corners(cv2.boxPoints(cv2.minAreaRect(hull)))
    return None


def _edge_support(near_edge: np.ndarray, quad: np.ndarray) -> float:
    ts = np.linspace(0.05, 0.95, 24)[:, None]
    points = np.concatenate([quad[i] + (quad[(i + 1) % 4] - quad[i]) * ts for i in range(4)])
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, near_edge.shape[1] - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, near_edge.shape[0] - 1)
    return float((near_edge[ys, xs] > 0).mean())


def _candidates(small: np.ndarray) -> list[tuple[float, np.ndarray]]:
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    # Dilated once so each side sample asks "is there an edge within 2 px" by one lookup.
    edges = cv2.dilate(cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 15, 45), np.ones((5, 5), np.uint8))
    frame_area = small.shape[0] * small.shape[1]
    found = []
    for mask in _cues(small):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            area = cv2.contourArea(contour)
            if area < MIN_AREA * frame_area or area > 0.97 * frame_area:
                continue
            quad = _quad_from_contour(contour)
            if quad is None:
                continue
            fill = area / max(cv2.contourArea(quad), 1.0)
            score = _edge_support(edges, quad) * min(fill, 1 / fill)
            found.append((score, quad))
    return sorted(found, key=lambda c: -c[0])


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(np.float32(a), np.float32(b))
    return inter / min(cv2.contourArea(a), cv2.contourArea(b))


def _line(points: np.ndarray) -> np.ndarray:
    vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([vx, vy, x0, y0], np.float64)


def _intersect(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = l1, l2
    det = vx1 * (-vy2) - vy1 * (-vx2)
    if abs(det) < 1e-6:
        return None
    t = ((x2 - x1) * (-vy2) - (y2 - y1) * (-vx2)) / det
    return np.array([x1 + t * vx1, y1 + t * vy1])


def _refine_side(image: np.ndarray, a: np.ndarray, b: np.ndarray, centre: np.ndarray,
                 band: float) -> tuple[np.ndarray, float] | None:
    direction = (b - a) / (np.linalg.norm(b - a) + 1e-9)
    normal = np.array([-direction[1], direction[0]])
    if np.dot((a + b) / 2 - centre, normal) < 0:
        normal = -normal  # outward
    ts = np.linspace(0.06, 0.94, 48)
    offsets = np.arange(-band, band + 1, 1.0)
    base = a[None, :] + (b - a)[None, :] * ts[:, None]
    grid = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    strip = cv2.remap(image, grid[..., 0].astype(np.float32), grid[..., 1].astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    profile = strip.mean(axis=2) if strip.ndim == 3 else strip
    profile = cv2.GaussianBlur(profile, (5, 1), 0)
    deriv = np.zeros_like(profile)
    deriv[:, 1:-1] = (profile[:, 2:] - profile[:, :-2]) / 2
    sign = -1.0 if np.median(deriv.min(axis=1)) < -np.median(deriv.max(axis=1)) else 1.0
    resp = deriv * sign
    idx = np.clip(resp.argmax(axis=1), 1, len(offsets) - 2)
    rows = np.arange(len(ts))
    peak = resp[rows, idx]
    left, right = resp[rows, idx - 1], resp[rows, idx + 1]
    denom = left - 2 * peak + right
    sub = np.where(np.abs(denom) > 1e-6, 0.5 * (left - right) / denom, 0.0)
    strong = peak > max(4.0, 0.35 * float(np.median(peak)))
    if strong.sum() < 8:
        return None
    points = base + (offsets[0] + idx + np.clip(sub, -0.5, 0.5))[:, None] * normal[None, :]
    line = _line(points[strong])
    # Second pass without points off the line (a hand's edge, a shadow border).
    dist = np.abs((points[:, 0] - line[2]) * line[1] - (points[:, 1] - line[3]) * line[0])
    keep = strong & (dist < 1.5 + band * 0.1)
    if keep.sum() < 8:
        return None
    return _line(points[keep]), float(keep.mean())


def refine(image: np.ndarray, quad: np.ndarray, band: float) -> tuple[np.ndarray, float] | None:
    """Re-find each side of ``quad`` within ``band`` pixels in the full-resolution ``image``.

    Returns:
        The refined quad and the mean share of side samples that agreed, or None if a side
        showed no edge.
    """
    centre = quad.mean(axis=0)
    lines, support = [], []
    for i in range(4):
        side = _refine_side(image, quad[i], quad[(i + 1) % 4], centre, band)
        if side is None:
            return None
        lines.append(side[0])
        support.append(side[1])
    corners = [_intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    return order_corners(np.array(corners)), float(np.mean(support))


def check_exposure(small: np.ndarray) -> None:
    """Raise BlankFrame (604) for an all-black or all-white frame (nothing to find)."""
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    mean, std = cv2.meanStdDev(gray)
    if std[0][0] < 6 and (mean[0][0] < 40 or mean[0][0] > 215):
        raise BlankFrame(mean=float(mean[0][0]))


def detect(image: np.ndarray) -> Detection:
    """Find the one page in a BGR frame.

    Args:
        image: the full-resolution frame.

    Returns:
        The page :class:`Detection` in full-resolution pixels.

    Raises:
        BlankFrame (604): all black or all white.
        NoPageFound (601): no page-shaped region.
        TwoPagesFound (602): two separate page-sized regions.
        PageOutOfFrame (603): the page runs off the frame edge.
        LowConfidence (607): a shape was found but its sides are not clear enough to crop.
    """
    small, scale = _small(image)
    check_exposure(small)
    candidates = _candidates(small)
    if not candidates or candidates[0][0] < 0.3:
        raise NoPageFound(candidates=len(candidates))
    best_score, best = candidates[0]
    for score, quad in candidates[1:]:
        if score > 0.6 * best_score and _overlap(best, quad) < 0.1 and (
                cv2.contourArea(quad) > 0.4 * cv2.contourArea(best)):
            raise TwoPagesFound()
    height, width = small.shape[:2]
    margin = 2.0
    if (best[:, 0] < margin).any() or (best[:, 1] < margin).any() or (
            best[:, 0] > width - 1 - margin).any() or (best[:, 1] > height - 1 - margin).any():
        raise PageOutOfFrame()
    quad = best / scale
    band = 3.0 / scale + 4
    result = refine(image, quad, band)
    if result is not None:
        quad, support = result
        second = refine(image, quad, max(4.0, band / 3))
        if second is not None:
            quad, support = second
    else:
        support = 0.0
    confidence = float(min(1.0, best_score) * support)
    if confidence < MIN_CONFIDENCE or np.abs(quad - best / scale).max() > 4 / scale + 8:
        raise LowConfidence(confidence=round(confidence, 3))
    full_h, full_w = image.shape[:2]
    if (quad < -1).any() or (quad[:, 0] > full_w).any() or (quad[:, 1] > full_h).any():
        raise PageOutOfFrame()
    return Detection(quad.astype(np.float32), confidence)

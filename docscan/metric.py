"""SmartDoc 2015 Challenge 1 Jaccard index (JI), as the competition defines it.

Both the ground-truth quad G and the detected quad S are mapped through the homography that
takes G onto the document's own rectangle (its true size, for example 2100×2970 for A4 in
0.1 mm units); JI = area(G'∩S') / area(G'∪S'). So every square millimetre of paper weighs the
same wherever perspective put it. A rejected frame (no quad) scores 0, and so does a
self-intersecting quad, as in the reference evaluation code.

Quads here are four (x, y) points in the order top-left, top-right, bottom-right, bottom-left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]

#: The SmartDoc model size: A4 at 0.1 mm per unit.
A4_MODEL = (2100.0, 2970.0)


def _area(poly: Sequence[Point]) -> float:
    if len(poly) < 3:
        return 0.0
    total = 0.0
    for (x0, y0), (x1, y1) in zip(poly, [*poly[1:], poly[0]]):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def _segments_cross(p1: Point, p2: Point, p3: Point, p4: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


def is_self_intersecting(quad: Sequence[Point]) -> bool:
    """True if opposite sides of the quad cross (corners given in the wrong order)."""
    return _segments_cross(quad[0], quad[1], quad[2], quad[3]) or _segments_cross(
        quad[1], quad[2], quad[3], quad[0]
    )


def _clip(subject: list[Point], width: float, height: float) -> list[Point]:
    # Sutherland–Hodgman against the axis-aligned document rectangle: the clip region is convex,
    # which is all the algorithm needs; the subject may be any simple polygon.
    edges = [
        (lambda p: p[0] >= 0, lambda a, b: (0.0, a[1] + (b[1] - a[1]) * (0 - a[0]) / (b[0] - a[0]))),
        (lambda p: p[0] <= width,
         lambda a, b: (width, a[1] + (b[1] - a[1]) * (width - a[0]) / (b[0] - a[0]))),
        (lambda p: p[1] >= 0, lambda a, b: (a[0] + (b[0] - a[0]) * (0 - a[1]) / (b[1] - a[1]), 0.0)),
        (lambda p: p[1] <= height,
         lambda a, b: (a[0] + (b[0] - a[0]) * (height - a[1]) / (b[1] - a[1]), height)),
    ]
    out = subject
    for inside, cross in edges:
        if not out:
            break
        src, out = out, []
        for i, cur in enumerate(src):
            prev = src[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
    return out


def to_document_frame(
    quad: Sequence[Point], truth: Sequence[Point], model: tuple[float, float] = A4_MODEL
) -> list[Point]:
    """Map ``quad`` through the homography taking ``truth`` onto the ``model`` rectangle."""
    import cv2

    width, height = model
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    homography = cv2.getPerspectiveTransform(np.float32(truth), target)
    mapped = cv2.perspectiveTransform(np.float64(quad).reshape(-1, 1, 2), homography)
    return [(float(x), float(y)) for x, y in mapped.reshape(-1, 2)]


def jaccard(
    found: Sequence[Point] | None,
    truth: Sequence[Point],
    model: tuple[float, float] = A4_MODEL,
) -> float:
    """The SmartDoc JI of one frame.

    Args:
        found: the detected quad, or None for a rejected frame.
        truth: the ground-truth quad in the same frame coordinates.
        model: the document's true width and height (any unit; only the aspect matters).

    Returns:
        JI in [0, 1]; 0 for a rejected frame or a self-intersecting detection.

    Raises:
        ValueError: the ground truth is self-intersecting or degenerate.
    """
    if is_self_intersecting(truth) or _area(truth) < 1e-9:
        raise ValueError("ground-truth quad is self-intersecting or degenerate")
    if found is None or is_self_intersecting(found):
        return 0.0
    width, height = model
    mapped = to_document_frame(found, truth, model)
    area_target = width * height
    area_found = _area(mapped)
    area_inter = min(_area(_clip(mapped, width, height)), area_target, area_found)
    union = area_found + area_target - area_inter
    return area_inter / union if union > 0 else 0.0


def capture_score(
    found: Sequence[Point] | None,
    truth: Sequence[Point],
    model: tuple[float, float] = A4_MODEL,
    covered: bool = False,
    refusal: str | None = None,
) -> float:
    """One frame's score for a capture: a crop scores its JI; a refusal 0, unless it is the
    right answer: ``PageCovered`` (``refusal`` is the error's key) for a frame whose truth
    says something covers a corner or a stretch of the border (``covered``), which then
    scores 1. Whether the border is covered is read from the truth, never from the detector,
    so a refusal of a page that is not covered still costs its frame."""
    if found is None:
        return 1.0 if covered and refusal == "page_covered" else 0.0
    return jaccard(found, truth, model)


def mean_jaccard(scores: Sequence[float]) -> float:
    """The challenge score: the mean JI over all frames, rejected ones counted as 0."""
    return float(sum(scores) / len(scores)) if scores else 0.0

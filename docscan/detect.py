"""Find the page quadrilateral in a frame.

Coarse on a small copy (384 px on the long side), exact at full resolution: each side is
re-found in a narrow band across the full-resolution image (the strongest step along the side's
normal, sampled at a few dozen points) and fitted as a robust line; adjacent lines intersect in
the corners. The cost of the coarse search does not grow with the frame, and the refinement
costs four small ``remap`` calls, so accuracy does not depend on the downscale.

Candidates come from several cues, because none works alone: region masks (paper is bright and
unsaturated, like the colour at the frame centre, and smooth where a desk is textured), edge
contours, and Hough lines of the colour gradient (they survive a hand over a corner and a shadow
across the page). Each is judged by the step across its sides, weakest side counted."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.errors import (
    BlankFrame,
    CaptureError,
    FrameGlare,
    LowConfidence,
    NoPageFound,
    PageCovered,
    PageOutOfFrame,
    TwoPagesFound,
)
from docscan.cover import check_border, check_border_closely

#: Long side of the copy the coarse search runs on.
DETECT_SIZE = 384
#: Smallest page, as a share of the frame, that counts (an ID card on the platen is ~6 %).
MIN_AREA = 0.04
#: Long side over short side beyond which a region is a desk stripe, not a sheet (A4 is 1.41,
#: an ID card 1.59; perspective and receipts stretch that).
MAX_ELONGATION = 3.5
#: Pixels (on the small copy) from the frame edge within which a page counts as cut off.
BORDER = 3.0
#: Scale of the texture cue against Lab units when judging a side (paper ~1, desk 2–4).
TEXTURE_WEIGHT = 4.0
#: Shortest straight run of edge pixels, as a share of the small copy's short side, that
#: gives a line of its own (:func:`_straight_runs`): under half an ID card's short side on the
#: platen.
STRAIGHT_RUN = 0.1
#: Line quads judged in full; beyond this many, the best after a rough judgement.
MAX_LINE_QUADS = 200
#: Line quads beyond which the texture pass judges none (:func:`_texture_pass`): a frame
#: that busy with straight lines (print running off the frame, a hand over an edge) is no pale
#: sheet on a plain desk. The sheets it found made 1,900–6,400 quads; such frames made
#: 30,000–42,000, whose judging took 200–550 ms.
TEXTURE_PASS_QUADS = 15000
#: Below this confidence a detection is refused, never cropped.
MIN_CONFIDENCE = 0.3
#: Colour step (weighted Lab) across a side that parts a sheet from the desk in the texture
#: pass (:func:`_steps_on_every_side`); printed lines on paper give ≤ 1 across them.
SIDE_COLOUR_STEP = 3.0
#: A quick-pass detection at or above this confidence is kept without the full search. (0.9
#: until the checks every accepted page now passes: a second sheet outside it, a cover, paper
#: past its border. Between 0.6 and 0.9 the full search gave the same outcome on all of 390
#: hard frames, single, two-page, covered and stacked, on 2026-12-07; docs/docscan.md.)
QUICK_CONFIDENCE = 0.6
#: Share of the frame clipped white above which a failed detection is blamed on glare.
GLARE_IN_FRAME = 0.003
#: Buffers reused from frame to frame, one set per thread (:func:`_texture`).
_SCRATCH = threading.local()
#: Each corner's successor: ``quads[:, _NEXT]`` is ``np.roll(quads, -1, axis=1)``, cheaper.
_NEXT = [1, 2, 3, 0]


@dataclass(frozen=True)
class Detection:
    """A page found in a frame.

    Attributes:
        quad: corners tl, tr, br, bl in full-resolution pixels (float32, shape 4×2).
        confidence: 0–1, from the coarse side score and the share of full-resolution samples
            that agreed on the weakest side.
    """

    quad: np.ndarray
    confidence: float


def order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as tl, tr, br, bl: clockwise (image y down) starting nearest the top-left."""
    pts = np.float32(points).reshape(4, 2)
    centre = pts.sum(axis=0) / np.float32(4)  # pts.mean(axis=0), without its overhead
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen, since y points down
    start = int(np.argmin(pts.sum(axis=1)))
    return pts[[(start + i) % 4 for i in range(4)]]


def _median(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.median`` along ``axis``, the same values: the mean of the two middle ones of a
    sort. (``np.median`` partitions instead, which costs 2–5× a sort on the short rows of
    samples it is given here, and it is given thousands of them.)"""
    ordered = np.sort(values, axis=axis)
    n = ordered.shape[axis]
    return (np.take(ordered, (n - 1) // 2, axis=axis) + np.take(ordered, n // 2, axis=axis)) / 2


def _small(image: np.ndarray) -> tuple[np.ndarray, float]:
    scale = DETECT_SIZE / max(image.shape[:2])
    if scale >= 1:
        return image, 1.0
    # INTER_LINEAR to twice the target, then INTER_AREA on that small copy: INTER_AREA straight
    # from 13 MP costs ~11× as much (28 against 2.5 ms, as much as the rest of the detection;
    # a pyrDown chain more still), INTER_LINEAR alone aliases the sensor noise.
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, size, interpolation=cv2.INTER_AREA), scale


def _smooth_channels(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lab of a cleaned copy (uint8), its lightness, the "paper" channel and the weighted Lab
    (float32, lightness halved)."""
    # Median first: sensor noise and JPEG blocks would otherwise break every mask into islands.
    blurred = cv2.GaussianBlur(cv2.medianBlur(small, 5), (0, 0), 1.5)
    lab = cv2.cvtColor(blurred, cv2.COLOR_BGR2Lab)
    light, a, b = cv2.split(lab)
    # In OpenCV, with fewer temporaries than the numpy expressions had (a - 128 and 2·chroma
    # are exact, light - 2·chroma is rounded once either way, so the floats are the same): on
    # a cache still cold from the full-resolution decode every temporary costs its memory.
    chroma = cv2.magnitude(cv2.subtract(a, 128, dtype=cv2.CV_32F),
                           cv2.subtract(b, 128, dtype=cv2.CV_32F))
    paper = cv2.normalize(cv2.scaleAdd(chroma, -2.0, light.astype(np.float32)), None, 0, 255,
                          cv2.NORM_MINMAX)
    # Lightness counts half: a lamp gradient changes it across one sheet, not the paper's hue.
    # (cv2.multiply, not numpy: broadcasting over a last axis of three costs ~1 ms here.)
    weighted = lab.astype(np.float32)
    cv2.multiply(weighted, (0.5, 1.0, 1.0, 0.0), dst=weighted)
    return lab, light, paper.astype(np.uint8), weighted


def _paper_likeness(weighted: np.ndarray) -> np.ndarray:
    # The page fills the middle of a 高拍仪 frame: the median colour there is the paper's, and a
    # desk as bright as the paper still differs from it in hue or texture.
    h, w = weighted.shape[:2]
    centre = weighted[h * 3 // 8:h * 5 // 8:2, w * 3 // 8:w * 5 // 8:2].reshape(-1, 3)
    distance = np.linalg.norm(weighted - np.median(centre, axis=0), axis=2)
    return np.uint8(255 - np.clip(distance * 4, 0, 255))


def _texture(small: np.ndarray) -> np.ndarray:
    """Local colour spread (7-px window, all three Lab channels) of a lightly blurred copy.

    Paper is flat between its lines of ink; a desk has grain, weave or blotches in lightness
    *or* hue. This holds when the sheet is as bright as the desk, where every brightness cue
    fails. The blur is light on purpose: the median that cleans the other cues erases the
    desk's texture too."""
    lab8 = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), 1.0), cv2.COLOR_BGR2Lab)
    lab = lab8.astype(np.float32)
    mean = cv2.blur(lab, (7, 7))
    cv2.multiply(mean, mean, dst=mean)
    # The box sums of the squares come out in float64, 2.7 MB on the 384-px copy. A fresh
    # array that large can be fresh memory from the OS at every frame (glibc gives a freed
    # block of that size back to it): ~650 page faults, ~1.2 ms on this VM. So one buffer per
    # thread is kept and reused, and the rest is done in place. (Box filters and a channel
    # sum in OpenCV: in numpy they cost ~1.3 ms more.)
    squares = getattr(_SCRATCH, "squares", None)
    if squares is None or squares.shape != lab.shape:
        squares = _SCRATCH.squares = np.empty(lab.shape, np.float64)
    # From the uint8 Lab: the sums of squares are exact integers either way (the same
    # float64s), and integer sums cost two thirds of float ones.
    cv2.sqrBoxFilter(lab8, cv2.CV_64F, (7, 7), dst=squares)
    cv2.subtract(squares, mean, dst=squares, dtype=cv2.CV_64F)
    var = cv2.transform(squares, np.ones((1, 3), np.float32))
    return cv2.sqrt(cv2.max(var, 0.0, dst=var), dst=var)


def _smooth_masks(texture: np.ndarray) -> list[np.ndarray]:
    # Ink makes holes and notches in a smooth region: close them, then fill what the outline
    # encloses, so a page full of text is one solid region.
    masks = []
    kernel = np.ones((5, 5), np.uint8)
    for level in np.percentile(texture[::3, ::3], (25, 40)):
        mask = cv2.morphologyEx(np.uint8(texture < level) * 255, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = np.zeros_like(mask)
        for contour in contours:
            # A text block can reach the sheet's edge and cut its smooth margin open; the sheet
            # is convex, so its hull closes the cut.
            cv2.drawContours(filled, [cv2.convexHull(contour)], -1, 255, -1)
        masks.append(filled)
    return masks


def _sweep(channel: np.ndarray) -> list[np.ndarray]:
    # A sweep of thresholds, not one: under a lamp gradient the level that separates the page
    # from the desk differs from frame to frame, and a wrong level only adds a poor candidate.
    masks = []
    kernel = np.ones((5, 5), np.uint8)
    otsu, _ = cv2.threshold(channel, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    levels = {int(otsu), *(int(v) for v in np.percentile(channel[::4, ::4], (35, 60, 85)))}
    for level in sorted(levels):
        masks.append(cv2.morphologyEx(np.uint8(channel > level) * 255, cv2.MORPH_OPEN, kernel))
    return masks


def _more_masks(light: np.ndarray, likeness: np.ndarray) -> list[np.ndarray]:
    """The cues the quick pass leaves out: lightness and likeness sweeps, smoothness of the
    lightness, filled edge contours."""
    masks = _sweep(light) + _sweep(likeness)
    kernel = np.ones((5, 5), np.uint8)
    # Paper is smooth where a desk (wood grain, fabric, a mottled top) is not.
    mean = cv2.blur(light.astype(np.float32), (9, 9))
    spread = cv2.sqrt(np.maximum(cv2.blur(light.astype(np.float32) ** 2, (9, 9)) - mean ** 2, 0))
    for level in np.percentile(spread[::4, ::4], (30, 50)):
        mask = np.uint8(spread < max(level, 1.0)) * 255
        masks.append(cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel),
                                      cv2.MORPH_OPEN, kernel))
    edges = cv2.Canny(light, 10, 30)
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, kernel)
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 255, -1)
    masks.append(cv2.morphologyEx(filled, cv2.MORPH_OPEN, kernel))
    return masks


def _quad_from_contour(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return order_corners(approx)
    approx = cv2.approxPolyDP(hull, 0.02 * perimeter, True).reshape(-1, 2)
    if 4 < len(approx) <= 9:
        # A hand's fingertip adds hull vertices: the page is the largest four of them.
        best = max(itertools.combinations(range(len(approx)), 4),
                   key=lambda idx: cv2.contourArea(approx[list(idx)].astype(np.float32)))
        return order_corners(approx[list(best)])
    return None


def _on_border(point: np.ndarray, shape: tuple[int, ...], margin: float = BORDER) -> np.ndarray:
    """Which frame borders (left, top, right, bottom) the point lies within ``margin`` of."""
    h, w = shape[:2]
    x, y = point
    return np.array([x < margin, y < margin, x > w - 1 - margin, y > h - 1 - margin])


#: What a side is judged on: the weighted Lab (colour) and the texture, stacked per sample
#: (texture scaled by :data:`TEXTURE_WEIGHT`). Kept apart and sampled at the few points that
#: are judged: stacking them into one image cost more than all the judging.
Cues = tuple[np.ndarray, np.ndarray]


def _side_support(cues: Cues, quad: np.ndarray, step: float = 5.0) -> float:
    """Mean over the four sides of the share of points with a clear step across the side.

    One side lying along the frame border counts as supported: the page goes on past the
    frame, which :func:`detect` reports as such rather than as "no page". Two or more such
    sides are a corner of the desk, not a page.
    """
    return float(_side_supports(cues, np.asarray(quad, np.float64)[None], step)[0])


def _side_supports(cues: Cues, quads: np.ndarray, step: float = 5.0,
                   samples: int = 24) -> np.ndarray:
    """:func:`_side_support` for N quads at once (N×4×2, corners in cyclic order), from
    ``samples`` points per side."""
    weighted, texture = cues
    h, w = weighted.shape[:2]
    quads = np.asarray(quads, np.float64)
    nxt = quads[:, _NEXT]
    near = np.stack([quads[..., 0] < BORDER, quads[..., 1] < BORDER,
                     quads[..., 0] > w - 1 - BORDER, quads[..., 1] > h - 1 - BORDER], axis=-1)
    cut = (near & near[:, _NEXT]).any(axis=2)  # (N, 4): both ends on one border
    direction = nxt - quads
    direction /= np.linalg.norm(direction, axis=2, keepdims=True) + 1e-9
    normal = np.stack([-direction[..., 1], direction[..., 0]], axis=2)
    mid = (quads + nxt) / 2 - quads.mean(axis=1, keepdims=True)
    outward = np.einsum("nij,nij->ni", mid, normal) >= 0
    normal *= np.where(outward, 1.0, -1.0)[..., None]
    ts = np.linspace(0.05, 0.95, samples)[None, None, :, None]
    points = quads[:, :, None, :] + (nxt - quads)[:, :, None, :] * ts  # (N, 4 sides, k, xy)
    colour, grain = weighted.reshape(h * w, -1), texture.reshape(h * w)

    def index(pts: np.ndarray) -> np.ndarray:
        # Flat indices and ``take``: a third of what 2-D fancy indexing costs here.
        xs = np.clip(np.round(pts[..., 0]).astype(int), 0, w - 1)
        ys = np.clip(np.round(pts[..., 1]).astype(int), 0, h - 1)
        return ys * w + xs

    shift = normal[:, :, None, :] * step
    inner, outer = index(points - shift), index(points + shift)
    # (N, 4, k, channels): the colour step, then the texture's, in float64.
    diff = np.empty(inner.shape + (colour.shape[1] + 1,), np.float64)
    np.subtract(colour.take(inner, axis=0), colour.take(outer, axis=0), out=diff[..., :-1],
                dtype=np.float64)
    np.subtract(grain.take(inner) * TEXTURE_WEIGHT, grain.take(outer) * TEXTURE_WEIGHT,
                out=diff[..., -1], dtype=np.float64)
    # The step must point the same way along the side: noise steps point anywhere.
    main = _median(diff, axis=2)
    main /= np.linalg.norm(main, axis=2, keepdims=True) + 1e-9
    shares = (np.einsum("nskc,nsc->nsk", diff, main) > 3).mean(axis=2)
    cut_count = cut.sum(axis=1, keepdims=True)
    shares = np.where(cut, np.where(cut_count == 1, 1.0, 0.0), shares)
    return shares.mean(axis=1) * np.sqrt(shares.min(axis=1))


def _elongation(quad: np.ndarray) -> float:
    sides = [np.linalg.norm(quad[(i + 1) % 4] - quad[i]) for i in range(4)]
    return (sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-6) if sides[0] + sides[2] > (
        sides[1] + sides[3]) else (sides[1] + sides[3]) / max(sides[0] + sides[2], 1e-6)


def _edges(lab: np.ndarray) -> np.ndarray:
    """Canny edges of each Lab channel (the cleaned copy's), ORed: a sheet that differs from
    the desk only in hue has edges too."""
    edges = np.zeros(lab.shape[:2], np.uint8)
    for channel in cv2.split(lab):
        edges |= cv2.Canny(channel, 6, 14)
    return edges


def _texture_edges(texture: np.ndarray) -> np.ndarray:
    """Canny edges of the texture cue: where smooth paper meets a grainy desk with no step
    in colour (a pale card in a shadow on a plain grey desk)."""
    level = cv2.normalize(np.log1p(texture), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return cv2.Canny(cv2.GaussianBlur(level, (0, 0), 2), 10, 30)


def _hough_lines(edges: np.ndarray, keep: int = 20) -> list[tuple[float, float]]:
    # Vote at half size (a quarter of the edge points, thin Canny edges keep the vote cheap);
    # the sides are re-found precisely later.
    return _vote(cv2.resize(edges, (edges.shape[1] // 2, edges.shape[0] // 2),
                            interpolation=cv2.INTER_NEAREST), keep)


def _vote(half: np.ndarray, keep: int = 20) -> list[tuple[float, float]]:
    """The first ``keep`` distinct Hough lines of half-size edges, in small-copy pixels: the
    lines :func:`_add_lines` would keep of them, one by one, in vote order."""
    least = int(0.12 * min(half.shape[:2]))
    # On a textured desk thousands of lines pass that vote (up to 6,800 on the bench's 13-MP
    # frames), while the first ``keep`` distinct ones have several times as many votes;
    # listing, sorting and thinning out the rest cost up to ~1 ms beyond the vote itself.
    # ``cv2.HoughLines`` lists the lines above a threshold by votes (ties in accumulator
    # order), so the list above a higher threshold is the start of the full list: if ``keep``
    # distinct lines are found in it, they are the same lines. The guess (~1 vote per 110
    # edge pixels) is under the ``keep``-th line's votes on the bench's frames; where it is
    # not, the full list is taken after all.
    guess = max(least, int(0.009 * cv2.countNonZero(half)))
    for threshold in dict.fromkeys((guess, least)):
        found = cv2.HoughLines(half, 1, np.pi / 180, threshold)
        if found is None:
            continue
        # Most of the lines are near copies of a stronger one: each kept line strikes out all
        # its copies at once (the test of :func:`_add_lines`, in the same order).
        rho = found[:, 0, 0].astype(np.float64) * 2
        theta = found[:, 0, 1].astype(np.float64)
        kept: list[int] = []
        left = np.arange(len(rho))
        while len(left) and len(kept) < keep:
            first = left[0]
            kept.append(int(first))
            turn = np.abs(theta[left] - theta[first])
            copies = ((np.abs(rho[left] - rho[first]) <= 8)
                      & (np.minimum(turn, np.pi - turn) <= 0.09))
            left = left[~copies]
        if len(kept) == keep or threshold == least:
            return [(float(rho[i]), float(theta[i])) for i in kept]
    return []


def _straight_runs(edges: np.ndarray) -> list[tuple[float, float]]:
    """Lines through the straight runs of edge pixels (at least :data:`STRAIGHT_RUN` of the
    copy's short side, gaps of ≤ 3 px).

    A small sheet's sides are short: on a grainy desk (noise, speckle, a mottled top) the
    desk's short curved edges, summed along a line across the whole frame, outvote them for
    every one of the frame's Hough slots, though each side is a plain straight run in the
    edges. A run that long is rare in desk grain; it is what a side, a table's line or a
    hand's edge gives, and the candidates it makes are judged like all the others."""
    length = int(STRAIGHT_RUN * min(edges.shape[:2]))
    found = cv2.HoughLinesP(edges, 1, np.pi / 180, length, minLineLength=length, maxLineGap=3)
    return [_side_line(np.float64(s[:2]), np.float64(s[2:]))
            for s in ([] if found is None else found.reshape(-1, 4))]


def _add_lines(lines: list[tuple[float, float]],
               new: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``lines`` plus those of ``new`` that no kept line already matches (8 px, 5°): every
    extra line multiplies the quads to score, and snapping makes up the difference."""
    kept = list(lines)
    for rho, theta in new:
        if all(abs(rho - r) > 8 or min(abs(theta - t), np.pi - abs(theta - t)) > 0.09
               for r, t in kept):
            kept.append((rho, theta))
    return kept


def _line_quads(lines: list[tuple[float, float]], shape: tuple[int, ...]) -> np.ndarray:
    """Quads (N×4×2, corners in cyclic order) from two pairs of near-parallel lines that cross
    near a right angle, inside the frame, convex, large enough and not stretched."""
    if len(lines) < 4:
        return np.zeros((0, 4, 2))
    rho = np.array([r for r, _ in lines])
    theta = np.array([t for _, t in lines])
    gap = np.abs(theta[:, None] - theta[None, :]) % np.pi
    gap = np.minimum(gap, np.pi - gap)
    cos, sin = np.cos(theta), np.sin(theta)
    det = cos[:, None] * sin[None, :] - sin[:, None] * cos[None, :]
    safe = np.where(np.abs(det) < 1e-3, 1e-3, det)
    meet = np.stack([(rho[:, None] * sin[None, :] - sin[:, None] * rho[None, :]) / safe,
                     (cos[:, None] * rho[None, :] - rho[:, None] * cos[None, :]) / safe], axis=-1)
    first, second = np.triu_indices(len(lines), 1)  # every pair i < j, in the order of i, then j
    near = gap[first, second] < 0.3
    pairs = np.stack([first[near], second[near]], axis=1)
    if len(pairs) < 2:
        return np.zeros((0, 4, 2))
    first, second = np.triu_indices(len(pairs), 1)
    a, b = pairs[first, 0], pairs[first, 1]
    c, d = pairs[second, 0], pairs[second, 1]
    keep = np.abs(gap[a, c] - np.pi / 2) < 0.45
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    quads = np.stack([meet[a, c], meet[c, b], meet[b, d], meet[d, a]], axis=1)
    h, w = shape[:2]
    # Strictly inside: a line quad with a side on the frame border is a strip of desk between
    # the sheet's extended sides (a sheet cut by the frame is found by the region masks).
    margin = BORDER + 1
    inside = ((quads[..., 0] >= margin) & (quads[..., 0] <= w - 1 - margin)
              & (quads[..., 1] >= margin) & (quads[..., 1] <= h - 1 - margin)).all(axis=1)
    edges = quads[:, _NEXT] - quads
    cross = edges[:, :, 0] * edges[:, _NEXT, 1] - edges[:, :, 1] * edges[:, _NEXT, 0]
    convex = (cross > 0).all(axis=1) | (cross < 0).all(axis=1)
    x, y = quads[..., 0], quads[..., 1]
    area = np.abs((x * y[:, _NEXT] - x[:, _NEXT] * y).sum(axis=1)) / 2
    length = np.linalg.norm(edges, axis=2)
    across, along = length[:, 0] + length[:, 2], length[:, 1] + length[:, 3]
    stretch = np.maximum(across, along) / np.maximum(np.minimum(across, along), 1e-6)
    ok = inside & convex & (area >= MIN_AREA * h * w) & (stretch <= MAX_ELONGATION)
    return quads[ok]


@dataclass(frozen=True)
class _Views:
    """The small copy seen several ways, computed once for both passes."""

    small: np.ndarray
    lab: np.ndarray
    light: np.ndarray
    paper: np.ndarray
    weighted: np.ndarray
    texture: np.ndarray
    #: What more than one step needs (the edges, the paper and desk levels around a quad),
    #: computed on first use: detection runs once per frame and must stay cheap.
    cache: dict = field(default_factory=dict, compare=False)

    @property
    def cues(self) -> Cues:
        return self.weighted, self.texture

    def edges(self) -> np.ndarray:
        if "edges" not in self.cache:
            self.cache["edges"] = _edges(self.lab)
        return self.cache["edges"]


def _views(small: np.ndarray) -> _Views:
    lab, light, paper, weighted = _smooth_channels(small)
    # Sides are judged on colour and on texture (:data:`Cues`): a sheet as bright as the desk
    # still differs from it in smoothness.
    return _Views(small, lab, light, paper, weighted, _texture(small))


def _region_quads(masks: list[np.ndarray], views: _Views) -> list[tuple[float, np.ndarray]]:
    frame_area = views.small.shape[0] * views.small.shape[1]
    shapes, fills = [], []
    for mask in masks:
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            area = cv2.contourArea(contour)
            if area < MIN_AREA * frame_area or area > 0.97 * frame_area:
                continue
            quad = _quad_from_contour(contour)
            if quad is None or _elongation(quad) > MAX_ELONGATION:
                continue
            fill = area / max(cv2.contourArea(quad), 1.0)
            if min(fill, 1 / fill) < 0.75:
                continue  # not four-sided: a blob of desk or a page merged with its shadow
            shapes.append(quad)
            fills.append(min(fill, 1 / fill))
    if not shapes:
        return []
    scores = _side_supports(views.cues, np.array(shapes)) * np.array(fills) ** 2
    return [(float(score), quad) for score, quad in zip(scores, shapes)]


def _quick_regions(views: _Views) -> tuple[list, list]:
    """Region candidates of the paper channel and of smoothness, kept for the full search."""
    if "regions" not in views.cache:
        views.cache["regions"] = (_region_quads(_sweep(views.paper), views),
                                  _region_quads(_smooth_masks(views.texture), views))
    return views.cache["regions"]


def _quick_candidates(views: _Views) -> list[tuple[float, np.ndarray]]:
    """Regions of the paper channel and of smoothness only: enough for a plain sheet."""
    paper, smooth = _quick_regions(views)
    return _distinct(sorted(paper + smooth, key=lambda c: -c[0]))


def _candidates(views: _Views, straight: bool = False,
                texture: bool = False) -> list[tuple[float, np.ndarray]]:
    """Every cue: all region masks, then quads of Hough lines and region sides (and, with
    ``straight``, of the straight runs of edges: :func:`_straight_runs`; with ``texture``, of
    the texture's edges too: :func:`_texture_edges`)."""
    if "full_regions" not in views.cache:
        # The quick pass's regions are not found again; the other masks' go between them, in
        # the order the ranking has always seen them.
        paper, smooth = _quick_regions(views)
        views.cache["full_regions"] = paper + _region_quads(
            _more_masks(views.light, _paper_likeness(views.weighted)), views) + smooth
    found = list(views.cache["full_regions"])
    # Sides of the region candidates join the Hough lines: a shadow splits a sheet into two
    # regions and a hand bulges one, but each still has some true sides, and the sheet is the
    # quad built from the right four of them.
    regions = _distinct(sorted(found, key=lambda c: -c[0]))
    lines = _hough_lines(views.edges())
    if straight:
        lines = _add_lines(lines, _straight_runs(views.edges()))
    if texture:
        lines = _add_lines(lines, _straight_runs(_texture_edges(views.texture)))
    for score, quad in regions:
        if score > 0.05:
            lines = _add_lines(lines, [_side_line(quad[i], quad[(i + 1) % 4]) for i in range(4)])
    quads = _line_quads(lines, views.small.shape)
    if len(quads) and not (texture and len(quads) > TEXTURE_PASS_QUADS):
        if len(quads) > MAX_LINE_QUADS:
            # A first judgement from 8 points a side, then the full one for the best.
            rough = _side_supports(views.cues, quads, samples=8)
            quads = quads[np.argsort(-rough)[:MAX_LINE_QUADS]]
        scores = _side_supports(views.cues, quads)
        for k in np.argsort(-scores)[:10]:
            found.append((float(scores[k]), order_corners(quads[k])))
    # Deeper than the quick pass: pieces of one sheet (halves split by a shadow, the part
    # beside a hand) can fill the first places and push a second sheet down the ranking.
    return _distinct(sorted(found, key=lambda c: -c[0]), limit=16)


def _side_line(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The line through a and b as Hough's (rho, theta), theta in [0, pi)."""
    direction = b - a
    theta = float(np.arctan2(-direction[0], direction[1]) % np.pi)
    return float(a[0] * np.cos(theta) + a[1] * np.sin(theta)), theta


def _snapped(small: np.ndarray, cues: Cues, candidates: list[tuple[float, np.ndarray]],
             count: int = 4, memo: dict | None = None) -> list[tuple[float, np.ndarray]]:
    # A mask's outline can sit a few pixels off the paper (a threshold inside a shadow, a
    # morphology step): re-find each side on the small copy first, then judge the snapped quad.
    # ``memo`` keeps each quad's snap: the full search ranks the quick pass's candidates again.
    memo = {} if memo is None else memo
    snapped, keys, todo = [], [], []
    for score, quad in candidates[:count]:
        if score < 0.1:
            break
        if any(_on_border(corner, small.shape).any() for corner in quad):
            snapped.append((score, quad))  # cut by the frame: nothing to snap to
            continue
        keys.append(("snap", np.asarray(quad, np.float64).tobytes()))
        if keys[-1] not in memo:
            todo.append(quad)
    # A side that was 8 px off moves only part of the way in one pass: repeat (at most twice)
    # while the corners still move. All candidates are refined together at each pass.
    results = refine_many(small, np.array(todo), 8.0) if todo else []
    inputs = list(todo)
    moving = [i for i, r in enumerate(results) if r is not None]
    for _ in range(2):
        moving = [i for i in moving if np.abs(results[i][0] - inputs[i]).max() >= 1.0]
        if not moving:
            break
        again = refine_many(small, np.array([results[i][0] for i in moving]), 8.0)
        for i, result in zip(moving, again):
            inputs[i] = results[i][0]
            if result is not None:
                results[i] = result
        moving = [i for i, result in zip(moving, again) if result is not None]
    for quad, result in zip(todo, results):
        memo["snap", np.asarray(quad, np.float64).tobytes()] = result
    # In the candidates' order; None: a side with no edge near it.
    fitted = [memo[key] for key in keys if memo[key] is not None]
    if fitted:
        judged = _side_supports(cues, np.array([quad for quad, _ in fitted]))
        snapped += [(float(score * support), quad)
                    for score, (quad, support) in zip(judged, fitted)]
    return sorted(snapped, key=lambda c: -c[0])


def _distinct(ranked: list[tuple[float, np.ndarray]],
              limit: int = 8) -> list[tuple[float, np.ndarray]]:
    # The sweep finds the same page many times; keep the best of each.
    kept: list[tuple[float, np.ndarray]] = []
    for score, quad in ranked:
        if all(_iou(quad, other) < 0.8 for _, other in kept):
            kept.append((score, quad))
            if len(kept) == limit:  # only the first few are ever snapped or compared
                break
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(np.float32(a), np.float32(b))
    return inter / (cv2.contourArea(a) + cv2.contourArea(b) - inter + 1e-9)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(np.float32(a), np.float32(b))
    return inter / min(cv2.contourArea(a), cv2.contourArea(b))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _counterclockwise(quads: np.ndarray) -> np.ndarray:
    x, y = quads[..., 0], quads[..., 1]
    turned = (x * y[..., _NEXT] - x[..., _NEXT] * y).sum(axis=-1) < 0
    return np.where(turned[..., None, None], quads[..., ::-1, :], quads)


def _inside_parts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Twice the signed area that the parts of ``a``'s sides inside ``b`` contribute to the
    area of a ∩ b (both N×4×2, convex, counterclockwise): each side is clipped to ``b``'s four
    half-planes (Cyrus–Beck), and ∑ cross(start, end) over the clipped pieces of both
    outlines is twice the area of the intersection (Green's theorem)."""
    along = a[..., _NEXT, :] - a
    edge = b[..., _NEXT, :] - b
    # Side i of a at t ∈ [0, 1] is inside side j of b where at + t · rate ≥ 0.
    at = _cross(edge[..., None, :, :], a[..., :, None, :] - b[..., None, :, :])
    rate = _cross(edge[..., None, :, :], along[..., :, None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -at / rate
    start = np.where(rate > 0, t, -np.inf).max(axis=-1).clip(0, None)
    end = np.where(rate < 0, t, np.inf).min(axis=-1).clip(None, 1)
    keep = (end > start) & ~((rate == 0) & (at < 0)).any(axis=-1)
    piece = _cross(a + start[..., None] * along, a + end[..., None] * along)
    return np.where(keep, piece, 0.0).sum(axis=-1)


def _overlaps(best: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """:func:`_overlap` of ``best`` with each of N convex quads (N×4×2), in one pass of array
    work instead of N calls."""
    best = _counterclockwise(np.asarray(best, np.float64))
    quads = _counterclockwise(np.asarray(quads, np.float64))
    both = np.broadcast_to(best, quads.shape)
    inter = (_inside_parts(both, quads) + _inside_parts(quads, both)) / 2

    def area(q: np.ndarray) -> np.ndarray:
        x, y = q[..., 0], q[..., 1]
        return np.abs((x * y[..., _NEXT] - x[..., _NEXT] * y).sum(axis=-1)) / 2

    return inter / np.maximum(np.minimum(area(best), area(quads)), 1e-9)


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


def _profiles(image: np.ndarray, quads: np.ndarray, band: float) -> tuple[np.ndarray, ...]:
    """Step response across each side of N quads, in one ``remap`` for all their sides.

    Returns:
        ``base`` (N × 4 sides × 48 points × xy) on the side, the outward ``normal`` per side
        (N × 4 × xy), the ``offsets`` sampled along it (−band … band) and ``resp``
        (N × 4 × 48 × offsets): the derivative of the colour projected on the
        inside-minus-outside direction, positive where the inside is brighter.
    """
    quads = np.asarray(quads, np.float64).reshape(-1, 4, 2)
    count = len(quads)
    nxt = quads[:, _NEXT]
    direction = (nxt - quads) / (np.linalg.norm(nxt - quads, axis=2, keepdims=True) + 1e-9)
    normal = np.stack([-direction[..., 1], direction[..., 0]], axis=2)
    mid = (quads + nxt) / 2 - quads.mean(axis=1, keepdims=True)
    outward = np.einsum("qij,qij->qi", mid, normal) >= 0
    normal *= np.where(outward, 1.0, -1.0)[..., None]
    ts = np.linspace(0.06, 0.94, 48)
    offsets = np.arange(-band, band + 1, 1.0)
    along = np.arange(-3, 4, 1.0)  # average 7 px along the side: sensor noise drops by √7
    base = quads[:, :, None, :] + (nxt - quads)[:, :, None, :] * ts[None, None, :, None]
    direction, normal32 = direction.astype(np.float32), normal.astype(np.float32)
    along, offsets32 = along.astype(np.float32), offsets.astype(np.float32)
    # The same along × across pattern for every point of a side: build it once per side,
    # then one broadcast add per coordinate (x and y apart: numpy broadcasts slowly over a
    # last axis of two, and remap takes the two maps as they are).
    pattern = (along[None, None, :, None, None] * direction[:, :, None, None, :]
               + offsets32[None, None, None, :, None] * normal32[:, :, None, None, :])
    base32 = base.astype(np.float32)
    maps = [(base32[:, :, :, None, None, axis] + pattern[:, :, None, :, :, axis])
            .reshape(-1, len(offsets)) for axis in (0, 1)]
    strip = cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The mean of the 7 samples along the side: their sum is exact in any integer type, so
    # summing the uint8 samples as uint16 and dividing once gives numpy's float mean, cheaper.
    strip = (strip.reshape(count, 4, len(ts), len(along), len(offsets), -1)
             .sum(axis=3, dtype=np.uint16).astype(np.float32) / np.float32(len(along)))
    # Project colour onto the inside-minus-outside direction: a tinted sheet on a grey desk of
    # the same brightness has its step in hue, which a grey conversion would throw away.
    third = max(1, len(offsets) // 3)
    contrast = (strip[:, :, :, :third].mean(axis=(2, 3))
                - strip[:, :, :, -third:].mean(axis=(2, 3)))
    contrast /= np.linalg.norm(contrast, axis=2, keepdims=True) + 1e-9
    profile = np.einsum("qsnkc,qsc->qsnk", strip, contrast).reshape(-1, len(offsets))
    profile = cv2.GaussianBlur(profile.astype(np.float32), (5, 1), 0)
    resp = np.zeros_like(profile)
    resp[:, 1:-1] = (profile[:, :-2] - profile[:, 2:]) / 2
    return base, normal, offsets, resp.reshape(count, 4, len(ts), len(offsets))


def refine(image: np.ndarray, quad: np.ndarray, band: float) -> tuple[np.ndarray, float] | None:
    """Re-find each side of ``quad`` within ``band`` pixels in ``image``.

    Along each side, 48 points; at each, the strongest colour step across the side (7 px
    averaged along it, sub-pixel peak); a robust line through the strong steps, fitted again
    without the points off it (a hand's edge, a shadow border).

    Returns:
        The refined quad and the share of samples that agreed on its weakest side, or None if
        a side showed no edge.
    """
    return refine_many(image, np.asarray(quad)[None], band)[0]


def refine_many(image: np.ndarray, quads: np.ndarray,
                band: float) -> list[tuple[np.ndarray, float] | None]:
    """:func:`refine` for N quads at once: one ``remap`` and one pass of array work for all
    of them instead of one per quad."""
    base, normal, offsets, resp = _profiles(image, quads, band)
    count, points_per_side = base.shape[0], base.shape[2]
    resp = resp.reshape(-1, len(offsets))
    deriv = -resp
    idx = np.clip(resp.argmax(axis=1), 1, len(offsets) - 2)
    rows = np.arange(len(resp))
    peak = resp[rows, idx]
    left, right = resp[rows, idx - 1], resp[rows, idx + 1]
    denom = left - 2 * peak + right
    safe = np.where(np.abs(denom) > 1e-6, denom, 1.0)
    sub = np.where(np.abs(denom) > 1e-6, 0.5 * (left - right) / safe, 0.0)
    # Noise from the band away from each row's peak: in a narrow band the step itself would
    # otherwise fill the median and hide a faint edge under its own "noise".
    # (The median of each side's values away from the peaks, all sides at once: the values
    # near a peak sorted past the end, the median taken among those left.)
    away = (np.abs(np.arange(len(offsets))[None, :] - idx[:, None]) > 2).reshape(count * 4, -1)
    magnitude = np.where(away, np.abs(deriv).reshape(count * 4, -1), np.inf)
    magnitude.sort(axis=1)
    left = away.sum(axis=1)
    sides = np.arange(count * 4)
    middle = (magnitude[sides, np.maximum(left - 1, 0) // 2]
              + magnitude[sides, left // 2]) / magnitude.dtype.type(2)
    noise = np.where(left > 0, middle, 0.0).astype(np.float64).reshape(count, 4) + 1e-3
    peak = peak.reshape(count, 4, points_per_side)
    floor = np.maximum(np.maximum(1.0, 4 * noise), 0.35 * _median(peak, axis=2))
    strong = peak > floor[..., None]
    step = (offsets[0] + idx + np.clip(sub, -0.5, 0.5)).reshape(count, 4, points_per_side)
    points = base + step[..., None] * normal[:, :, None, :]
    return [_fit_sides(points[q], strong[q], band) for q in range(count)]


def _fit_sides(points: np.ndarray, strong: np.ndarray,
               band: float) -> tuple[np.ndarray, float] | None:
    lines, support = [], []
    for side in range(4):
        if np.count_nonzero(strong[side]) < 8:
            return None
        pts = points[side]
        line = _line(pts[strong[side]])
        # Second pass without points off the line (a hand's edge, a shadow border).
        dist = np.abs((pts[:, 0] - line[2]) * line[1] - (pts[:, 1] - line[3]) * line[0])
        keep = strong[side] & (dist < 1.5 + band * 0.1)
        kept = np.count_nonzero(keep)
        if kept < 8:
            return None
        lines.append(_line(pts[keep]))
        support.append(kept / len(keep))
    corners = [_intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    # The weakest side decides: three good sides and a shadow's border are not a page.
    return order_corners(np.array(corners)), float(np.min(support))


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
        FrameGlare (609): glare over the page's border, or glare in a frame where no page
            could be found (:func:`docscan.cover.check_border`).
        PageCovered (612): a hand, a pen or another thing over a corner or a side.
    """
    small, scale = _small(image)
    check_exposure(small)
    views = _views(small)
    # Most sheets are plain to see: a quick pass on two cues, kept only when it is sure. Any
    # doubt (a refusal, a lower confidence) and the full search decides from scratch.
    try:
        quick = _quick_candidates(views)
        found = _decide(image, scale, views, quick, snap=2, twins=False)
        # The twin test on the quad the quick pass judged (its paper and desk levels are
        # already measured there), not on the refined one a fraction of a pixel away.
        if (found.confidence >= QUICK_CONFIDENCE and not _rival(found.quad * scale, quick)
                and not _smooth_twin(views, views.cache["judged"])):
            return _one_sheet(image, views, found, scale)
    except (PageCovered, FrameGlare):
        # A sure sheet whose border a hand, a pen or glare hides: the full search found the
        # same sheet and refused it the same way on every frame of the checks (covers, the
        # hard and 13-MP sets, fresh seeds: 30 such frames of 590), 25 ms or more later.
        raise
    except TwoPagesFound as err:
        # The quick pass snaps only its two best candidates, and on a form those can be the
        # parts of one sheet above and below its table, twins in size.
        return _whole_sheet(err, image, scale, views)
    except CaptureError:
        pass
    try:
        return _full_search(image, scale, views)
    except (NoPageFound, PageOutOfFrame, LowConfidence) as err:
        # A reflection is a bright blob with sides of its own: it cuts a page's outline or
        # passes for paper. Then the glare, not the page, is what the citizen must fix.
        share = _glare_share(small)
        if share > GLARE_IN_FRAME:
            raise FrameGlare(reason="glare_in_frame", share=round(share, 4),
                             instead_of=err.key) from err
        raise


def _full_search(image: np.ndarray, scale: float, views: _Views) -> Detection:
    """Every cue; and when that finds no page clear enough, once more with the straight runs
    of edges as lines too (:func:`_straight_runs`), and when that misses too, with the
    texture's edges as well (:func:`_texture_pass`).

    The last pass is for a small or faint sheet on a grainy desk, whose sides lose every Hough
    slot to the grain: plain straight lines in the edges, yet no candidate had them (seed 1500
    of the hard set, and 4 of the 7 such misses of earlier bench runs' fresh seeds).
    It runs only after a miss, not after a finding: a piece of a sheet with paper past its
    side, two sheets, a cover are refused as they were. Run on every frame, it found faint
    single sheets just as well, but it also found one sheet of two faint ones whole where
    the second was then seen by no cue (two-page seed 7031; before, a piece of a sheet was
    found and refused as such); after a miss, the frame had no such piece."""
    try:
        return _one_sheet(image, views, _decide(image, scale, views, _candidates(views)), scale)
    except (NoPageFound, LowConfidence) as err:
        if err.details.get("reason"):
            raise  # a finding (paper past a side or past the border), not a page missed
        try:
            return _last_pass(image, scale, views)
        except (NoPageFound, LowConfidence) as again:
            if again.details.get("reason"):
                raise
            try:
                return _texture_pass(image, scale, views)
            except CaptureError:
                # It may find a page, never a reason to refuse one: its own findings (two
                # touching parts of one glared page "two sheets", a card's photo box "a
                # side with no step") are less sure than the miss before it.
                raise again from None


def _whole_sheet(err: TwoPagesFound, image: np.ndarray, scale: float, views: _Views) -> Detection:
    """After the quick pass found two sheets (``err``): the sheet the full search finds, if it
    holds both (they were parts of it); else the refusal stands. A second sheet found another
    way (outside the page, by its smooth inside) is not questioned."""
    pieces = views.cache.get("quick_pair")
    if pieces is None:
        raise err
    try:
        found = _full_search(image, scale, views)
    except CaptureError:
        raise err from None
    if all(_overlap(found.quad * scale, piece) >= 0.9 for piece in pieces):
        return found
    raise err


def _last_pass(image: np.ndarray, scale: float, views: _Views) -> Detection:
    return _one_sheet(image, views, _decide(image, scale, views, _candidates(views, straight=True)),
                      scale, straight=True)


def _texture_pass(image: np.ndarray, scale: float, views: _Views) -> Detection:
    """After the last pass missed too: its lines and those of the texture's edges, for a
    pale sheet on a plain desk whose side has no step in colour (in a shadow, say), only in
    smoothness. After the last pass, not in it: in it, it found such sheets, but lost a page
    the last pass had found (1 of 600 fresh frames). Those lines also find the boxes printed
    on a page (a card's photo box, a form's table): a quad is kept only with a step on every
    side (:func:`_steps_on_every_side`)."""
    found = _decide(image, scale, views, _candidates(views, straight=True, texture=True))
    if not _steps_on_every_side(views, found.quad * scale):
        raise LowConfidence(confidence=round(found.confidence, 3), reason="no_step_at_a_side")
    return _one_sheet(image, views, found, scale, straight=True)


def _outward_sides(quad: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each side of ``quad`` as (start, end, its unit normal pointing away from the centre)."""
    centre = quad.mean(axis=0)
    sides = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        along = (b - a) / (np.linalg.norm(b - a) + 1e-9)
        out = np.array([-along[1], along[0]])
        if np.dot((a + b) / 2 - centre, out) < 0:
            out = -out
        sides.append((a, b, out))
    return sides


def _steps_on_every_side(views: _Views, quad: np.ndarray) -> bool:
    """Does every side of ``quad`` (small-copy pixels) part paper from desk: a step in colour,
    or smooth inside against rougher outside? A line printed on paper has paper on both sides:
    the same colour, and as smooth (a photo box) or smoother (a table's cells) outside."""
    weighted, texture = views.cues
    h, w = texture.shape
    ts = np.linspace(0.1, 0.9, 30)[:, None]
    for a, b, out in _outward_sides(np.asarray(quad, np.float64)):
        points = a + (b - a) * ts
        sides = []
        for sign in (-1, 1):  # inside, then outside: 4–8 px off the side, clear of its blur
            p = np.concatenate([points + sign * out * d for d in (4, 6, 8)])
            xs = np.clip(np.round(p[:, 0]).astype(int), 0, w - 1)
            ys = np.clip(np.round(p[:, 1]).astype(int), 0, h - 1)
            sides.append((np.median(weighted[ys, xs], axis=0), float(np.median(texture[ys, xs]))))
        (colour_in, grain_in), (colour_out, grain_out) = sides
        if np.linalg.norm(colour_in - colour_out) >= SIDE_COLOUR_STEP:
            continue
        if grain_out >= 2 * grain_in and grain_out - grain_in >= 1:
            continue
        return False
    return True


def _glare_share(small: np.ndarray) -> float:
    """Share of the frame in patches of clipped white (every channel ≥ 250)."""
    clipped = np.uint8(small.min(axis=2) >= 250) * 255
    clipped = cv2.morphologyEx(clipped, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(np.count_nonzero(clipped)) / clipped.size


def _one_sheet(image: np.ndarray, views: _Views, found: Detection, scale: float,
               straight: bool = False) -> Detection:
    """``found``, unless a second sheet lies outside it (TwoPagesFound) or its border is
    hidden somewhere (PageCovered, FrameGlare: :func:`docscan.cover.check_border`, and at
    full resolution :func:`docscan.cover.check_border_closely`, which also refuses a side
    with no step at all)."""
    if _sheet_outside(views, found.quad * scale, straight):
        raise TwoPagesFound(reason="sheet_outside")
    crossed = check_border(views.small, found.quad * scale)
    check_border_closely(image, found.quad, crossed)
    return found


def _rival(quad: np.ndarray, ranked: list[tuple[float, np.ndarray]]) -> bool:
    """Is there another fair candidate apart from ``quad``? (Perhaps a second sheet, seen in
    part: the full search must judge it, the quick pass snaps too few candidates to.)"""
    return any(score > 0.3 and _overlap(quad, other) < 0.1 for score, other in ranked)


def _second_sheet(score: float, best_score: float, quad: np.ndarray, best: np.ndarray) -> bool:
    """Is a candidate lying apart from the best one a second sheet?

    Clearly outlined and at least half the best one's size; or, with fainter sides, about the
    same size as the best one (0.8–1.25×). A second sheet often has the same sides as the first
    (same paper, same lamp), so a twin in size is strong evidence even when its edges are
    weak; a desk region of chance size needs clear sides to count."""
    ratio = cv2.contourArea(quad) / max(cv2.contourArea(best), 1e-6)
    if score > max(0.6, 0.75 * best_score) and ratio > 0.5:
        return True
    return score > 0.5 and 0.8 <= ratio <= 1.25


def _sheet_outside(views: _Views, best: np.ndarray, straight: bool = False,
                   around: list[np.ndarray] | None = None) -> bool:
    """Is there a second sheet outside ``best``, outlined by lines of its own?

    The main search keeps a fixed number of Hough lines for the whole frame, and the first
    sheet's sides and text take most of them: a second sheet's side can miss the cut by a
    single vote, and then only pieces of it compete (docs/docscan.md, "OpenCV 5.0 and 5.1").
    Here the lines are voted by the edges outside ``best`` alone, so the second sheet does
    not compete with the first for them; its line quads are snapped and judged by the same
    rule as any candidate apart from the best (:func:`_second_sheet`). With ``straight``, the
    straight runs of those edges give lines too (:func:`_straight_runs`). Without, the
    search is made again with them, but only ``around`` the fair quads out there, when none
    of those proves a sheet: it may be a second sheet's part (its table line for a side)
    whose own side no Hough line found. (Over all the frame outside, the straight runs
    doubled the detection's time on every frame, and on a 13-MP frame with a busy desk they
    made 7,000 quads.)"""
    h, w = views.small.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.int32(np.round(best))], 255)
    mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    edges = cv2.bitwise_and(views.edges(), cv2.bitwise_not(mask))
    if around is not None:
        near = np.zeros((h, w), np.uint8)
        cv2.fillPoly(near, [np.int32(np.round(quad)) for quad in around], 255)
        edges = cv2.bitwise_and(edges, cv2.dilate(near, np.ones((9, 9), np.uint8)))
    lines = _hough_lines(edges)
    if straight:
        lines = _add_lines(lines, _straight_runs(edges))
    quads = _line_quads(lines, views.small.shape)
    if not len(quads):
        return False
    x, y = quads[..., 0], quads[..., 1]
    area = np.abs((x * y[:, _NEXT] - x[:, _NEXT] * y).sum(axis=1)) / 2
    best_area = cv2.contourArea(np.float32(best))
    # Neither rule of _second_sheet holds below half the best sheet's size.
    quads = quads[area >= 0.5 * best_area]
    if not len(quads):
        return False
    samples = 8 if len(quads) > MAX_LINE_QUADS else 24  # from all of them, as it always was
    # Most of these quads overlap the page (lines of the desk around it crossed with lines
    # through it): hundreds on some frames. Their overlaps, all at once, rule out those
    # plainly on the page before they are judged (judging them cost ~3 ms on such a frame)
    # and before the exact test; the estimate agrees with :func:`_overlap` to ~1e-5 on convex
    # quads, and the margin (0.11 against 0.1) is a thousand times that.
    if cv2.isContourConvex(np.float32(best)):
        quads = quads[_overlaps(best, quads) <= 0.11]
        if not len(quads):
            return False
    scores = _side_supports(views.cues, quads, samples=samples)
    apart: list[tuple[float, np.ndarray]] = []
    for k in np.argsort(-scores):
        if scores[k] < 0.3 or len(apart) == 3:
            break
        quad = order_corners(quads[k])
        if _overlap(best, quad) < 0.1 and all(_iou(quad, q) < 0.8 for _, q in apart):
            apart.append((float(scores[k]), quad))
    if not apart:
        return False
    best_score = _side_support(views.cues, best)
    if any(_overlap(best, quad) < 0.1 and _second_sheet(score, best_score, quad, best)
           for score, quad in _snapped(views.small, views.cues, apart, len(apart))):
        return True
    return not straight and _sheet_outside(views, best, True, [quad for _, quad in apart])


def _paper_and_desk(views: _Views,
                    best: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    key = ("levels", np.float32(best).tobytes())
    if key not in views.cache:
        views.cache[key] = _measure_paper_and_desk(views.texture, best)
    return views.cache[key]


def _measure_paper_and_desk(texture: np.ndarray,
                            best: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    """Texture levels of paper (lower quartile inside ``best``) and of the desk (median of a
    ring around it), the mask of ``best`` widened by 5 px and the ring; None if this cue
    cannot tell paper from desk in this frame (the desk is as smooth as the sheet)."""
    h, w = texture.shape
    sheet = np.zeros((h, w), np.uint8)
    cv2.fillPoly(sheet, [np.int32(np.round(best))], 255)
    inside = cv2.erode(sheet, np.ones((7, 7), np.uint8)) > 0
    near = cv2.dilate(sheet, np.ones((11, 11), np.uint8)) > 0
    around = (cv2.dilate(sheet, np.ones((41, 41), np.uint8)) > 0) & ~near
    if not inside.any() or not around.any():
        return None
    # Every other pixel each way: the levels are quartiles of thousands of pixels, and the
    # full count made this a tenth of the detection.
    paper = float(np.percentile(texture[::2, ::2][inside[::2, ::2]], 25))
    desk = float(np.median(texture[::2, ::2][around[::2, ::2]]))
    return (paper, desk, near, around) if desk >= 2 * paper else None


def _paper_past_a_side(views: _Views, best: np.ndarray) -> bool:
    """Does smooth paper go on past one of the sides of ``best``? Then ``best`` is a piece of
    a sheet (a text block, the part above a shadow), not the sheet: a crop would cut the page."""
    levels = _paper_and_desk(views, best)
    texture = views.texture
    if levels is None:
        return False
    paper, desk, near, around = levels
    h, w = texture.shape
    colours: list[np.ndarray] = []  # the sheet's and the desk's, measured when first needed
    for a, b, out in _outward_sides(best):
        # A band 6–16 px outside the side's middle 80 %: clear of the side's own blur.
        a, b = a + (b - a) * 0.1, b - (b - a) * 0.1
        corners = np.int32(np.round([a + out * 6, b + out * 6, b + out * 16, a + out * 16]))
        # Drawn in the band's own box, not in a frame-sized mask: the same pixels (integer
        # corners, moved by whole pixels), a fraction of the memory to clear and to search.
        (x0, y0), (x1, y1) = (np.clip(corners.min(axis=0), 0, (w, h)),
                              np.clip(corners.max(axis=0) + 1, 0, (w, h)))
        if x1 <= x0 or y1 <= y0:
            continue  # wholly off the frame
        band = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(band, [corners - (x0, y0)], 255)
        band = band > 0
        values = texture[y0:y1, x0:x1][band]
        # A hand or a shadowed desk beside a sheet is smooth on part of a side (≤ 0.63 of it
        # in the hard sets); the rest of a page, all along it.
        if len(values) > 20 and (values < (paper + desk) / 2).mean() > 0.75:
            # Smooth is not enough: a dark desk in a shadow is smooth too. Past the side lies
            # paper only if its colour is nearer the sheet's than the desk's around it. (Medians
            # of thousands of pixels: taken only here, for the rare side that gets this far.)
            if not colours:
                colours += [np.median(views.weighted[near], axis=0),
                            np.median(views.weighted[around], axis=0)]
            colour = np.median(views.weighted[y0:y1, x0:x1][band], axis=0)
            if np.linalg.norm(colour - colours[0]) < np.linalg.norm(colour - colours[1]):
                return True
    return False


def _smooth_pieces(smooth: np.ndarray, allowed: np.ndarray, gap: int,
                   min_area: float = 0.0) -> list[np.ndarray]:
    """Hulls of the smooth pixels within ``allowed``, pieces closer than ``gap`` taken
    together: ink cuts a sheet's smooth inside into pieces (margins, the space below a table).
    Groups whose bounding box is under ``min_area`` are skipped."""
    groups = cv2.dilate(smooth, np.ones((gap, gap), np.uint8))
    groups[~allowed] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(groups)
    pieces = (smooth > 0) & allowed
    hulls = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_WIDTH] * stats[label, cv2.CC_STAT_HEIGHT] < min_area:
            continue  # its hull cannot be larger than its box
        contours, _ = cv2.findContours(np.uint8((labels == label) & pieces),
                                       cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if contours:
            # The outlines hold every hull vertex, at a fraction of the pixels' cost.
            hulls.append(cv2.convexHull(np.concatenate(contours)))
    return hulls


def _smooth_twin(views: _Views, best: np.ndarray) -> bool:
    """Is there, apart from ``best``, a second sheet seen by its inside alone?

    A low-contrast sheet on a plain desk may have no side clear enough to score, yet its inside
    is still paper: smooth between its lines of ink, where the desk has blotches or grain. The
    level that tells them apart is taken from this frame: half way between the inside of the
    best sheet and the desk around it. A smooth region apart from ``best`` is a second sheet if
    it is the size of the largest smooth piece inside ``best`` (a page of text is smooth only in
    its margins and below its table, so the pieces, not the outline, are compared), mostly
    smooth, and at its lower quartile as smooth as paper; the scattered smooth spots of a
    checked mat or a shadowed desk fail the last two."""
    levels = _paper_and_desk(views, best)
    texture = views.texture
    if levels is None:
        return False
    paper, desk, near, around = levels
    h, w = texture.shape
    smooth = np.uint8(texture < (paper + desk) / 2) * 255
    smooth = cv2.morphologyEx(smooth, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    smooth = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    smooth = cv2.morphologyEx(smooth, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    if (smooth[around] > 0).mean() > 0.25:
        # The desk itself passes for smooth here (the flat squares of a checked mat, with
        # only their borders rough): the cue cannot tell. In the hard sets the ring is ≤ 6 %
        # smooth around a sheet on any other desk, 83 % on such a mat.
        return False
    area = cv2.contourArea(np.float32(best))
    if np.count_nonzero(smooth[~near]) < 0.5 * 0.25 * area:
        return False  # too little smooth desk for any region to pass (the usual frame)
    gap = max(3, int(0.25 * np.sqrt(area)))
    sheet = np.zeros((h, w), np.uint8)
    cv2.fillPoly(sheet, [np.int32(np.round(best))], 255)
    own = max((cv2.contourArea(hull) for hull in _smooth_pieces(smooth, sheet > 0, gap)),
              default=0.0)
    # Never less than a quarter of the sheet: a desk spot beside a card is not a sheet.
    needed = max(0.7 * own, 0.25 * area)
    for hull in _smooth_pieces(smooth, ~near, gap, needed):
        if cv2.contourArea(hull) < needed:
            continue
        (_, _), (rw, rh), _ = cv2.minAreaRect(hull)
        if max(rw, rh) > MAX_ELONGATION * max(min(rw, rh), 1.0):
            continue
        region = np.zeros((h, w), np.uint8)
        cv2.fillPoly(region, [hull], 255)
        if (region[near] > 0).sum() > 0.1 * (region > 0).sum():
            continue  # spots on both sides of the best sheet, joined across it: not apart
        share = float((smooth[region > 0] > 0).mean())
        if share >= 0.6 and np.percentile(texture[region > 0], 25) <= (
                paper + 0.15 * (desk - paper)):
            return True
    return False


def _decide(image: np.ndarray, scale: float, views: _Views,
            ranked: list[tuple[float, np.ndarray]], snap: int = 4,
            twins: bool = True) -> Detection:
    # ``twins=False`` (the quick pass) leaves the smooth-twin test to the caller: with only two
    # candidates snapped, the best may be a piece of the sheet and the rest of it its "twin".
    small = views.small

    def snapped(ranked: list[tuple[float, np.ndarray]],
                count: int) -> list[tuple[float, np.ndarray]]:
        # A weak region cut by the frame is desk, not a page: drop it before counting pages.
        return [c for c in _snapped(small, views.cues, ranked, count, views.cache)
                if c[0] >= 0.5 or not any(_on_border(p, small.shape).any() for p in c[1])]

    candidates = snapped(ranked, snap)
    if not candidates or candidates[0][0] < 0.25:
        raise NoPageFound(candidates=len(ranked))
    best_score, best = candidates[0]
    # Pieces of the best sheet crowd the first places of the ranking, so a second sheet may
    # not be among those snapped: the best few lying apart from the best sheet are snapped too.
    # (Not in the quick pass: any fair candidate apart from its best sends the frame to the
    # full search, :func:`_rival`.)
    if twins:
        apart = [c for c in ranked[snap:] if _overlap(best, c[1]) < 0.1]
        candidates = sorted(candidates + snapped(apart, 2), key=lambda c: -c[0])
        # One of those can outscore the best of the first four (a sheet ranked low before
        # snapping, beside a desk region the frame cuts): the best is then that one.
        best_score, best = candidates[0]
    for score, quad in candidates[1:]:
        if _overlap(best, quad) < 0.1 and _second_sheet(score, best_score, quad, best):
            if not twins:
                views.cache["quick_pair"] = (best, quad)  # for :func:`_whole_sheet`
            raise TwoPagesFound()
    if twins and _smooth_twin(views, best):
        raise TwoPagesFound()
    views.cache["judged"] = best
    if _paper_past_a_side(views, best):
        raise LowConfidence(reason="paper_past_a_side")  # a piece of a sheet, not the sheet
    if any(_on_border(corner, small.shape).any() for corner in best):
        raise PageOutOfFrame()
    quad = best / scale
    band = 2.0 / scale + 4
    support = 0.0
    result = refine(image, quad, band)
    if result is not None:
        quad, support = result
    confidence = float(min(1.0, best_score) ** 0.5 * support)
    # A refined corner far from the coarse one means the sides locked onto something else.
    if confidence < MIN_CONFIDENCE or np.abs(quad - best / scale).max() > 3 / scale + 8:
        raise LowConfidence(confidence=round(confidence, 3))
    full_h, full_w = image.shape[:2]
    if (quad < -1).any() or (quad[:, 0] > full_w).any() or (quad[:, 1] > full_h).any():
        raise PageOutOfFrame()
    return Detection(quad.astype(np.float32), confidence)

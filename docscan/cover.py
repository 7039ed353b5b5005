"""Is the page's border seen all round? A hand, a pen or a lamp's glare over a corner or a side
hides where the page ends and what lies there: the crop would be a guess, so it is refused.

Just inside the found quad lies paper, just outside it the desk, and between them a step that
is the same all along a side. Where something lies across the border, the step changes, inside
is not the paper and outside is not the desk. All three must hold, because each alone is common
on a good frame: a desk square as bright as the paper changes the step but leaves paper inside,
a shadow darkens the paper but only scales the step, and print near the edge is not paper
inside but leaves the desk outside. A fingertip across the margin, with the border plain on
both sides of it, is tolerated (a run shorter than :data:`MAX_RUN` of a side); a corner is not:
a covered corner is inferred from two lines, and a folded or torn corner would be cut.

The same rings tell more things the detector can get wrong: paper going on past a stretch of
the border with no step (the quad is a piece of a sheet, cut at a printed line), a stretch of
another paper outside (a sheet with its corner tucked under this one), another paper outside
a whole side (a sheet lying across this one: the quad is the part of this one left uncovered),
and a side going on past its corner (a piece again).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.errors import FrameGlare, LowConfidence, PageCovered, TwoPagesFound

#: Samples along each side, corner to corner.
SAMPLES = 64
#: Distances (pixels of the detection copy) of the rings inside and outside the border.
RINGS = (3.0, 5.0)
#: Longest covered run on a side, as a share of the side, that is still accepted.
MAX_RUN = 0.08
#: Samples at each end of a side that make up its corner (two covered there cover it).
CORNER = 3
#: A covered point's step (inside minus outside) differs from its side's usual step by more
#: than this share of it...
CHANGED_STEP = 0.5
#: ...and inside and outside differ from the side's usual paper and desk by more than this
#: (:func:`_distance`).
NOT_USUAL = 10.0
#: Samples either way along a side within which a cover met inside the border also counts
#: as met outside it (it crosses at a slant).
SLANT = 4
#: A foreign run inside the border this long (share of a side) is print, not a cover.
PRINT_RUN = 0.5
#: Below this share of the page's median step, inside and outside do not differ...
FLAT_STEP = 0.35
#: ...and if the outside is the paper's colour along this share of a side in one run (or this
#: share of it in all), the sheet (or another one) goes on past the border.
PAPER_RUN = 0.2
PAPER_SHARE = 0.4
#: Beside paper, a paper-coloured outside that changes the step by this much (Lab) along this
#: share of a side is another sheet (a desk's blotches are fainter, a mat's squares shorter).
OTHER_STEP = 12.0
OTHER_RUN = 0.25
#: Two sheets of paper differ in hue by less than this (Lab a, b); a desk mostly by more.
PAPER_HUE = 16.0
#: A side with another paper outside along this share of it, where no other side has it
#: along more than :data:`DESK_PAPER` of its own (the desk is seen there), and a step under
#: :data:`ACROSS_STEP` of the other sides' (paper against paper, not paper against desk): a
#: sheet lying across this one, its edge taken for a side. On the single-page sets the
#: closest sides (paper outside ≥ 0.8) had 0.67 / 0.95 and 0.69 / 0.77 (the most paper outside
#: another side / the step ratio), the wrong stack crops 0.53 / 0.56 at most
#: (docs/docscan.md, "Covered borders").
ACROSS_PAPER = 0.8
DESK_PAPER = 0.6
ACROSS_STEP = 0.7
#: Past each corner, along its side's line, a strip this long (share of the side) starting
#: this far (pixels) from the corner, at :data:`STRIP_OFFSET` either side of the line...
PAST_LENGTH = 0.25
PAST_START = 6.0
STRIP_OFFSET = 4.0
#: ...that matches the side's own inside and outside to within this share of the side's
#: step: the sheet goes on past the corner. Judged only where the step is at least
#: :data:`PAST_MIN_STEP` (Lab, lightness halved), since a fainter one is within the noise. On the single-page
#: sets the closest corner scored 0.46, the two wrong stack crops 0.10 and 0.17.
PAST_MATCH = 0.3
PAST_MIN_STEP = 12.0
#: Points of each strip along the side itself and past a corner.
_ALONG, _PAST = 32, 12
#: A side where something crosses the border and more of it lies outside beside the crossing
#: (outside not the desk, the step changed) over at least this many samples of the detection
#: copy's rings (6 % of the side) is looked at closely (:func:`check_border_closely`): perhaps
#: a palm lying just over the edge beside the finger. On the checked sets 28 of 569 crops
#: pass (29 of 571 on OpenCV 5.0); the palms of 3503 and 13-MP 900 have 9.
BESIDE = 4
#: Covered samples on both sides of a corner within this share of them: the corner is covered.
CORNER_REACH = 0.25
#: Clipped: the darkest channel at least this bright.
CLIPPED = 245
#: :func:`check_border_closely`, at full resolution: samples along each side, corner to
#: corner, each the mean of 3 pixels along it, for a cover (its share of a side counts) and
#: for the step across each side (only its median counts)...
CLOSE_SAMPLES = 128
STEP_SAMPLES = 32
#: ...for a cover, on rings this many frame pixels inside and outside the border: close
#: enough that a palm lying just over the edge (it reaches 2–4 px into a 1440×1080 frame's
#: page) is inside, and clear of the edge's own blur (±1–2 px).
CLOSE_INSIDE = (3.0, 4.0)
CLOSE_OUTSIDE = (5.0, 6.0)
#: Samples either way along a side within which "not the desk" outside also counts (a cover
#: crossing at a slant; :data:`SLANT` on the coarser rings of the detection copy).
CLOSE_SLANT = 2
#: Covered runs shorter than this many samples are the desk's pattern or noise, not a cover.
CLOSE_PIECE = 4
#: Covered pieces within this share of a side of each other are one thing over the border (a
#: finger and the palm beside it): their sum, not the longest, is held against MAX_RUN.
CLOSE_REACH = 0.25
#: Rings for the step across each side at full resolution (frame pixels either way).
STEP_RINGS = (4.0, 5.0, 6.0)
#: A side whose step is under this share of the other sides' median and under
#: :data:`NO_STEP` (Lab, lightness a fifth: :data:`NO_STEP_LIGHT`) has no edge at all: the side
#: was fitted to a printed line in a shadow's soft border across the sheet, the same paper on
#: both sides of it. On the checked sets (docs/docscan.md, "Covered borders") the wrong crop of
#: seed 30024 has a step of 1.57 at 0.32 of the others; the faintest side of any single-page
#: crop 2.95 (at 0.74), and no side under 4 has less than 0.63 of the others; sides of stacks
#: (paper against paper) have shares down to 0.24, but steps over 11.
NO_STEP_SHARE = 0.5
NO_STEP = 2.2
#: Lightness counts this much in that step: across a few pixels a shadow's gradient moves the
#: lightness a little and the hue not at all, while a faint sheet differs from the desk in hue.
NO_STEP_LIGHT = 0.2
#: Each corner's successor and predecessor (``np.roll`` by -1 and 1, cheaper).
_NEXT = [1, 2, 3, 0]
_PREVIOUS = [3, 0, 1, 2]


def _offset_quad(quad: np.ndarray, distance: float) -> np.ndarray:
    """``quad`` with every side moved ``distance`` outward (negative: inward)."""
    nxt = quad[_NEXT]
    direction = (nxt - quad) / (np.linalg.norm(nxt - quad, axis=1, keepdims=True) + 1e-9)
    normal = np.stack([direction[:, 1], -direction[:, 0]], axis=1)
    if np.einsum("ij,ij->", (quad + nxt) / 2 - quad.mean(axis=0), normal) < 0:
        normal = -normal
    points = quad + normal * distance  # each side's start, moved
    # Corner i joins side i-1 (through points[i-1]) and side i (through points[i]); all four
    # at once, each by the same arithmetic as one at a time.
    a, da = points[_PREVIOUS], direction[_PREVIOUS]
    b, db = points, direction
    det = da[:, 0] * -db[:, 1] + db[:, 0] * da[:, 1]
    crossing = np.abs(det) > 1e-9
    t = np.divide((b[:, 0] - a[:, 0]) * -db[:, 1] + db[:, 0] * (b[:, 1] - a[:, 1]), det,
                  out=np.zeros(4), where=crossing)
    return a + da * t[:, None]


def _ring(small: np.ndarray, quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab (float) and BGR colours at SAMPLES points per side along quads (N·4 corners, four
    by four), corner to corner: arrays of N·4 sides × SAMPLES × 3, in one ``remap``."""
    quads = quads.reshape(-1, 4, 2)
    nxt = quads[:, _NEXT].reshape(-1, 2)
    quad = quads.reshape(-1, 2)
    ts = np.linspace(0.0, 1.0, SAMPLES)[None, :, None]
    points = (quad[:, None, :] + (nxt - quad)[:, None, :] * ts).astype(np.float32)
    bgr = cv2.remap(small, points[..., 0], points[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    return lab, bgr


def _levels(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per side (``ring``: sides × samples × Lab), the usual colour of a ring: lightness on a
    parabola along the side (a lamp gradient, a soft shadow), fitted without what lies far off
    it (the cover itself); hue, the side's median. Returns the lightness (sides × samples) and
    the hue (sides × 2)."""
    ts = np.linspace(0.0, 1.0, ring.shape[1])
    design = np.stack([np.ones_like(ts), ts, ts * ts], axis=1)  # samples × 3
    values = ring[..., 0].astype(np.float64)  # sides × samples
    keep = np.ones(values.shape, np.float64)
    for _ in range(2):
        # Least squares per side, the samples off the curve weighted out (all sides at once).
        lhs = np.einsum("sk,ki,kj->sij", keep, design, design) + np.eye(3) * 1e-9
        rhs = np.einsum("sk,ki,sk->si", keep, design, values)
        fit = np.linalg.solve(lhs, rhs[..., None])[..., 0] @ design.T
        residual = np.abs(values - fit)
        limit = np.maximum(4.0, np.median(residual, axis=1, keepdims=True) * 2.5)
        keep = (residual <= limit).astype(np.float64)
    return fit.astype(np.float32), np.median(ring[..., 1:], axis=1)


def _distance(ring: np.ndarray, levels: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """How far each sample of ``ring`` is from ``levels`` (Lab; lightness counts a quarter,
    as shadows move it and hardly the hue, while skin, ink and pens differ in hue or a lot)."""
    light, hue = levels
    return np.sqrt((0.25 * (ring[..., 0] - light)) ** 2
                   + ((ring[..., 1:] - hue[:, None, :]) ** 2).sum(axis=2))


def _widen(flags: np.ndarray, reach: int) -> np.ndarray:
    """``flags`` (sides × samples) set also ``reach`` samples either way along each side."""
    kernel = np.ones((1, 2 * reach + 1), np.uint8)
    return cv2.dilate(flags.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0


def _longest_runs(flags: np.ndarray) -> np.ndarray:
    """The longest run of set flags on each side (sides × samples → sides), all sides at once:
    at each sample, the count of set flags so far minus that count at the last unset one is
    the run ending there. (Called four times on every accepted frame.)"""
    flags = np.asarray(flags, bool)
    count = np.cumsum(flags, axis=1)
    since = np.maximum.accumulate(np.where(flags, 0, count), axis=1)
    return (count - since).max(axis=1)


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """The [start, end) of each run of True in ``flags``."""
    runs, start = [], None
    for k, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k))
            start = None
    return runs


def _beside(covered: np.ndarray, around: np.ndarray) -> int:
    """Along one side: the most samples of a run of ``around`` (outside not the desk, the
    step changed) that holds covered samples, beyond those covered ones: how far something
    crossing the border goes on outside it, along the side."""
    most = 0
    for start, end in _runs(around.tolist()):
        crossing = int(covered[start:end].sum())
        if crossing:
            most = max(most, end - start - crossing)
    return most


def _paper_past_corner(small: np.ndarray, quad: np.ndarray) -> bool:
    """Does a side go on past one of its corners: beyond the corner, along the side's line,
    this paper on the inside and the side's outside beyond, as along the side itself? At a
    true corner the desk lies on both sides of that line. (A quad cut out of a lower sheet
    at an upper sheet's edge: the lower sheet's own side goes on under that edge.)"""
    height, width = small.shape[:2]
    nxt = quad[_NEXT]
    length = np.linalg.norm(nxt - quad, axis=1)
    direction = (nxt - quad) / (length[:, None] + 1e-9)
    normal = np.stack([direction[:, 1], -direction[:, 0]], axis=1)
    if np.einsum("ij,ij->", (quad + nxt) / 2 - quad.mean(axis=0), normal) < 0:
        normal = -normal  # outward
    along = np.linspace(0.1, 0.9, _ALONG)[None, :, None] * length[:, None, None]
    past = (PAST_START + np.linspace(0.0, 1.0, _PAST)[None, :, None]
            * PAST_LENGTH * length[:, None, None])
    # Per side: the side itself, past its end corner, past its start corner (4 × 3 strips).
    centres = np.concatenate([quad[:, None] + direction[:, None] * along,
                              nxt[:, None] + direction[:, None] * past,
                              quad[:, None] - direction[:, None] * past], axis=1)
    points = np.concatenate([centres - normal[:, None] * STRIP_OFFSET,
                             centres + normal[:, None] * STRIP_OFFSET], axis=1)
    bgr = cv2.remap(small, points[..., 0].astype(np.float32), points[..., 1].astype(np.float32),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32) * np.float32([0.5, 1.0, 1.0])
    count = _ALONG + 2 * _PAST
    inside, outside = lab[:, :count], lab[:, count:]
    seen = ((points[..., 0] > 5) & (points[..., 0] < width - 5)
            & (points[..., 1] > 5) & (points[..., 1] < height - 5))
    seen = seen[:, :count] & seen[:, count:]
    side_in = np.median(inside[:, :_ALONG], axis=1)
    side_out = np.median(outside[:, :_ALONG], axis=1)
    side_step = np.linalg.norm(side_in - side_out, axis=1)
    for i in range(4):
        if side_step[i] < PAST_MIN_STEP:
            continue
        for part in (slice(_ALONG, _ALONG + _PAST), slice(_ALONG + _PAST, count)):
            if not seen[i, part].all():
                continue  # off the frame: nothing to judge
            gap_in = np.linalg.norm(np.median(inside[i, part], axis=0) - side_in[i])
            gap_out = np.linalg.norm(np.median(outside[i, part], axis=0) - side_out[i])
            if max(gap_in, gap_out) < PAST_MATCH * side_step[i]:
                return True
    return False


def check_border(small: np.ndarray, quad: np.ndarray) -> list[int]:
    """Refuse a page whose border is hidden at a corner or along a stretch of a side.

    Args:
        small: the detection copy (BGR).
        quad: the page's corners tl, tr, br, bl in ``small``'s pixels.

    Returns:
        The sides (0 = tl → tr, …) where something crosses the border all the same (a
        fingertip across the margin, tolerated here) with more of it lying outside beside
        it (:data:`BESIDE`): :func:`check_border_closely` looks at them closely.

    Raises:
        FrameGlare (609): glare (clipped white) lies across the border.
        PageCovered (612): something else (a hand, a pen, another sheet) does.
        LowConfidence (607): paper goes on past a stretch of the border, with no step, or a
            side goes on past a corner: the quad is a piece of a sheet.
        TwoPagesFound (602): another paper lies along a stretch of the border outside (a
            sheet with its corner under this one), or along a whole side where the rest of
            the border has the desk (a sheet lying across this one).
    """
    quad = np.asarray(quad, np.float64)
    lab, bgr = _ring(small, np.concatenate([_offset_quad(quad, d)
                                             for d in (*(-r for r in RINGS), *RINGS)]))
    rings = len(RINGS)
    inside, outside = lab[:4 * rings].reshape(rings, 4, SAMPLES, 3).mean(axis=0), lab[
        4 * rings:].reshape(rings, 4, SAMPLES, 3).mean(axis=0)
    inner_bgr = bgr[:4 * rings].reshape(rings, 4, SAMPLES, 3)
    weight = np.float32([0.5, 1.0, 1.0])
    step = (inside - outside) * weight
    usual = np.median(step, axis=1, keepdims=True)
    # The step differs from the side's usual one (paper against desk): a shadow only scales
    # it, by less than this much.
    changed = (np.linalg.norm(step - usual, axis=2)
               > CHANGED_STEP * np.linalg.norm(usual, axis=2))
    clipped = inner_bgr.min(axis=(0, 3)) >= CLIPPED
    # Not paper inside (clipped white counts, however bright the paper) and not desk outside:
    # the cover lies across the border. A cover crossing the border at a slant meets the two
    # rings at different points along the side: "not desk" counts a few samples either way.
    paper = _levels(inside)
    beyond = _widen(_distance(outside, _levels(outside)) > NOT_USUAL, SLANT)
    foreign = changed & ((_distance(inside, paper) > NOT_USUAL) | clipped)
    covered = foreign & beyond
    near = int(SAMPLES * CORNER_REACH)
    # Something foreign inside both sides near a corner cuts the corner off, even when it is
    # the desk's colour outside (a black pen on a dark desk): a notch the page does not have.
    # Print is foreign too, but a frame line or a bleed runs along most of a side.
    short = (_longest_runs(foreign) < SAMPLES * PRINT_RUN).tolist()
    corners = [bool(covered[i, :CORNER].sum() + covered[i - 1, -CORNER:].sum() >= 2
                    or (short[i] and short[i - 1] and foreign[i, :near].sum() >= 2
                        and foreign[i - 1, -near:].sum() >= 2))
               for i in range(4)]
    runs = (_longest_runs(covered) / SAMPLES).tolist()
    if any(corners) or max(runs) > MAX_RUN:
        where = {"corners": [i for i, c in enumerate(corners) if c],
                 "longest_run": round(max(runs), 3)}
        hidden = covered | foreign
        if (clipped & hidden).sum() >= max(1, 0.5 * hidden.sum()):
            raise FrameGlare(reason="glare_over_border", **where)
        raise PageCovered(**where)
    # Paper on both sides of a stretch of the border, with no step between: the sheet goes
    # on past it (the found quad is a piece of the sheet, cut at a printed line) or another
    # sheet lies under this one. Either way this is not the page's edge.
    flat = np.linalg.norm(step, axis=2) < FLAT_STEP * np.median(np.linalg.norm(step, axis=2))
    paper_beyond = flat & (_distance(outside, paper) <= NOT_USUAL)
    # In one run, or in pieces: lines of a table or of text that cross a side cut the run.
    beyond_runs = (_longest_runs(paper_beyond) / SAMPLES).tolist()
    beyond_share = paper_beyond.mean(axis=1)
    if max(beyond_runs) > PAPER_RUN or beyond_share.max() > PAPER_SHARE:
        raise LowConfidence(reason="paper_beyond_border", longest_run=round(max(beyond_runs), 3),
                            share=round(float(beyond_share.max()), 3))
    # Paper inside, and outside a long stretch of another paper (the hue of this one, about as
    # light) that is not the desk around the rest of the border: another sheet, its corner
    # tucked under this one. The crop would take one of two sheets on the platen.
    light, hue = paper
    paperlike = ((np.linalg.norm(outside[..., 1:] - hue[:, None, :], axis=2) < PAPER_HUE)
                 & (outside[..., 0] > 0.6 * light))
    other = (changed & ~foreign & paperlike
             & (np.linalg.norm(step - usual, axis=2) > OTHER_STEP))
    other_runs = (_longest_runs(other) / SAMPLES).tolist()
    if max(other_runs) > OTHER_RUN:
        raise TwoPagesFound(reason="sheet_at_border", longest_run=round(max(other_runs), 3))
    # The test above compares each sample with its own side's usual step, so it cannot see a
    # side that is another sheet's edge all along: a quad cut out of a lower sheet by the
    # sheet lying across it (stack seeds 314, 320) has the upper sheet outside one whole side,
    # and that step is the side's usual one. Compared with the other sides instead: paper
    # outside this side where the others have the desk, and a weaker step (paper against
    # paper). A page whose desk is paper-coloured all round is not judged (every side alike).
    paper_share = paperlike.mean(axis=1)
    side_step = np.median(np.linalg.norm(step, axis=2), axis=1)
    for i in range(4):
        rest = [j for j in range(4) if j != i]
        if (paper_share[i] >= ACROSS_PAPER and paper_share[rest].max() <= DESK_PAPER
                and side_step[i] < ACROSS_STEP * np.median(side_step[rest])):
            raise TwoPagesFound(reason="sheet_across_side", side=i,
                                paper_share=round(float(paper_share[i]), 3),
                                step_ratio=round(float(side_step[i] / np.median(side_step[rest])), 3))
    # A side that goes on past a corner: the quad is a piece of a sheet, cut where another
    # sheet's edge crosses it (stack seeds 336 and 386 on a desk as light as the paper, where
    # no side's outside differs from the rest) or at a printed line.
    if _paper_past_corner(small, quad):
        raise LowConfidence(reason="paper_past_corner")
    return [i for i in range(4) if _beside(covered[i], changed[i] & beyond[i]) >= BESIDE]


def _close_rings(image: np.ndarray, quad: np.ndarray, offsets: tuple[float, ...],
                 samples: int, sides: list[int] | None = None) -> np.ndarray:
    """Lab (uint8 scale, float) of ``image`` at ``samples`` points per side of ``quad``
    (frame pixels), corner to corner, on each ring ``offsets`` outward (negative: inward),
    each the mean of 3 pixels along the side: sides × samples × rings × 3, in one ``remap``.
    ``sides``: those of the quad's sides (all four if None)."""
    nxt = quad[_NEXT]
    direction = (nxt - quad) / (np.linalg.norm(nxt - quad, axis=1, keepdims=True) + 1e-9)
    normal = np.stack([direction[:, 1], -direction[:, 0]], axis=1)
    if np.einsum("ij,ij->", (quad + nxt) / 2 - quad.mean(axis=0), normal) < 0:
        normal = -normal  # outward
    if sides is not None:
        quad, nxt, direction, normal = quad[sides], nxt[sides], direction[sides], normal[sides]
    count = len(quad)
    ts = np.linspace(0.0, 1.0, samples)
    base = (quad[:, None] + (nxt - quad)[:, None] * ts[:, None]).astype(np.float32)
    # Per side, the same rings × 3-pixel pattern around every point: built once per side,
    # then one broadcast add per coordinate (a last axis of two broadcasts slowly).
    pattern = (normal[:, None, None] * np.float64(offsets)[None, :, None, None]
               + direction[:, None, None] * np.float64([-1.0, 0.0, 1.0])[None, None, :, None])
    pattern = pattern.reshape(count, 1, -1, 2).astype(np.float32)
    maps = [(base[:, :, None, axis] + pattern[..., axis]).reshape(count * samples, -1)
            for axis in (0, 1)]
    bgr = cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The mean of the 3 pixels along the side (sensor noise is per pixel at full resolution),
    # rounded to uint8: an area resize by 3 is exactly that, and the cheapest way to it.
    bgr = cv2.resize(bgr, (len(offsets), count * samples), interpolation=cv2.INTER_AREA)
    # One column: cvtColor is several times slower on the same pixels in many short rows.
    lab = cv2.cvtColor(bgr.reshape(-1, 1, 3), cv2.COLOR_BGR2Lab).astype(np.float32)
    return lab.reshape(count, samples, len(offsets), 3)


def _pieces_together(flags: np.ndarray) -> np.ndarray:
    """Per side (sides × samples), the most flagged samples in runs of at least
    :data:`CLOSE_PIECE` that lie within :data:`CLOSE_REACH` of a side of each other."""
    reach = int(CLOSE_REACH * flags.shape[1])
    most = np.zeros(flags.shape[0], np.int64)
    for i, row in enumerate(flags.tolist()):
        runs = [(a, b) for a, b in _runs(row) if b - a >= CLOSE_PIECE]
        for j, (first, _) in enumerate(runs):
            most[i] = max(most[i], sum(end - begin for begin, end in runs[j:]
                                       if end - first <= reach))
    return most


def check_border_closely(image: np.ndarray, quad: np.ndarray,
                         crossed: list[int] | None = None) -> None:
    """What :func:`check_border` cannot see on the detection copy, looked for at full
    resolution right at the border.

    - A palm lying just over the edge beside the finger that crosses it: 3–5 px of the copy
      inside the border (11–19 px of a 1440×1080 frame) the paper is still paper, so only the
      finger counts there; a few frame pixels inside, the palm is seen too. The pieces of one
      hand are summed, as the truth of the scenes sums the hidden stretches of a side. Looked
      for only on the sides where the copy saw something cross the border (a finger,
      tolerated there): a hand lying over an edge reaches into the page beside it.
    - A side with no step at all: the same paper on both sides of it, a printed line in a
      shadow's soft border taken for the edge (seed 30024: a faint card cut at its photo
      box's line), where the sheet's own faint step is no larger than the shadow's gradient.

    Args:
        image: the full-resolution frame (BGR).
        quad: the page's corners tl, tr, br, bl in ``image``'s pixels.
        crossed: the sides (0 = tl → tr, …) where :func:`check_border` saw something cross
            the border; all four if None.

    Raises:
        PageCovered (612): something lies over a stretch of the border.
        LowConfidence (607): a side shows no step (``reason="no_step_at_side"``).
    """
    quad = np.asarray(quad, np.float64)
    crossed = list(range(4)) if crossed is None else crossed
    if crossed:
        rings = (*(-r for r in CLOSE_INSIDE), *CLOSE_OUTSIDE)
        lab = _close_rings(image, quad, rings, CLOSE_SAMPLES, crossed)
        inside = lab[:, :, :len(CLOSE_INSIDE)].mean(axis=2)
        outside = lab[:, :, len(CLOSE_INSIDE):].mean(axis=2)
        # The covered test of check_border, on these rings.
        step = (inside - outside) * np.float32([0.5, 1.0, 1.0])
        usual = np.median(step, axis=1, keepdims=True)
        changed = (np.linalg.norm(step - usual, axis=2)
                   > CHANGED_STEP * np.linalg.norm(usual, axis=2))
        foreign = changed & (_distance(inside, _levels(inside)) > NOT_USUAL)
        covered = foreign & _widen(_distance(outside, _levels(outside)) > NOT_USUAL,
                                   CLOSE_SLANT)
        hidden = _pieces_together(covered) / CLOSE_SAMPLES
        if hidden.max() > MAX_RUN:
            raise PageCovered(reason="cover_at_border", side=crossed[int(hidden.argmax())],
                              hidden=round(float(hidden.max()), 3))
    lab = _close_rings(image, quad, (*(-r for r in STEP_RINGS), *STEP_RINGS), STEP_SAMPLES)
    count = len(STEP_RINGS)
    across = ((lab[:, :, :count].mean(axis=2) - lab[:, :, count:].mean(axis=2))
              * np.float32([NO_STEP_LIGHT, 1.0, 1.0]))
    side_step = np.median(np.linalg.norm(across, axis=2), axis=1).tolist()
    for i, own in enumerate(side_step):
        rest = sorted(side_step[:i] + side_step[i + 1:])[1]  # the other three's median
        if own < NO_STEP and own < NO_STEP_SHARE * rest:
            raise LowConfidence(reason="no_step_at_side", side=i, step=round(own, 2),
                                share=round(own / max(rest, 1e-9), 3))

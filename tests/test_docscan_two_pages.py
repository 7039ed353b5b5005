"""Two sheets on the platen are refused, never half-copied; one sheet is never taken for two.

Hard synthetic frames (shadows, low-contrast paper, noise, JPEG) at the benchmark's frame size.
A crop of one of two sheets gives the citizen a copy of half of what they put down, silently,
so every two-page frame must end in TwoPagesFound."""

from __future__ import annotations

import pytest

from core.errors import CaptureError, TwoPagesFound
from docscan.metric import jaccard
from docscan.pipeline import capture
from hardware_sim.document_scenes import make_scene

FRAME = (1080, 1440)
#: Two-page frames the detector still crops to one sheet: a low-contrast card on a plain light
#: desk under a shadow, whose sides are too faint to be found at all and whose inside is not
#: smooth enough under the shadow to be told from the desk (docs/docscan.md).
STILL_CROPPED = {7007: "second card's sides too faint to find (plain desk, shadow)"}
#: Low-contrast second sheets with no side clear enough to score, found by their smooth inside.
FAINT_SECOND_SHEET = [7030, 8003, 8005]
#: A faint second sheet whose lower part (its table line for a side) is the only fair quad
#: outside the first; its top side is found only among the straight runs of edges.
SECOND_SHEET_BY_STRAIGHT_RUNS = [8009]
# Seed 7014 is cropped to one sheet if the second sheet must win one of the frame's Hough line
# slots: on opencv-python-headless 5.1 it lost the 20th slot by a vote tie (docs/docscan.md,
# "OpenCV 5.0 and 5.1"). The search outside the best sheet finds it on 5.0 and 5.1 alike.


@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=STILL_CROPPED[seed]))
    if seed in STILL_CROPPED else seed
    for seed in [*range(7000, 7020), *FAINT_SECOND_SHEET, *SECOND_SHEET_BY_STRAIGHT_RUNS]
])
def test_two_sheets_side_by_side_are_refused(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True, layout="two")
    with pytest.raises(TwoPagesFound):
        capture(scene.jpeg, clean=False)


def test_a_piece_of_one_of_two_faint_sheets_is_not_cropped() -> None:
    # Seed 7031: the best candidate is the upper part of one sheet; the page goes on, smooth,
    # past its lower side. Refused either way, never delivered as that piece.
    scene = make_scene(7031, FRAME, hard=True, layout="two")
    with pytest.raises(CaptureError):
        capture(scene.jpeg, clean=False)


# Single sheets that a looser smooth-inside test took for two: 1000 (judged from a piece of the
# sheet, the rest of it became the "twin") and 3004 (a checked mat, flat squares as smooth as
# paper).
@pytest.mark.parametrize("seed", [*range(500, 510), 1000, 3004])
def test_one_sheet_with_hand_shadow_or_pattern_is_not_taken_for_two(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True)
    try:
        capture(scene.jpeg, clean=False)
    except TwoPagesFound:
        pytest.fail(f"one sheet refused as two ({', '.join(scene.tags)})")
    except CaptureError:
        pass  # other refusals of hard frames are the benchmark's business, not this test's


# One sheet that a pass took for two, its parts judged as sheets (fresh bench seeds):
# 600219, 700197, 700338, 700423, the parts of a form above and below its table, twins in size
# among the quick pass's two best candidates; 700570, a card ranked low beside a desk region
# the frame cuts, outscoring it once snapped. Each is cropped right; the full search may
# overturn the quick pass's "two sheets" only with one sheet holding both.
@pytest.mark.parametrize("seed", [600219, 700197, 700338, 700423, 700570])
def test_parts_of_one_sheet_taken_for_two_are_cropped_whole(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True)
    result = capture(scene.jpeg, clean=False)
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) >= 0.98

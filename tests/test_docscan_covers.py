"""A page whose corner or edge is hidden (a hand, a pen, glare, another sheet) is refused by
``capture`` itself, with a sentence that says why; a fingertip across the margin and a
speckled desk as bright as the paper still give the right crop.

Hard synthetic frames at the benchmark's size; the covers are drawn by
``hardware_sim.document_scenes`` (``cover=``, ``layout="stack"``, ``desk="granite"``)."""

from __future__ import annotations

import pytest

from core.errors import CaptureError, FrameGlare, PageCovered, TwoPagesFound
from core.strings_zh import error_text
from docscan.cover import MAX_RUN
from docscan.metric import jaccard
from docscan.pipeline import capture
from hardware_sim.document_scenes import make_scene

FRAME = (1080, 1440)
SEEDS = range(300, 306)
#: Frames of these kinds that are still cropped (docs/docscan.md, "Covered borders"): the
#: detector took the wrong shape for the page, so the border check looked in the wrong place.
STILL_CROPPED = {
    ("stack", 307): "the lower sheet, low-contrast on a checked mat, shows no step of its own "
                    "beside the upper one, and the mat's lines outvote its sides",
}


def _refusal(frame: bytes) -> CaptureError:
    with pytest.raises(CaptureError) as info:
        capture(frame, clean=False)
    return info.value


def _crop_quality(scene) -> float:
    result = capture(scene.jpeg, clean=False)
    return jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_hand_over_a_corner_is_refused_and_the_citizen_told_to_move_it(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True, cover="hand_corner")
    error = _refusal(scene.jpeg)
    assert isinstance(error, PageCovered), f"{type(error).__name__} ({', '.join(scene.tags)})"
    assert error_text(error) == "材料边角被遮挡，请移开手或物品后重新拍摄"


@pytest.mark.parametrize("seed", SEEDS)
def test_a_hand_lying_over_an_edge_is_never_cropped(seed: int) -> None:
    # Refused, for whatever reason the detector sees first (the hand cuts the page's outline,
    # so the page may not even be found): what matters is that no crop comes out.
    _refusal(make_scene(seed, FRAME, hard=True, cover="hand_edge").jpeg)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pen_across_a_corner_is_refused(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True, cover="pen_corner")
    assert isinstance(_refusal(scene.jpeg), PageCovered)


@pytest.mark.parametrize("seed", SEEDS)
def test_glare_over_a_corner_is_refused_as_glare(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True, cover="glare_corner")
    error = _refusal(scene.jpeg)
    assert isinstance(error, FrameGlare), f"{type(error).__name__} ({', '.join(scene.tags)})"
    assert error_text(error) == "材料反光严重，请调整材料角度后重新拍摄"


@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=STILL_CROPPED["stack", seed]))
    if ("stack", seed) in STILL_CROPPED else seed
    for seed in [*SEEDS, 307]
])
def test_a_page_lying_across_another_is_never_cropped(seed: int) -> None:
    _refusal(make_scene(seed, FRAME, hard=True, layout="stack").jpeg)


@pytest.mark.parametrize("seed", [314, 320])
def test_a_sheet_cut_by_the_edge_of_one_lying_across_it_is_refused_as_two_pages(seed: int) -> None:
    # These two were cropped to the part of the lower sheet left uncovered (JI 0.60 and
    # 0.59): one side of that crop is the upper sheet's edge, with the upper sheet outside it
    # all along, so the step there was that side's usual one and the stretch test of
    # "another sheet" saw nothing. The citizen must be told to lay one page at a time.
    scene = make_scene(seed, FRAME, hard=True, layout="stack")
    error = _refusal(scene.jpeg)
    assert isinstance(error, TwoPagesFound), f"{type(error).__name__} ({', '.join(scene.tags)})"
    assert error_text(error) == "检测到多份材料，请每次只放一页"


@pytest.mark.parametrize("seed", [336, 386])
def test_a_sheet_cut_by_another_on_a_desk_as_light_as_paper_is_never_cropped(seed: int) -> None:
    # The same wrong crop (JI 0.49 and 0.55), but every side has paper-coloured desk outside,
    # so nothing tells the upper sheet from the desk; the lower sheet's own side going on past
    # the false corner does. Refused (today as LowConfidence): no crop may come out.
    _refusal(make_scene(seed, FRAME, hard=True, layout="stack").jpeg)


def test_two_sheets_one_across_the_other_say_one_page_at_a_time() -> None:
    scene = make_scene(300, FRAME, hard=True, layout="stack")
    error = _refusal(scene.jpeg)
    assert isinstance(error, TwoPagesFound)
    assert error_text(error) == "检测到多份材料，请每次只放一页"


@pytest.mark.parametrize("seed", SEEDS)
def test_a_page_on_a_speckled_desk_as_bright_as_paper_is_cropped(seed: int) -> None:
    scene = make_scene(seed, FRAME, hard=True, desk="granite")
    assert _crop_quality(scene) >= 0.98


@pytest.mark.parametrize("seed", [500, 501, 502, 503, 504, 505, 508, 509])
def test_a_fingertip_across_the_margin_is_cropped_not_refused(seed: int) -> None:
    # The hard set's hand: a finger crosses one side, the side plain on both sides of it and
    # the page's text clear of it. That is a page to deliver, not a cover.
    scene = make_scene(seed, FRAME, hard=True)
    assert "hand" in scene.tags
    assert _crop_quality(scene) >= 0.98


def test_a_palm_resting_on_the_edge_beside_the_finger_is_refused() -> None:
    # Seed 83643 (drawn afresh in a bench run): the hand's palm lies over a card's edge beside
    # the finger crossing it, 14 % of that side hidden by the truth, not a fingertip in the
    # margin. The benchmark scores this refusal as the right answer (docscan.metric).
    scene = make_scene(83643, FRAME, hard=True)
    assert scene.border_hidden > MAX_RUN
    assert isinstance(_refusal(scene.jpeg), PageCovered)


@pytest.mark.parametrize("seed", [3503, 900])
def test_a_palm_lying_just_over_the_edge_beside_the_finger_is_refused(seed: int) -> None:
    # The hard set's 3503 (the bench's block 3500) and 13-MP 900: the palm lies over a card's
    # edge beside the finger crossing it, 15-16 % of that side hidden by the truth, but the
    # palm reaches only a few frame pixels into the card, so on the detection copy's rings
    # the paper is still paper and only the finger counted (under 8 %). Both were cropped.
    frame = (3120, 4160) if seed == 900 else FRAME
    scene = make_scene(seed, frame, hard=True)
    assert scene.border_hidden > MAX_RUN
    error = _refusal(scene.jpeg)
    assert isinstance(error, PageCovered), f"{type(error).__name__} ({', '.join(scene.tags)})"
    assert error_text(error) == "材料边角被遮挡，请移开手或物品后重新拍摄"

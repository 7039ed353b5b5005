"""Continuous capture shoots each placed page once and tells the citizen what to do meanwhile."""

from __future__ import annotations

import cv2
import pytest

from core.errors import FrameBlurry, HandInFrame
from core.strings_zh import error_text
from docscan.continuous import ContinuousCapture
from docscan.metric import jaccard
from docscan.quality import StillnessWatch
from hardware_sim.document_scenes import make_scene

FRAME = (480, 640)


def _feed(camera: ContinuousCapture, frame) -> object:
    """The shot, None, or "hand" while the citizen is told to move the hand away."""
    try:
        return camera.feed(frame)
    except HandInFrame as err:
        assert error_text(err) == "请将手移出拍摄区域"
        return "hand"


def test_each_page_is_shot_once_after_the_hand_has_left() -> None:
    camera = ContinuousCapture(watch=StillnessWatch(frames_needed=2))
    placing = [make_scene(seed, FRAME, card=False).image for seed in range(30, 33)]
    assert [_feed(camera, frame) for frame in placing] == ["hand"] * 3
    page = make_scene(33, FRAME, card=False)
    shots = [_feed(camera, page.image) for _ in range(6)]
    assert shots[:2] == ["hand", "hand"] and shots[3:] == [None] * 3  # shot once, at the third
    assert jaccard(shots[2].quad.tolist(), page.quads[0], page.size_mm) > 0.97
    second = make_scene(36, FRAME, card=False)
    again = [_feed(camera, second.image) for _ in range(4)]
    assert again[:2] == ["hand", "hand"] and again[3] is None
    assert jaccard(again[2].quad.tolist(), second.quads[0], second.size_mm) > 0.97


def test_a_blurred_page_is_refused_then_shot_when_sharp() -> None:
    # The blur is the end of the motion: the sharp frame after it is near enough to count as
    # the same still scene, and is shot because the blurred one was refused.
    camera = ContinuousCapture(watch=StillnessWatch(frames_needed=1, threshold=6.0))
    page = make_scene(37, FRAME, card=False)
    blurred = cv2.GaussianBlur(page.image, (0, 0), 2.5)
    assert _feed(camera, blurred) == "hand"
    with pytest.raises(FrameBlurry) as info:
        camera.feed(blurred)
    assert error_text(info.value) == "图像模糊，请保持材料静止后重新拍摄"
    shot = camera.feed(page.image)
    assert shot is not None
    assert jaccard(shot.quad.tolist(), page.quads[0], page.size_mm) > 0.97

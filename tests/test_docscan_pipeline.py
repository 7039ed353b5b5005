"""The capture pipeline finds the page from the frame and refuses bad frames in Chinese."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import (
    BlankFrame,
    CaptureError,
    CorruptImage,
    FrameGlare,
    ImageSizeInvalid,
    LowConfidence,
    NoPageFound,
    PageOutOfFrame,
    TwoPagesFound,
)
from core.strings_zh import error_text
from docscan.metric import jaccard
from docscan.pipeline import capture
from docscan.quality import StillnessWatch, check_page
from hardware_sim.document_scenes import make_scene

FRAME = (480, 640)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_crop_follows_the_page_wherever_it_lies(seed: int) -> None:
    scene = make_scene(seed, FRAME, jpeg_quality=90)
    result = capture(scene.jpeg)
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) > 0.97
    page = cv2.imdecode(np.frombuffer(result.data, np.uint8), cv2.IMREAD_COLOR)
    assert page is not None and page.shape[0] > 100


def test_a4_output_has_the_a4_shape() -> None:
    scene = make_scene(4, FRAME, card=False, jpeg_quality=90)
    page = cv2.imdecode(np.frombuffer(capture(scene.jpeg, aspect="a4").data, np.uint8), 1)
    long_, short = max(page.shape[:2]), min(page.shape[:2])
    assert long_ / short == pytest.approx(297 / 210, abs=0.01)


def _refused(frame, error: type) -> str:
    with pytest.raises(error) as info:
        capture(frame)
    return error_text(info.value)


def test_an_empty_desk_says_no_page() -> None:
    scene = make_scene(5, FRAME, layout="none", jpeg_quality=90)
    assert _refused(scene.jpeg, NoPageFound) == "未检测到材料，请将材料平放在拍摄区域内"


def test_two_pages_are_refused() -> None:
    scene = make_scene(6, FRAME, layout="two", card=False, jpeg_quality=90)
    assert _refused(scene.jpeg, TwoPagesFound) == "检测到多份材料，请每次只放一页"


def test_a_page_off_the_edge_is_refused() -> None:
    scene = make_scene(7, FRAME, layout="off_edge", card=False, jpeg_quality=90)
    assert _refused(scene.jpeg, PageOutOfFrame) == "材料超出拍摄区域，请将材料移到拍摄区域中央"


@pytest.mark.parametrize("level", [0, 255])
def test_an_all_black_or_all_white_frame_is_refused(level: int) -> None:
    frame = np.full((480, 640, 3), level, np.uint8)
    assert _refused(frame, BlankFrame) == "画面过暗或过亮，请联系工作人员检查高拍仪"


def test_a_truncated_jpeg_is_refused() -> None:
    data = make_scene(8, FRAME, jpeg_quality=90).jpeg
    assert _refused(data[: len(data) // 2], CorruptImage) == "图像数据损坏，请重新拍摄"
    assert _refused(b"not an image at all", CorruptImage)


@pytest.mark.parametrize("shape", [(100, 120), (8000, 7000)])
def test_tiny_and_huge_images_are_refused_before_decoding(shape: tuple[int, int]) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", shape[::-1]).save(buf, "PNG")
    assert _refused(buf.getvalue(), ImageSizeInvalid) == "图像尺寸异常，请联系工作人员检查高拍仪"


def test_a_page_without_clear_sides_is_refused_not_cropped() -> None:
    # A faint grey page whose edges fade into a grey desk: a shape, but no side to trust.
    frame = np.full((480, 640, 3), 128, np.uint8)
    mask = np.zeros((480, 640), np.uint8)
    cv2.rectangle(mask, (150, 80), (450, 400), 255, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 25)
    frame = (frame + mask[..., None] * 0.35).astype(np.uint8)
    with pytest.raises((LowConfidence, NoPageFound)) as info:
        capture(frame)
    assert "请" in error_text(info.value)


def test_a_blurred_page_is_refused_and_a_sharp_one_passes() -> None:
    from docscan.warp import warp

    scene = make_scene(9, FRAME, card=False)
    page = warp(scene.image, np.float32(scene.quads[0]))
    check_page(page)
    from core.errors import FrameBlurry

    with pytest.raises(FrameBlurry):
        check_page(cv2.GaussianBlur(page, (0, 0), 6))


def test_continuous_capture_waits_for_the_hand_to_leave() -> None:
    still = make_scene(10, FRAME).image
    moving = [make_scene(10 + i, FRAME).image for i in range(3)]
    watch = StillnessWatch(frames_needed=2)
    assert not any(watch.update(f) for f in moving)
    fired = [watch.update(still) for _ in range(5)]
    assert fired == [False, False, True, False, False]  # once, after settling


def test_pages_come_out_at_their_target_dpi_and_are_never_upscaled() -> None:
    from docscan.warp import output_size

    def box(width: float, height: float) -> np.ndarray:
        right, bottom = 10 + width, 10 + height
        return np.float32([[10, 10], [right, 10], [right, bottom], [10, bottom]])

    # An A4 page seen at ~290 dpi is delivered at 200 dpi (210 × 297 mm → 1654 × 2339 px).
    assert output_size(box(2400, 3394), "a4") == (1654, 2339)
    # An ID card at 300 dpi (85.6 × 54 mm → 1011 × 638 px), lying landscape as it was placed.
    assert output_size(box(1500, 946), "id_card") == (1011, 638)
    # A page seen below its target keeps the pixels it has; the baseline's full size on request.
    assert output_size(box(600, 848), "a4") == (600, 848)
    assert output_size(box(2400, 3394), "a4", limit=False) == (2400, 3394)


@pytest.mark.parametrize("seed", [1500, 58067, 141468])
def test_a_faint_sheet_on_a_grainy_desk_is_cropped_not_refused(seed: int) -> None:
    # Low-contrast cards and sheets under a shadow on a speckled desk: their sides are plain
    # straight runs in the edges, but the desk's grain outvotes them for every Hough slot of
    # the frame. They used to be refused (1500 is in the benchmark's hard set; the others were
    # drawn afresh in bench runs); the last pass of the full search finds them by those runs.
    scene = make_scene(seed, (1080, 1440), hard=True)
    result = capture(scene.jpeg, clean=False)
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) >= 0.98


def test_a_faint_card_cut_at_a_printed_line_in_a_shadow_is_not_cropped() -> None:
    # Seed 30024: a low-contrast card on a plain light desk, a shadow over its left third. The
    # quad found ran down the photo box's right-hand line, in the shadow's soft border, and
    # was cropped at JI 0.69: the card went on past that side, the same paper on both sides
    # of it, with no step. Refused (no side without a step), or cropped whole.
    scene = make_scene(30024, (1080, 1440), hard=True)
    try:
        result = capture(scene.jpeg, clean=False)
    except LowConfidence as error:
        assert error_text(error) == "无法准确识别材料边缘，请重新摆放材料"
        return
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) >= 0.98


# Pale sheets and cards on a plain light desk, most under a shadow (fresh bench draws and the
# single set): no colour step at one side, so neither Hough nor the straight runs of the colour
# edges had it; the texture's edges (smooth paper against the desk's blotches) give its line.
@pytest.mark.parametrize("seed", [337858, 20017, 800213, 800337, 800362, 800513, 800594])
def test_a_pale_sheet_on_a_plain_desk_is_found_by_its_smooth_inside(seed: int) -> None:
    scene = make_scene(seed, (1080, 1440), hard=True)
    result = capture(scene.jpeg, clean=False)
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) >= 0.98


# The texture's edges find the boxes printed on a page too: when their lines first joined the
# last pass, a card's photo box (337866) was cropped as the card and the table of a form running
# off the frame (9023, off the edge) as the page. A side with paper on both sides of it, the same colour and no rougher outside,
# parts no sheet from a desk: refused.
@pytest.mark.parametrize("seed, layout", [(337866, "single"), (9023, "off_edge")])
def test_a_box_printed_on_a_page_is_not_cropped_as_the_page(seed: int, layout: str) -> None:
    scene = make_scene(seed, (1080, 1440), hard=True, layout=layout)
    try:
        result = capture(scene.jpeg, clean=False)
    except CaptureError:
        return
    assert layout == "single"
    assert jaccard(result.quad.tolist(), scene.quads[0], scene.size_mm) >= 0.98


# Glare over a corner (covers 316, 319): the search on the texture's edges took the table and
# the part of the page below it for two sheets. That search may find a page, never a reason to
# refuse one: the miss before it stands, and the citizen is told about the glare, not about a
# second page.
@pytest.mark.parametrize("seed", [316, 319])
def test_parts_of_a_glared_page_are_not_reported_as_two_pages(seed: int) -> None:
    scene = make_scene(seed, (1080, 1440), hard=True, cover="glare_corner")
    with pytest.raises(FrameGlare):
        capture(scene.jpeg, clean=False)


"""The SmartDoc 2015 Jaccard index, checked against cases computed by hand."""

from __future__ import annotations

import math

import pytest

from docscan.metric import A4_MODEL, capture_score, jaccard, mean_jaccard

W, H = A4_MODEL
PAGE = [(0.0, 0.0), (W, 0.0), (W, H), (0.0, H)]


def _similarity(quad, angle, scale, dx, dy):
    c, s = math.cos(angle), math.sin(angle)
    return [(scale * (c * x - s * y) + dx, scale * (s * x + c * y) + dy) for x, y in quad]


def _shift(quad, dx):
    return [(x + dx, y) for x, y in quad]


def test_identical_quads_score_one() -> None:
    assert jaccard(PAGE, PAGE) == pytest.approx(1.0)


def test_a_tenth_of_the_width_shift_scores_nine_over_eleven() -> None:
    # Overlap 0.9 W × H, union 1.1 W × H.
    assert jaccard(_shift(PAGE, 0.1 * W), PAGE) == pytest.approx(0.9 / 1.1)


def test_disjoint_quads_score_zero() -> None:
    assert jaccard(_shift(PAGE, 2 * W), PAGE) == 0.0


def test_a_rejected_frame_scores_zero_and_counts_in_the_mean() -> None:
    assert jaccard(None, PAGE) == 0.0
    assert mean_jaccard([1.0, 0.0]) == pytest.approx(0.5)


def test_the_score_is_measured_in_the_documents_frame_not_the_images() -> None:
    # The same shift expressed in a frame rotated 30°, scaled ×0.4 and moved: same score.
    truth = _similarity(PAGE, math.radians(30), 0.4, 900, -200)
    found = _similarity(_shift(PAGE, 0.1 * W), math.radians(30), 0.4, 900, -200)
    assert jaccard(found, truth) == pytest.approx(0.9 / 1.1)


def test_perspective_does_not_weigh_the_near_end_more() -> None:
    # Ground truth is a trapezoid (the page's top is farther from the camera). A detection that
    # misses the top tenth of the paper scores 0.9 whatever the pixel areas are.
    truth = [(300.0, 100.0), (700.0, 100.0), (900.0, 900.0), (100.0, 900.0)]
    import cv2
    import numpy as np

    to_frame = cv2.getPerspectiveTransform(np.float32(PAGE), np.float32(truth))
    cut = np.float64([[0, 0.1 * H], [W, 0.1 * H], [W, H], [0, H]]).reshape(-1, 1, 2)
    found = [tuple(p) for p in cv2.perspectiveTransform(cut, to_frame).reshape(-1, 2)]
    assert jaccard(found, truth) == pytest.approx(0.9, abs=1e-6)


def test_corners_in_crossed_order_score_zero() -> None:
    crossed = [PAGE[0], PAGE[2], PAGE[1], PAGE[3]]
    assert jaccard(crossed, PAGE) == 0.0
    with pytest.raises(ValueError):
        jaccard(PAGE, crossed)


def test_a_refusal_scores_one_only_where_the_truth_says_the_border_is_covered() -> None:
    # Refusing a page whose border a hand hides is the required answer, not a miss; refusing
    # a page that is not covered, or refusing a covered one for another reason, still is.
    assert capture_score(None, PAGE, covered=True, refusal="page_covered") == 1.0
    assert capture_score(None, PAGE, covered=False, refusal="page_covered") == 0.0
    assert capture_score(None, PAGE, covered=True, refusal="no_page_found") == 0.0
    # A crop is scored by where it lies, covered or not.
    shifted = _shift(PAGE, 0.1 * W)
    assert capture_score(shifted, PAGE, covered=True) == pytest.approx(0.9 / 1.1)

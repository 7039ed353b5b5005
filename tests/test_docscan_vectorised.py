"""The detector's array shortcuts decide exactly as the one-at-a-time code they replaced.

`_overlaps` (all line quads against the page at once) only rules out quads before the exact
``cv2.intersectConvexConvex`` test, with a margin of 0.01; `_median` and `_longest_runs` stand
in for ``np.median`` and a per-side loop; `_vote` keeps the Hough lines that `_add_lines`
kept one at a time. If one of them drifts, detection outcomes change without any test of a
scene noticing at once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from docscan.cover import _longest_runs
from docscan.detect import _add_lines, _median, _overlap, _overlaps, _vote, order_corners


def _convex_quads(rng: np.random.Generator, count: int) -> np.ndarray:
    # Corners on an ellipse at increasing angles, at least ~17° apart: convex, either turn.
    centre = rng.uniform(50, 330, (count, 1, 2))
    radii = rng.uniform(20, 150, (count, 1, 2))
    angles = np.sort(rng.uniform(0, 2 * np.pi - 1.2, (count, 4)), axis=1)
    angles += np.arange(4) * 0.3
    quads = centre + radii * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    turned = rng.random(count) < 0.5
    quads[turned] = quads[turned, ::-1]
    return np.float32(quads).astype(np.float64)


def test_the_overlap_estimate_is_within_its_margin_of_the_exact_test() -> None:
    rng = np.random.default_rng(13)
    for _ in range(40):
        best = order_corners(_convex_quads(rng, 1)[0])
        quads = _convex_quads(rng, 50)
        estimate = _overlaps(best, quads)
        exact = np.array([_overlap(best, order_corners(q)) for q in quads])
        assert np.abs(estimate - exact).max() < 1e-3


@pytest.mark.parametrize("shape", [(7, 4, 24, 4), (5, 4, 8, 4), (3, 4, 48)])
def test_the_sorted_median_is_numpys(shape: tuple[int, ...]) -> None:
    values = np.random.default_rng(1).normal(size=shape)
    for dtype in (np.float64, np.float32):
        assert np.array_equal(_median(values.astype(dtype), axis=2),
                              np.median(values.astype(dtype), axis=2))


def test_the_longest_runs_of_all_sides_are_those_of_each() -> None:
    rng = np.random.default_rng(2)
    for share in (0.05, 0.3, 0.7, 0.95):
        flags = rng.random((4, 64)) < share
        expected = []
        for side in flags:
            best = run = 0
            for flag in side:
                run = run + 1 if flag else 0
                best = max(best, run)
            expected.append(best)
        assert _longest_runs(flags).tolist() == expected


def test_the_hough_lines_kept_are_those_kept_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        # Sides and near copies of them, and scattered grain, on a half-size edge map.
        half = np.zeros((144, 192), np.uint8)
        for _ in range(int(rng.integers(3, 9))):
            a, b = rng.integers(0, (192, 144), 2), rng.integers(0, (192, 144), 2)
            cv2.line(half, tuple(map(int, a)), tuple(map(int, b)), 255, 1)
        half[rng.random(half.shape) < 0.02] = 255
        found = cv2.HoughLines(half, 1, np.pi / 180, int(0.12 * 144))
        expected: list[tuple[float, float]] = []
        for rho, theta in ([] if found is None else found[:, 0]):
            expected = _add_lines(expected, [(float(rho) * 2, float(theta))])
            if len(expected) == 20:
                break
        assert _vote(half) == expected


"""The synthetic scene generator is deterministic and its ground truth is where the page is."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetInvalid
from docscan import dataset
from docscan.metric import jaccard
from hardware_sim.document_scenes import make_scene, write_set


def test_a_seed_gives_the_same_bytes() -> None:
    a = make_scene(3, (240, 320), hard=True)
    b = make_scene(3, (240, 320), hard=True)
    assert a.jpeg == b.jpeg and a.quads == b.quads
    assert make_scene(4, (240, 320), hard=True).jpeg != a.jpeg


def test_the_ground_truth_quad_encloses_the_paper() -> None:
    # On a dark desk the bright paper lies inside the true quad and the desk outside it.
    import cv2

    scenes = (make_scene(seed, (480, 640), card=False) for seed in range(11, 80))
    scene = next(s for s in scenes if "dark" in s.tags)
    inside = np.zeros(scene.image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.int32(np.round(scene.quads[0]))], 255)
    inner = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    outer = cv2.dilate(inside, np.ones((5, 5), np.uint8)) == 0
    gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)
    assert np.median(gray[inner]) > np.median(gray[outer]) + 60


def test_a_written_set_reads_back_with_its_ground_truth(tmp_path) -> None:
    write_set(tmp_path, 3, seed=20, frame=(240, 320))
    samples = dataset.load(tmp_path)
    assert len(samples) == 3
    again = make_scene(21, (240, 320), jpeg_quality=90)
    assert jaccard(samples[1].quad, again.quads[0], samples[1].size_mm) == pytest.approx(1, abs=1e-3)


def test_the_truth_says_how_much_of_the_border_a_hand_hides(tmp_path) -> None:
    # Scoring needs it: a refusal for a covered border is the right answer only where the
    # scene's border really is covered (docscan.metric.capture_score).
    plain = make_scene(3, (240, 320))
    assert plain.border_hidden == 0.0 and not plain.corner_hidden
    corner = make_scene(300, (1080, 1440), hard=True, cover="hand_corner")
    assert corner.corner_hidden
    edge = make_scene(300, (1080, 1440), hard=True, cover="hand_edge")
    assert edge.border_hidden > 0.2 and not edge.corner_hidden  # a palm along the side
    # The hard set's hand is a finger across one side, short of any corner.
    fingers = [make_scene(seed, (1080, 1440), hard=True) for seed in range(500, 510)]
    hands = [s for s in fingers if "hand" in s.tags]
    assert hands and all(0 < s.border_hidden < 0.2 and not s.corner_hidden for s in hands)
    assert all(s.border_hidden == 0 for s in fingers if "hand" not in s.tags)
    # The CSV carries it to the benchmark.
    write_set(tmp_path, 10, seed=500, frame=(1080, 1440), hard=True)
    loaded = dataset.load(tmp_path)
    assert [round(s.border_hidden, 4) for s in loaded] == [round(s.border_hidden, 4)
                                                           for s in fingers]


def test_a_broken_ground_truth_file_is_refused(tmp_path) -> None:
    with pytest.raises(DatasetInvalid):
        dataset.load(tmp_path)
    (tmp_path / "groundtruth.csv").write_text("image,tl_x\nx.jpg,1\n")
    with pytest.raises(DatasetInvalid):
        dataset.load(tmp_path)

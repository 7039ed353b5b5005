"""Document capture: the project pipeline against a naive full-resolution baseline.

Both run in the same process on the same frames, end to end (decode → detect → warp → encode):
the baseline is the textbook scanner, Canny on the full-resolution grey frame, the largest
contour, ``approxPolyDP`` to four corners, one warp. Reported per side: mean SmartDoc Jaccard
(a refused frame scores 0), the share of frames refused, p50/p95 milliseconds per frame; then
the speed ratio (baseline p50 / pipeline p50), the same ratio for the detection stage alone
(a refused frame's detection time is counted too) and the Jaccard ratio.

Without ``options["data"]`` a synthetic hard set is generated (quick: a handful of small frames;
full: 1440×1080 frames plus 13-MP frames, whose latency is reported on its own).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import CaptureError
from docscan import dataset
from docscan.detect import order_corners
from docscan.metric import jaccard
from docscan.pipeline import capture, decode, encode, single_core
from docscan.warp import warp
from hardware_sim.document_scenes import write_set


def _baseline(data: bytes) -> tuple[np.ndarray | None, float]:
    image = decode(data)
    start = time.perf_counter()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 50, 150)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quad = None
    if contours:
        largest = max(contours, key=cv2.contourArea)
        approx = cv2.approxPolyDP(largest, 0.02 * cv2.arcLength(largest, True), True)
        if len(approx) == 4:
            quad = order_corners(approx)
    detect_ms = (time.perf_counter() - start) * 1000
    if quad is not None:
        encode(warp(image, quad))
    return quad, detect_ms


def _pipeline(data: bytes) -> tuple[np.ndarray | None, float]:
    try:
        # No scan look: the baseline has none, and the stages timed are decode → encode.
        result = capture(data, clean=False)
    except CaptureError as err:
        return None, float(err.details.get("detect_ms", 0.0))
    return result.quad, result.timings_ms["detect"]


def _measure(method: Any, samples: list[dataset.Sample], blobs: list[bytes]) -> dict[str, Any]:
    scores, times, detect_times, refused = [], [], [], 0
    for sample, data in zip(samples, blobs):
        start = time.perf_counter()
        quad, detect_ms = method(data)
        times.append((time.perf_counter() - start) * 1000)
        detect_times.append(detect_ms)
        refused += quad is None
        found = None if quad is None else [tuple(map(float, p)) for p in quad]
        scores.append(jaccard(found, sample.quad, sample.size_mm))
    return {
        "mean_jaccard": round(float(np.mean(scores)), 4),
        "rejected_share": round(refused / len(samples), 3),
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
        "detect_p50_ms": round(float(np.percentile(detect_times, 50)), 1),
        "frames": len(samples),
    }


def _compare(samples: list[dataset.Sample]) -> dict[str, Any]:
    blobs = [s.path.read_bytes() for s in samples]
    for method in (_pipeline, _baseline):
        method(blobs[0])  # warm-up, untimed: OpenCV builds its colour tables on first use
    ours = _measure(_pipeline, samples, blobs)
    base = _measure(_baseline, samples, blobs)
    return {
        "pipeline": ours,
        "baseline": base,
        "speed_ratio": round(base["p50_ms"] / max(ours["p50_ms"], 1e-6), 2),
        "detect_speed_ratio": round(base["detect_p50_ms"] / max(ours["detect_p50_ms"], 1e-6), 2),
        "jaccard_ratio": round(ours["mean_jaccard"] / max(base["mean_jaccard"], 1e-6), 2),
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    single_core()
    if options.get("data"):
        return {"set": str(options["data"]), **_compare(dataset.load(Path(options["data"])))}
    quick = bool(options.get("quick"))
    with tempfile.TemporaryDirectory(prefix="halledge-docscan-") as tmp:
        if quick:
            write_set(Path(tmp, "hard"), 4, seed=500, frame=(480, 640), hard=True)
            return {"set": "synthetic hard, 4 × 640×480 (quick)",
                    **_compare(dataset.load(Path(tmp, "hard")))}
        write_set(Path(tmp, "hard"), 40, seed=500, frame=(1080, 1440), hard=True)
        write_set(Path(tmp, "13mp"), 6, seed=900, frame=(3120, 4160), hard=True)
        result = {"set": "synthetic hard, 40 × 1440×1080", **_compare(dataset.load(Path(tmp, "hard")))}
        result["13mp"] = _compare(dataset.load(Path(tmp, "13mp")))
        return result

"""Document capture: the project pipeline against a naive full-resolution baseline.

Both run in the same process on the same frames, end to end (decode → detect → warp → encode):
the baseline is the textbook scanner, Canny on the full-resolution grey frame, the largest
contour, ``approxPolyDP`` to four corners, one warp to the page's full pixel size. Reported per
side: mean SmartDoc Jaccard (a refused frame scores 0), the same per generator seed, the share
of frames refused, p50/p95 milliseconds per frame and the output page size; then the speed ratio
(baseline p50 / pipeline p50), the same ratio for the detection stage alone (a refused frame's
detection time is counted too) and the Jaccard ratio.

``floor`` is what no detector can beat: full decode + warp to the pipeline's output size +
encode, with the true corners handed over at zero cost, and the speed ratio that would allow.
``decode_p50_ms`` times the DCT-scaled decodes (½, ¼, ⅛) on the same frames: entropy decoding
is paid in full at every scale, which bounds what a smaller decode can save.

Without ``options["data"]`` a synthetic hard set is generated over several seeds, so one lucky
seed cannot carry the mean (quick: a few small frames; full: 1440×1080 frames plus 13-MP
frames, reported on their own under ``13mp``).
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

#: Generator seeds of the full hard set and frames per seed (seed, seed+1, … per block).
HARD_SEEDS = (500, 1500, 2500, 3500)
HARD_FRAMES = 20
#: The same for the 13-MP frames (4160×3120), slow to generate.
LARGE_SEEDS = (900, 1900)
LARGE_FRAMES = 5
REDUCED = {"1/2": cv2.IMREAD_REDUCED_COLOR_2, "1/4": cv2.IMREAD_REDUCED_COLOR_4,
           "1/8": cv2.IMREAD_REDUCED_COLOR_8}


def _baseline(data: bytes) -> tuple[np.ndarray | None, float, tuple[int, int] | None]:
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
    if quad is None:
        return None, detect_ms, None
    page = warp(image, quad, limit=False)  # the page's full pixel size, as the textbook does
    encode(page)
    return quad, detect_ms, (page.shape[1], page.shape[0])


def _pipeline(data: bytes) -> tuple[np.ndarray | None, float, tuple[int, int] | None]:
    try:
        # No scan look: the baseline has none, and the stages timed are decode → encode.
        result = capture(data, clean=False)
    except CaptureError as err:
        return None, float(err.details.get("detect_ms", 0.0)), None
    return result.quad, result.timings_ms["detect"], result.size


def _floor(sample: dataset.Sample, data: bytes) -> dict[str, float]:
    """Decode + warp + encode at the pipeline's output size, detection free (true corners)."""
    t0 = time.perf_counter()
    image = decode(data)
    t1 = time.perf_counter()
    page = warp(image, np.float32(sample.quad))
    t2 = time.perf_counter()
    encode(page)
    t3 = time.perf_counter()
    return {"decode": (t1 - t0) * 1000, "warp": (t2 - t1) * 1000, "encode": (t3 - t2) * 1000,
            "total": (t3 - t0) * 1000}


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def _measure(method: Any, samples: list[dataset.Sample], blobs: list[bytes]) -> dict[str, Any]:
    scores, times, detect_times, sizes, refused = [], [], [], [], 0
    by_seed: dict[str, list[float]] = {}
    for sample, data in zip(samples, blobs):
        start = time.perf_counter()
        quad, detect_ms, size = method(data)
        times.append((time.perf_counter() - start) * 1000)
        detect_times.append(detect_ms)
        refused += quad is None
        if size is not None:
            sizes.append(size)
        found = None if quad is None else [tuple(map(float, p)) for p in quad]
        scores.append(jaccard(found, sample.quad, sample.size_mm))
        by_seed.setdefault(sample.path.parent.name, []).append(scores[-1])
    megapixels = [w * h / 1e6 for w, h in sizes]
    return {
        "mean_jaccard": round(float(np.mean(scores)), 4),
        "jaccard_by_seed": {seed: round(float(np.mean(v)), 4) for seed, v in by_seed.items()},
        "rejected_share": round(refused / len(samples), 3),
        "p50_ms": _p(times, 50),
        "p95_ms": _p(times, 95),
        "detect_p50_ms": _p(detect_times, 50),
        "output_mp_mean": round(float(np.mean(megapixels)), 2) if sizes else 0.0,
        "output_long_side_p50": int(np.median([max(s) for s in sizes])) if sizes else 0,
        "frames": len(samples),
    }


def _decode_costs(blobs: list[bytes]) -> dict[str, float]:
    costs: dict[str, list[float]] = {"full": [], **{name: [] for name in REDUCED}}
    for data in blobs:
        buf = np.frombuffer(data, np.uint8)
        for name, flag in (("full", cv2.IMREAD_COLOR), *REDUCED.items()):
            start = time.perf_counter()
            cv2.imdecode(buf, flag)
            costs[name].append((time.perf_counter() - start) * 1000)
    return {name: _p(values, 50) for name, values in costs.items()}


def _compare(samples: list[dataset.Sample]) -> dict[str, Any]:
    blobs = [s.path.read_bytes() for s in samples]
    for method in (_pipeline, _baseline):
        method(blobs[0])  # warm-up, untimed: OpenCV builds its colour tables on first use
    ours = _measure(_pipeline, samples, blobs)
    base = _measure(_baseline, samples, blobs)
    floors = [_floor(s, b) for s, b in zip(samples, blobs)]
    floor = {f"{stage}_p50_ms": _p([f[stage] for f in floors], 50)
             for stage in ("decode", "warp", "encode")}
    floor["p50_ms"] = _p([f["total"] for f in floors], 50)
    floor["p95_ms"] = _p([f["total"] for f in floors], 95)
    floor["speed_ratio_at_most"] = round(base["p50_ms"] / max(floor["p50_ms"], 1e-6), 2)
    return {
        "pipeline": ours,
        "baseline": base,
        "floor": floor,
        "decode_p50_ms": _decode_costs(blobs),
        "speed_ratio": round(base["p50_ms"] / max(ours["p50_ms"], 1e-6), 2),
        "detect_speed_ratio": round(base["detect_p50_ms"] / max(ours["detect_p50_ms"], 1e-6), 2),
        "jaccard_ratio": round(ours["mean_jaccard"] / max(base["mean_jaccard"], 1e-6), 2),
    }


def _synthetic(root: Path, seeds: tuple[int, ...], frames: int,
               size: tuple[int, int]) -> list[dataset.Sample]:
    samples = []
    for seed in seeds:
        folder = root / f"seed{seed}"
        write_set(folder, frames, seed=seed, frame=size, hard=True)
        samples += dataset.load(folder)
    return samples


def run(options: dict[str, Any]) -> dict[str, Any]:
    single_core()
    if options.get("data"):
        return {"set": str(options["data"]), **_compare(dataset.load(Path(options["data"])))}
    quick = bool(options.get("quick"))
    with tempfile.TemporaryDirectory(prefix="halledge-docscan-") as tmp:
        if quick:
            samples = _synthetic(Path(tmp, "hard"), HARD_SEEDS[:2], 2, (480, 640))
            return {"set": "synthetic hard, 2 seeds × 2 × 640×480 (quick)", **_compare(samples)}
        hard = _synthetic(Path(tmp, "hard"), HARD_SEEDS, HARD_FRAMES, (1080, 1440))
        result = {"set": f"synthetic hard, {len(HARD_SEEDS)} seeds × {HARD_FRAMES} × 1440×1080",
                  **_compare(hard)}
        large = _synthetic(Path(tmp, "13mp"), LARGE_SEEDS, LARGE_FRAMES, (3120, 4160))
        result["13mp"] = {"set": f"{len(LARGE_SEEDS)} seeds × {LARGE_FRAMES} × 4160×3120",
                          **_compare(large)}
        return result

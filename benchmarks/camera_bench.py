"""Document camera: frames per second through the real driver against plain JPEG decoding, and
how long a fresh still takes against the camera's frame interval.

Throughput: the MJPEG simulator streams as fast as it can, and the device's reader thread
counts the frames it publishes (HTTP, multipart parsing, FFmpeg decode, hand-over). The baseline
decodes the same JPEG bytes with ``cv2.imdecode`` in a loop for the same time: the ratio is the
share of pure decoding speed the whole path keeps.

Fresh still: ``capture()`` waits for two frames read after the request (one buffered frame may
predate it), so its latency should be at most about two frame intervals. The baseline is the
frame interval measured in the same run; the ratio says how many intervals a still costs.
"""

from __future__ import annotations

import time
from itertools import pairwise
from statistics import median
from typing import Any

from devices.open import open_document_camera
from hardware_sim import register_simulators
from hardware_sim.document_frames import render_page
from hardware_sim.mjpeg_camera import MjpegCameraSim

WIDTH, HEIGHT = 1280, 960


def _stream_fps(seconds: float, frames: list[bytes]) -> float:
    sim = MjpegCameraSim(frames, fps=1000.0)
    sim.start()
    cam = open_document_camera(sim.url, "bench-camera")
    try:
        cam.capture(timeout_s=15.0)
        first = cam.capture(timeout_s=15.0)
        time.sleep(seconds)
        last = cam.capture(timeout_s=15.0)
        return (last.seq - first.seq) / (last.at - first.at)
    finally:
        cam.close()
        sim.close()


def _decode_fps(seconds: float, frames: list[bytes]) -> float:
    import cv2
    import numpy as np

    buffers = [np.frombuffer(f, np.uint8) for f in frames]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        cv2.imdecode(buffers[count % len(buffers)], cv2.IMREAD_COLOR)
        count += 1
    return count / (time.perf_counter() - start)


def _capture_latency(captures: int, fps: float) -> tuple[float, float]:
    cam = open_document_camera(f"sim://camera?fps={fps}&width={WIDTH}&height={HEIGHT}", "bench")
    try:
        cam.capture(timeout_s=15.0)
        latencies, stills = [], []
        for _ in range(captures):
            start = time.monotonic()
            stills.append(cam.capture(timeout_s=15.0))
            latencies.append(time.monotonic() - start)
        gaps = [(b.at - a.at) / (b.seq - a.seq) for a, b in pairwise(stills)]
        return median(latencies), median(gaps)
    finally:
        cam.close()


def run(options: dict[str, Any]) -> dict[str, Any]:
    register_simulators()
    quick = bool(options.get("quick"))
    seconds = 1.0 if quick else 5.0
    frames = [render_page(WIDTH, HEIGHT, n) for n in (1, 2, 3)]
    stream_fps = _stream_fps(seconds, frames)
    decode_fps = _decode_fps(seconds, frames)
    latency_s, interval_s = _capture_latency(4 if quick else 20, fps=10.0)
    return {
        "frame_size": f"{WIDTH}x{HEIGHT}",
        "stream_frames_per_s": round(stream_fps, 1),
        "baseline_imdecode_frames_per_s": round(decode_fps, 1),
        "ratio_stream_vs_decode": round(stream_fps / decode_fps, 3),
        "fresh_capture_ms": round(latency_s * 1000, 1),
        "baseline_frame_interval_ms": round(interval_s * 1000, 1),
        "ratio_capture_vs_frame_interval": round(latency_s / interval_s, 3),
        "note": "MJPEG over loopback HTTP through OpenCV/FFmpeg; capture waits for 2 fresh frames",
    }

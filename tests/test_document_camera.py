"""The 高拍仪 document camera through OpenCV: MJPEG over HTTP from the simulator, a video file,
an image sequence and a camera index; every stream fault with what the citizen is told."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import (
    CameraDarkFrame,
    CameraNoFrames,
    CameraUnplugged,
    ConfigError,
    DeviceNotFound,
    all_error_types,
)
from core.strings_zh import error_text
from devices.document_camera import DocumentCamera
from devices.health import HealthState
from devices.open import open_document_camera
from hardware_sim import simulator_of
from hardware_sim.document_frames import render_array, write_sequence
from hardware_sim.mjpeg_camera import Fault, MjpegCameraSim


@pytest.fixture
def camera() -> Iterator[DocumentCamera]:
    """``sim://camera`` with a 1 s frame timeout, so faults show within a test."""
    cam = open_document_camera("sim://camera?fps=20&slow_s=3", "camera-1")
    cam.profile = replace(cam.profile, frame_timeout_s=1.0, bad_frame_memory_s=30.0)
    try:
        yield cam
    finally:
        cam.close()


def _eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _citizen_text(code: int | None) -> str:
    error = next(e for e in all_error_types() if e.code == code)
    return error_text(error.key)


def _solid(level: int) -> bytes:
    return cv2.imencode(".jpg", np.full((480, 640, 3), level, np.uint8))[1].tobytes()


def test_a_still_is_the_full_resolution_document_on_the_desk(camera: DocumentCamera) -> None:
    still = camera.capture(timeout_s=15.0)
    assert still.size == (1280, 960)
    assert camera.mode is not None and (camera.mode.width, camera.mode.height) == (1280, 960)
    grey = cv2.cvtColor(still.image, cv2.COLOR_BGR2GRAY)
    # The white page in the middle is brighter than the wooden desk at the edge.
    assert grey[400:560, 560:720].mean() > grey[:, :100].mean() + 60
    assert camera.health().state is HealthState.OK


def test_a_capture_returns_the_page_as_it_lies_now_not_a_buffered_one() -> None:
    sim = MjpegCameraSim([_solid(60)], fps=4.0)
    sim.start()
    cam = open_document_camera(sim.url, "camera-2")
    try:
        assert cam.capture(timeout_s=15.0).image.mean() == pytest.approx(60, abs=5)
        sim.frames = [_solid(200)]  # the citizen lays a new page down
        assert cam.capture(timeout_s=15.0).image.mean() == pytest.approx(200, abs=5)
    finally:
        cam.close()
        sim.close()


def test_a_corrupt_frame_warns_bad_frame_and_the_stream_goes_on(camera: DocumentCamera) -> None:
    camera.capture(timeout_s=15.0)
    simulator_of(camera).inject(Fault.CORRUPT, count=2)
    assert _eventually(lambda: camera.bad_frames >= 1)
    health = camera.health()
    assert (health.state, health.reasons, health.code) == (HealthState.WARNING, ("bad_frame",), 341)
    assert health.usable
    assert _citizen_text(health.code) == "画面传输异常，请重新拍摄"
    assert camera.capture().size == (1280, 960)


def test_black_frames_are_refused_with_a_dark_frame_message(camera: DocumentCamera) -> None:
    camera.capture(timeout_s=15.0)
    sim = simulator_of(camera)
    sim.inject(Fault.BLACK)
    with pytest.raises(CameraDarkFrame) as caught:
        assert _eventually(lambda: camera.health().reasons == ("dark_frame",))
        camera.capture()
    assert error_text(caught.value) == "画面过暗，请检查高拍仪灯光或联系工作人员"
    assert camera.health().state is HealthState.ERROR
    sim.clear(Fault.BLACK)
    assert _eventually(lambda: camera.health().state is HealthState.OK)


def test_no_frames_in_time_is_a_timeout(camera: DocumentCamera) -> None:
    camera.capture(timeout_s=15.0)
    sim = simulator_of(camera)
    sim.inject(Fault.SLOW)
    time.sleep(0.3)  # frames already on the way still arrive
    with pytest.raises(CameraNoFrames) as caught:
        camera.capture(timeout_s=0.5)
        camera.capture(timeout_s=0.5)
    assert error_text(caught.value) == "高拍仪没有画面，请稍候再试或联系工作人员"
    assert _eventually(lambda: camera.health().reasons == ("timeout",))
    assert camera.health().code == 340
    sim.clear(Fault.SLOW)
    assert camera.capture(timeout_s=15.0).size == (1280, 960)


def test_unplugging_the_camera_is_offline_and_plugging_it_back_recovers(
    camera: DocumentCamera,
) -> None:
    camera.capture(timeout_s=15.0)
    sim = simulator_of(camera)
    sim.inject(Fault.UNPLUG)
    assert _eventually(lambda: camera.health().state is HealthState.OFFLINE)
    health = camera.health()
    assert (health.reasons, health.code) == (("unplugged",), 342)
    with pytest.raises(CameraUnplugged) as caught:
        camera.capture()
    assert error_text(caught.value) == "高拍仪已断开，请联系工作人员"
    sim.plug()
    assert _eventually(lambda: camera.health().state is HealthState.OK)
    assert camera.capture(timeout_s=15.0).size == (1280, 960)


def test_a_recorded_video_plays_in_a_loop(tmp_path: Path) -> None:
    video = tmp_path / "desk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for page in (1, 2, 3):
        writer.write(render_array(640, 480, page))
    writer.release()
    cam = open_document_camera(f"file://{video}?profile=uvc-8mp", "camera-file")
    cam.profile = replace(cam.profile, fps=50.0)
    try:
        stills = [cam.capture(timeout_s=15.0) for _ in range(4)]  # 8 frames from a 3-frame file
        assert {s.size for s in stills} == {(640, 480)}
        assert cam.health().state is HealthState.OK
    finally:
        cam.close()


def test_an_image_sequence_is_a_camera(tmp_path: Path) -> None:
    pattern = write_sequence(tmp_path / "desk", count=3, width=800, height=600)
    cam = open_document_camera(f"images://{pattern}", "camera-seq")
    try:
        assert cam.capture(timeout_s=15.0).size == (800, 600)
    finally:
        cam.close()


def test_the_simulator_serves_an_image_sequence(tmp_path: Path) -> None:
    pattern = write_sequence(tmp_path / "desk", count=2, width=640, height=480)
    sim = MjpegCameraSim.from_sequence(pattern, fps=10.0)
    sim.start()
    cam = open_document_camera(sim.url, "camera-3")
    try:
        assert cam.capture(timeout_s=15.0).size == (640, 480)
    finally:
        cam.close()
        sim.close()


def test_a_camera_index_with_no_camera_is_not_found() -> None:
    cam = open_document_camera("camera://63?profile=uvc-5mp", "camera-usb")
    try:
        with pytest.raises(DeviceNotFound) as caught:
            cam.capture(timeout_s=10.0)
        assert error_text(caught.value) == "未找到设备，请联系工作人员"
        health = cam.health()
        assert (health.state, health.reasons) == (HealthState.OFFLINE, ("not_found",))
    finally:
        cam.close()


def test_a_missing_recording_is_not_found(tmp_path: Path) -> None:
    cam = open_document_camera(f"file://{tmp_path}/none.mp4", "camera-file")
    try:
        with pytest.raises(DeviceNotFound):
            cam.capture(timeout_s=10.0)
    finally:
        cam.close()


def test_faults_in_the_sim_url_and_bad_urls() -> None:
    cam = open_document_camera("sim://camera?faults=black", "camera-dark")
    try:
        with pytest.raises(CameraDarkFrame):
            cam.capture(timeout_s=15.0)
    finally:
        cam.close()
    for url in ("sim://camera?faults=smoke", "camera://front", "rtsp://x/1", "sim://webcam"):
        with pytest.raises(ConfigError):
            open_document_camera(url, "camera-bad")

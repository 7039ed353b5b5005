"""The wall screen (大屏) in a real headless Chromium, at 1920×1080 and 3840×2160, during a
red warning; and on a laptop. Screenshots go to test-artifacts/wall-screen/ for people to look at."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from collector.dashboard import Dashboard
from collector.service import CollectorService
from core.config import load_hall_config
from tests.busy_morning import busy_morning, usual_monday
from tests.test_dashboard import get, run_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "wall-screen"
RED = (0xE5, 0x39, 0x35)


@pytest.fixture(scope="module")
def wall(tmp_path_factory):
    """The collector after a busy morning (red warnings), its dashboard serving /wall."""
    tmp = tmp_path_factory.mktemp("wall")
    hall = load_hall_config()
    service = CollectorService(tmp / "collector.db", "127.0.0.1", 1, {hall.hall_id: hall},
                               baseline_check_s=None)  # never started: no broker needed
    service.monitor.set_baseline(hall.hall_id, usual_monday())

    def feed(events):
        service.store.add(events)
        service._fold_groups([events])

    recorded = busy_morning(tmp / "hall.db", feed)
    board = Dashboard(service.dashboard_state, kpis=service.kpi_state,
                      platform_totals=service.save_platform_totals)
    board.start()
    yield board
    board.stop()
    recorded.close_db()
    service.stop()


def red_share_of_rows(shot: Path) -> float:
    """The largest share of warning-red pixels in any one pixel row of the screenshot."""
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    best = 0.0
    pixels = image.load()
    for y in range(0, height // 3, 2):
        red = sum(1 for x in range(0, width, 4)
                  if all(abs(c - r) < 30 for c, r in zip(pixels[x, y], RED)))  # fmt: skip
        best = max(best, red / (width / 4))
    return best


def test_the_kpi_endpoint_answers_with_the_floor_and_the_trend(wall):
    status, content_type, body = get(wall.url + "api/kpis")
    assert status == 200 and content_type.startswith("application/json")
    (hall,) = json.loads(body)["halls"]
    assert hall["kiosk"]["platform_text"] == "平台总量未接入"
    assert {w["window"]: w["state"] for w in hall["floor"]["windows"]} == {
        1: "serving", 2: "closed", 3: "serving", 4: "closed"}
    assert hall["trend"]["baseline"] == "available"


def test_the_kpi_endpoint_answers_the_halls_asked_for_only(wall):
    status, _, body = get(wall.url + "api/kpis?hall=hall-demo,no-such-hall")
    assert status == 200
    halls = json.loads(body)["halls"]
    assert [h["hall"] for h in halls] == ["hall-demo", "no-such-hall"]
    assert halls[0]["day"] is not None and halls[0]["totals"]["issued"] > 0
    assert halls[1]["day"] is None  # a hall the collector never heard of: nothing to show


def test_the_wall_shows_floor_plan_red_warning_and_charts(wall, tmp_path):
    static = get(wall.url + "wall")[2].decode("utf-8")
    assert "红色预警" not in static  # what the browser shows below, the script drew

    dom = run_chromium(wall.url + "wall", tmp_path / "dom", "--dump-dom",
                       "--window-size=1920,1080")

    # 大厅平面图 with each window's state (seed 004): who serves which ticket, who is closed.
    assert 'data-field="floor-plan"' in dom
    windows = dict(re.findall(r'<g data-window="(\d+)" data-state="(\w+)"', dom))
    assert windows == {"1": "serving", "2": "closed", "3": "serving", "4": "closed"}
    window1 = re.search(r'<g data-window="1".*?</g>', dom, re.S).group(0)
    assert "1号窗口" in window1 and "办理中" in window1 and "王芳" in window1
    # The red warning stands out: first, in words, with its advice.
    alerts = re.search(r'<section id="alerts".*?</section>', dom, re.S).group(0)
    first = re.search(r'<div class="alert (\w+)" data-level="(\w+)" data-service="(\w+)"', alerts)
    assert first.groups() == ("red", "red", "social")
    text = re.sub(r"<[^>]+>", " ", alerts)
    assert "红色预警" in text and "社保医保" in text and "等候人数" in text and "建议" in text
    # Trend charts as SVG: today's line and bars beside the weekly baseline and the promise.
    for chart in ("waits", "arrivals"):
        svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', dom, re.S)
        assert svg, f"no {chart} chart"
        assert 'data-series="today"' in svg.group(0) and 'data-series="baseline"' in svg.group(0)
    assert 'data-series="promise-red"' in dom
    # KPI tiles: the kiosk rate says the platform's total is missing rather than guessing.
    kiosk = re.search(r'data-kpi="kiosk-rate".*?</div></div>', dom, re.S).group(0)
    assert "平台总量未接入" in kiosk
    assert re.search(r'data-kpi="availability".*?\d+\.\d%', dom, re.S)


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_wall_screenshots_during_a_red_warning(wall, tmp_path, width, height):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"wall-{width}x{height}-red.png"
    shot.unlink(missing_ok=True)
    run_chromium(wall.url + "wall", tmp_path / "shot", f"--screenshot={shot}",
                 f"--window-size={width},{height}", "--force-device-scale-factor=1",
                 "--hide-scrollbars")  # fmt: skip
    image = Image.open(shot)
    assert image.size == (width, height)
    # The red banner runs across the screen at both sizes: most of a row is warning red.
    assert red_share_of_rows(shot) > 0.5


def test_the_wall_is_a_readable_page_on_a_laptop(wall, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "wall-laptop-1366x768.png"
    shot.unlink(missing_ok=True)
    run_chromium(wall.url + "wall", tmp_path / "shot", f"--screenshot={shot}",
                 "--window-size=1366,768", "--force-device-scale-factor=1")
    assert Image.open(shot).size == (1366, 768)
    assert red_share_of_rows(shot) > 0.5


def test_the_platform_pushes_its_totals_and_the_wall_shows_the_rate(wall):
    import urllib.error
    import urllib.request

    def put(path: str, body: bytes, content_type: str = "application/json") -> int:
        request = urllib.request.Request(wall.url + path, data=body, method="PUT",
                                         headers={"Content-Type": content_type})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    assert put("api/platform-totals/hall-demo/2026-11-23", b'{"items": {"JG-000101": -1}}') == 400
    assert put("api/platform-totals/hall-demo/2026-11-23", b"items=1", "text/plain") == 415
    assert put("api/platform-totals/nohall/2026-11-23", b'{"items": {}}') == 400
    assert put("api/platform-totals/hall-demo/2026-11-23",
               '{"items": {"JG-000101": 32}, "source": "一体化平台"}'.encode()) == 200
    (hall,) = json.loads(get(wall.url + "api/kpis")[2])["halls"]
    assert hall["kiosk"]["rate"] == 0.25  # 8 at the kiosks of 32

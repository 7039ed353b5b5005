"""The manager dashboard, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from collector.dashboard import Dashboard
from collector.monitor import HallMonitor
from tests.hall_events import RecordedHall

TIMEOUT = 180  # chromium start-up on a busy 2-core machine


@pytest.fixture
def crowded(tmp_path):
    """A hall where 25 citizens wait for social security at one window: a red warning."""
    hall = RecordedHall(tmp_path / "hall.db")
    monitor = HallMonitor({hall.hall_id: hall.config})
    hall.open(1)
    for _ in range(25):
        hall.issue("social")
    monitor.observe(hall.take())
    hall.advance(150)
    hall.issue("business")
    monitor.observe(hall.take())
    assert [(t.level, t.metric) for t in monitor.active(hall.hall_id)] == [("red", "waiting_count")]
    yield monitor
    hall.close_db()


@pytest.fixture
def dashboard(crowded):
    board = Dashboard(lambda: {"v": 1, "halls": [crowded.state(h) for h in crowded.halls()]})
    board.start()
    yield board
    board.stop()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "chromium is not installed: the dashboard is tested in a real browser. "
            "Run `scripts/system-deps.sh test` (Debian package chromium)."
        )
    return found


def run_chromium(url: str, work: Path, *extra: str) -> str:
    """Load the page headless, let its script run on virtual time, return stdout."""
    work.mkdir(parents=True, exist_ok=True)
    args = [
        chromium_binary(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={work / 'profile'}",
        "--virtual-time-budget=5000",
        *extra,
        url,
    ]
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=os.environ | {"HOME": str(work)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def row(dom: str, service: str) -> str:
    found = re.search(rf'<tr[^>]*data-service="{service}"[^>]*>(.*?)</tr>', dom, re.S)
    assert found, f"no row for {service} in the rendered page"
    return found.group(1)


def field(row_html: str, name: str) -> str:
    found = re.search(rf'data-field="{name}"[^>]*>([^<]*)<', row_html)
    assert found, f"no {name} cell"
    return found.group(1)


def test_the_state_endpoint_serves_the_hall_as_json(dashboard):
    status, content_type, body = get(dashboard.url + "api/state")

    assert status == 200 and content_type.startswith("application/json")
    (hall,) = json.loads(body)["halls"]
    assert hall["name"] == "示范区政务服务中心"
    social = next(s for s in hall["services"] if s["service"] == "social")
    assert (social["name"], social["waiting_count"], social["open_windows"]) == (
        "社保医保",
        25,
        [1],
    )
    assert hall["warnings"][0]["level"] == "red"
    assert hall["warnings"][0]["service_name"] == "社保医保"


def test_only_the_page_and_its_assets_are_served(dashboard):
    status, content_type, body = get(dashboard.url)
    assert status == 200 and content_type == "text/html; charset=utf-8"
    assert "实时监控" in body.decode("utf-8")
    assert get(dashboard.url + "style.css")[0] == 200
    assert get(dashboard.url + "../pyproject.toml")[0] == 404
    assert get(dashboard.url + "dashboard.py")[0] == 404


def test_chromium_shows_the_queue_and_the_red_warning(dashboard, tmp_path):
    static = get(dashboard.url)[2].decode("utf-8")
    assert "红色预警" not in static  # so what the browser shows below, the script rendered

    dom = run_chromium(dashboard.url, tmp_path / "chromium", "--dump-dom")

    social = row(dom, "social")
    assert field(social, "name") == "社保医保"
    assert field(social, "waiting_count") == "25"
    assert 'class="red"' in social  # the count cell is marked red
    assert field(social, "open_windows") == "1号"
    assert field(row(dom, "_total"), "waiting_count") == "26"
    warning = re.search(r'<li class="warning red" data-level="red">(.*?)</li>', dom, re.S)
    assert warning, "no red warning in the rendered page"
    text = re.sub(r"<[^>]+>", " ", warning.group(1))
    assert "红色预警" in text and "社保医保" in text and "等候人数 25人" in text
    assert "建议增开" in text
    assert "暂无预警" not in dom

    shot = tmp_path / "dashboard.png"
    run_chromium(
        dashboard.url, tmp_path / "chromium-shot", f"--screenshot={shot}", "--window-size=1280,800"
    )
    assert shot.stat().st_size > 10_000


def test_the_page_says_so_when_the_state_is_unavailable(tmp_path):
    def broken() -> dict:
        raise RuntimeError("store unreadable")

    with Dashboard(broken) as board:
        assert get(board.url + "api/state")[0] == 500
        dom = run_chromium(board.url, tmp_path / "chromium", "--dump-dom")

    assert "数据暂不可用" in dom


def test_chromium_shows_what_the_collector_kept_and_a_hall_it_cannot_show(crowded, tmp_path):
    """Dead letters, unknown kinds and lost seqs are listed under 数据接收; a hall whose state
    failed says so with its code, beside the hall that works."""
    def state() -> dict:
        (hall,) = [crowded.state(h) for h in crowded.halls()]
        hall["ingest"] = {
            "unknown_kinds": {"queue.transferred": 3}, "newer_minor": {},
            "dead_letters": 2, "dead_letter_reasons": {"non_finite": 1, "too_deep": 1},
            "lost_seqs": 4, "stored": {"kiosk-1": 26}, "replay_skipped": 0, "failures": 0,
        }
        broken = {"hall": "hall-b", "name": "hall-b", "at": None, "clock": None,
                  "warnings": [], "totals": None, "services": [],
                  "error": "state_unavailable", "code": 500}
        return {"v": 1, "halls": [hall, broken]}

    with Dashboard(state) as board:
        dom = run_chromium(board.url, tmp_path / "chromium", "--dump-dom")

    assert field(row(dom, "social"), "waiting_count") == "25"
    assert "死信 2 条（非有限数值 1条、嵌套过深 1条）" in dom
    assert "未识别类型事件（已保存）：queue.transferred 3条" in dom
    assert "大厅已不再保存的事件序号 4 个" in dom
    assert "该大厅数据暂不可用（代码 500）" in dom


def test_chromium_shows_what_the_kiosks_did_today(tmp_path):
    """自助终端: kiosk transactions per function and per item, help requests, ratings."""
    from core.events import Kind
    from flows.transactions import transaction_event

    hall = RecordedHall(tmp_path / "hall.db")
    try:
        monitor = HallMonitor({hall.hall_id: hall.config})
        hall.open(1)
        hall.issue("social")
        journal = hall.queue.transaction_journal("kiosk-1", hall.clock)
        for item in ("JG-000101", "JG-000101", "JG-000207"):
            journal.record(Kind.KIOSK_TRANSACTION,
                           transaction_event("appointments", "done", item=item))
        journal.record(Kind.KIOSK_TRANSACTION, transaction_event("bill_payment", "failed"))
        journal.record(Kind.KIOSK_HELP_REQUESTED, {"function": "bill_payment", "screen": "pay"})
        monitor.observe(hall.take())
        with Dashboard(lambda: {"v": 1, "halls": [monitor.state(h) for h in monitor.halls()]}) as b:
            dom = run_chromium(b.url, tmp_path / "chromium", "--dump-dom")
    finally:
        hall.close_db()

    assert "自助终端今日办件 3 件，呼叫帮办 1 次" in dom
    assert "预约取号：办结 3 件，按事项：JG-000101 2、JG-000207 1" in dom
    assert "生活缴费：办结 0 件，未成功 1 件，呼叫帮办 1 次" in dom

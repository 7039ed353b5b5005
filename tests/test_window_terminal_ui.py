"""The citizen-facing window terminal in a real window (``python main.py window-terminal``).

The test process plays the staff member (the PAD's desk and the rating pad's answer, on the
hall database) while the terminal, a Kivy process under Xvfb built as ``main.py`` builds it,
watches the same database. Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import SystemClock
from core.config import load_hall_config
from flows.queue import HallQueue
from flows.window_desk import WindowDesk
from hallstore import journal
from kiosk.widgets import CONTRAST_MIN
from tests.test_contrast import too_faint
from tests.test_window_terminal import terminal_config
from tests.ui.fixtures import UiLauncher

pytestmark = pytest.mark.ui


def test_the_citizen_sees_the_staff_member_the_case_its_time_and_the_rating_request(
    ui: UiLauncher, tmp_path: Path
) -> None:
    config = terminal_config(tmp_path)
    db = tmp_path / "hall.db"
    queue = HallQueue(journal.connect(db), load_hall_config(config), SystemClock())
    desk = WindowDesk(queue, 3, "pad-3", None, None, SystemClock())
    queue.issue("social", "kiosk-1")
    desk.sign_in("007")
    desk.call()
    served, asked, thanked = (tmp_path / n for n in ("served", "asked", "thanked"))

    run = ui.start(
        ["window-terminal", "--config", str(config), "--hall-db", str(db), "--window", "3"],
        [
            {"op": "wait_text", "id": "ticket_no", "match": "^A001$"},
            {"op": "wait_text", "id": "staff_name", "match": "张敏"},
            {"op": "snapshot", "name": "serving"},
            # The handling time ticks on its own, second by second.
            {"op": "wait_text", "id": "elapsed", "match": r"^已办理 00:0[3-9]$"},
            {"op": "pause", "seconds": 0.3},
            {"op": "screenshot", "name": "1-serving"},
            {"op": "colours", "name": "serving"},
            {"op": "touch_file", "path": str(served)},
            {"op": "wait_text", "id": "state_text", "match": "^请对本次服务进行评价$"},
            {"op": "snapshot", "name": "rating"},
            {"op": "screenshot", "name": "2-rating"},
            {"op": "colours", "name": "rating"},
            {"op": "touch_file", "path": str(asked)},
            {"op": "wait_text", "id": "state_text", "match": "^感谢您的评价$"},
            {"op": "snapshot", "name": "thanks"},
            {"op": "touch_file", "path": str(thanked)},
            {"op": "wait_text", "id": "state_text", "match": "^暂停服务$"},
            {"op": "snapshot", "name": "paused"},
            {"op": "screenshot", "name": "3-paused"},
            {"op": "colours", "name": "paused"},
        ],
        name="window-terminal",
    )
    run.wait_for_file(served)
    finished = queue.finish(3, "pad-3")
    run.wait_for_file(asked)
    queue.record_rating(finished, 5, "rating-pad-3")
    run.wait_for_file(thanked)
    desk.pause("午间休息")
    result = run.result()
    queue.conn.close()

    serving = result["snapshots"]["serving"]
    assert serving["window_title"] == "3号窗口"
    assert (serving["staff_name"], serving["staff_title"], serving["staff_no"]) == (
        "张敏", "综合受理员", "工号 007",
    )
    assert serving["staff_photo"] == "张"  # the placeholder: no photo is kept on the terminal
    assert serving["service_name"] == "社保医保"
    assert serving["guide_title"] == "办事指南：社保医保"
    assert (serving["material_0"], serving["material_1"]) == ("1. 居民身份证原件", "2. 一寸白底照片")
    assert result["snapshots"]["rating"]["rating_ticket"] == "A001 已办结"
    assert result["snapshots"]["thanks"]["state_detail"] == "您的评价：非常满意"
    assert result["snapshots"]["paused"]["state_detail"].startswith("午间休息 · 已暂停 00:0")
    for name, seen in result["colours"].items():
        assert too_faint(seen, CONTRAST_MIN) == [], name
    assert Path(result["screenshots"]["1-serving"]).exists()

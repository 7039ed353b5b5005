"""The citizen-facing window terminal's flow (双屏窗口终端): what the citizen across the counter
sees as the staff member works the PAD.

On the hall box the terminal reads the hall database (its own connection, as its own process
would); on a machine of its own it follows the hall box's pushes (``window-terminal`` device).
The PAD's side is the real :class:`flows.window_desk.WindowDesk` or a remote PAD client.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.clock import SimClock
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from core.errors import ConfigError, DeviceForbidden
from core.rating import LEVEL_LABELS
from flows.item_catalog import ItemCatalog
from flows.queue import HallQueue
from flows.window_desk import WindowDesk
from flows.window_terminal import (
    RATING_TIMEOUT_S,
    THANKS_S,
    GuideBook,
    HallBoxWatch,
    WindowTerminal,
)
from govplatform.catalog import Material, ServiceItem
from hallstore import journal
from tests.test_hall_api import HallApi, api  # noqa: F401

ITEM = "11630000MB1234567X4000000100000"

TERMINAL_CONFIG = """

[[staff]]
id = "007"
name = "张敏"
title = "综合受理员"

[guides.social]
summary = "社保卡申领、参保登记、医保报销"
materials = ["居民身份证原件", "一寸白底照片"]

[guides.household]
item = "%s"
""" % ITEM


def terminal_config(tmp_path: Path) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + TERMINAL_CONFIG, "utf-8")
    return path


@dataclass
class Window3:
    """Window 3: the PAD's desk and the terminal, each on its own connection."""

    clock: SimClock
    queue: HallQueue
    desk: WindowDesk
    terminal: WindowTerminal
    watch: HallBoxWatch

    def shown(self) -> dict:
        screen = self.watch.view()
        assert screen.name == "terminal"
        return screen.data


@pytest.fixture
def window(tmp_path: Path) -> Iterator[Window3]:
    hall = load_hall_config(terminal_config(tmp_path))
    clock = SimClock(1_796_623_200.0)
    db = tmp_path / "hall.db"
    queue = HallQueue(journal.connect(db), hall, clock)
    desk = WindowDesk(queue, 3, "pad-3", None, None, clock)
    conn = journal.connect(db)
    guides = GuideBook(hall, _catalog(tmp_path))
    terminal = WindowTerminal(HallQueue(conn, hall, clock), 3, clock, guides)
    yield Window3(clock, queue, desk, terminal, HallBoxWatch(conn, terminal))
    conn.close()
    queue.conn.close()


def _catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    catalog = ItemCatalog(tmp_path / "item_catalog.db")
    catalog.apply([_household_item()], [], 1, 0.0)
    return catalog.item


def _household_item() -> ServiceItem:
    material = lambda i, name, form, required: Material(f"M0{i}", name, form, 1, required, ())
    return ServiceItem(
        code=ITEM, name="户口迁移登记", item_type="行政确认", audiences=("个人",),
        themes=("户籍办理",), department_code="11630000MB1234567X", department="示范区公安局",
        legal_time_limit="20个工作日", promised_time_limit="即办", phone="0979-1234567",
        complaint_phone="12345",
        address="示范区政务服务中心", office_hours="工作日 9:00-17:00", fee="不收费",
        conditions=("本人到场",),
        materials=(material(1, "居民户口簿", "原件", True),
                   material(2, "迁移证", "原件", True),
                   material(3, "房产证明", "复印件", False)),
        legal_basis=(), situations=(), guide_url="https://zwfw.example.gov.cn/guide/1",
        version=1, updated_at="2026-01-01",
    )  # fmt: skip


def test_before_sign_in_the_window_is_closed_then_it_names_the_staff_member(
    window: Window3,
) -> None:
    closed = window.shown()
    assert closed["state"] == "closed" and closed["staff"] is None

    window.desk.sign_in("007")
    idle = window.shown()
    assert idle["state"] == "idle"
    assert idle["staff"] == {"staff_id": "007", "name": "张敏", "title": "综合受理员"}


def test_a_staff_id_missing_from_the_config_still_shows_the_number(window: Window3) -> None:
    window.desk.sign_in("042")
    assert window.shown()["staff"] == {"staff_id": "042", "name": None, "title": ""}


def test_a_call_shows_the_ticket_its_service_and_guide_and_the_time_grows(
    window: Window3,
) -> None:
    window.queue.issue("social", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    called = window.shown()
    assert called["state"] == "serving"
    assert called["ticket"]["ticket_no"] == "A001"
    assert called["ticket"]["service_name"] == "社保医保"
    assert called["guide"]["summary"] == "社保卡申领、参保登记、医保报销"
    assert called["guide"]["materials"] == ["居民身份证原件", "一寸白底照片"]
    assert called["elapsed_s"] == 0

    window.clock.advance(75)
    assert window.shown()["elapsed_s"] == 75
    window.clock.advance(3600)
    assert window.shown()["elapsed_s"] == 3675


def test_a_service_mapped_to_a_catalog_item_lists_the_items_required_materials(
    window: Window3,
) -> None:
    window.queue.issue("household", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    guide = window.shown()["guide"]
    assert guide["title"] == "户口迁移登记"
    assert guide["time_limit"] == "即办"
    # 房产证明 may be supplied later (容缺): not what the citizen must have on the counter.
    assert guide["materials"] == ["居民户口簿（原件）", "迁移证（原件）"]


def test_a_service_without_a_guide_says_to_ask_the_staff(tmp_path: Path) -> None:
    hall = load_hall_config()
    guide = GuideBook(hall).guide("business")
    assert (guide.title, guide.materials) == ("企业开办", ())
    assert guide.summary == "请向窗口工作人员咨询办理要求"


def test_a_pause_shows_its_reason_and_how_long(window: Window3) -> None:
    window.desk.sign_in("007")
    window.desk.pause("午间休息")
    window.clock.advance(90)
    paused = window.shown()
    assert paused["state"] == "paused"
    assert (paused["pause_reason"], paused["paused_s"]) == ("午间休息", 90)
    window.desk.resume()
    assert window.shown()["state"] == "idle"


def test_finish_asks_for_a_rating_and_the_answer_thanks_the_citizen(window: Window3) -> None:
    window.queue.issue("social", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    window.shown()
    finished = window.queue.finish(3, "pad-3")
    asked = window.shown()
    assert asked["state"] == "rating"
    assert asked["rating"] == {"ticket_no": "A001", "level": None, "label": None}

    window.clock.advance(5)
    window.queue.record_rating(finished, 5, "rating-pad-3")
    # The agent's publisher may drain the journal before the terminal looks: the answer
    # still reaches the citizen.
    window.queue.conn.execute("DELETE FROM outbox")
    thanked = window.shown()
    assert thanked["state"] == "thanks"
    assert thanked["rating"]["label"] == "非常满意"

    window.clock.advance(THANKS_S)
    assert window.shown()["state"] == "idle"


def test_an_unanswered_rating_request_ends_after_the_timeout(window: Window3) -> None:
    window.queue.issue("social", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    window.shown()
    window.desk.finish()
    assert window.shown()["state"] == "rating"
    window.clock.advance(RATING_TIMEOUT_S - 1)
    assert window.shown()["state"] == "rating"
    window.clock.advance(1)
    assert window.shown()["state"] == "idle"


def test_the_next_call_ends_the_rating_request(window: Window3) -> None:
    for _ in range(2):
        window.queue.issue("social", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    window.shown()
    window.desk.finish()
    assert window.shown()["state"] == "rating"
    window.desk.call()
    assert window.shown()["ticket"]["ticket_no"] == "A002"


def test_a_skipped_or_transferred_citizen_is_not_asked_for_a_rating(window: Window3) -> None:
    for _ in range(2):
        window.queue.issue("social", "kiosk-1")
    window.desk.sign_in("007")
    window.desk.call()
    window.shown()
    window.desk.skip()
    assert window.shown()["state"] == "idle"
    window.desk.call()
    window.shown()
    window.desk.transfer(window=2)
    assert window.shown()["state"] == "idle"


def test_a_terminal_on_its_own_machine_follows_the_hall_box_pushes(
    api: HallApi, tmp_path: Path  # noqa: F811
) -> None:
    from hallnet.client import RemoteHallQueue
    from kiosk.window_terminal_launch import _PushRelay

    hall = load_hall_config(terminal_config(tmp_path))
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"), listen=False)
    pad = api.client(api.enrol("pad-3", "pad", 3))
    kiosk.issue("social", "kiosk-1")
    pad.open_window(3, "pad-3", "007")
    device = api.enrol("terminal-3", "window-terminal", 3)
    remote = RemoteHallQueue(device, hall)
    relay = _PushRelay()
    remote.on_push(relay)
    remote.start()
    api.clients.append(remote)
    terminal = WindowTerminal(remote, 3, remote.clock, GuideBook(remote.hall))
    relay.attach(terminal)

    shown = _until(terminal, lambda d: d["staff"] and d["staff"]["name"] == "张敏")
    assert shown["state"] == "idle"  # the sign-in came with the snapshot
    pad.call_next(3, "pad-3")
    shown = _until(terminal, lambda d: d["state"] == "serving")
    assert shown["ticket"]["ticket_no"] == "A001"
    assert shown["guide"]["materials"] == ["居民身份证原件", "一寸白底照片"]
    finished = pad.finish(3, "pad-3")
    shown = _until(terminal, lambda d: d["state"] == "rating")
    assert shown["rating"]["ticket_no"] == "A001"
    # The PAD's rating pad answers: the hall box pushes the rating and the citizen is thanked.
    pad.record_rating(finished, 2, "rating-pad-3")
    shown = _until(terminal, lambda d: d["state"] == "thanks")
    assert shown["rating"]["label"] == LEVEL_LABELS[2]
    # It only reads: the hall box refuses it any queue change.
    with pytest.raises(DeviceForbidden):
        remote.call_next(3, "terminal-3")


def _until(terminal: WindowTerminal, ok: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = terminal.view().data
        if ok(data) or time.monotonic() > deadline:
            assert ok(data), data
            return data
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[guides.tax]\nsummary = "x"\n', r"\[guides\] names unknown services \['tax'\]"),
        ('\n[[staff]]\nid = "1"\nname = "甲"\n[[staff]]\nid = "1"\nname = "乙"\n',
         r"lists an id twice"),
        ('\n[[staff]]\nid = "1"\n', r"name"),
    ],
)
def test_the_config_refuses_guides_for_unknown_services_and_staff_ids_twice(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + extra, "utf-8")
    with pytest.raises(ConfigError, match=message):
        load_hall_config(path)


def test_the_demo_hall_has_no_staff_or_guides_and_still_loads() -> None:
    hall: HallConfig = load_hall_config()
    assert hall.staff_member("007") is None
    assert GuideBook(hall).guide("social").title == "社保医保"

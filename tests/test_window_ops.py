"""Window staff's daily operations (issue #14): 转移, 暂停 / 恢复, 签退, 撤销过号 and priority, on a
PAD on the hall box (``HallQueue``) and on a PAD of its own over the hall API
(``RemoteHallQueue``: idempotency keys, pushes); what the journal, the PAD's desk, the call
display and the collector's metrics then show."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import pytest

from collector.metrics import HallMetrics
from core.clock import SimClock
from core.config import HallConfig, Window, load_hall_config
from core.errors import (
    SkipNotUndoable,
    TicketInService,
    TransferInvalid,
    WindowPaused,
)
from core.events import Kind
from devices.open import open_call_display
from flows.queue import SKIP_UNDO_S, HallQueue
from flows.queue_port import QueuePort
from flows.window_desk import WindowDesk
from hallnet.client import RemoteHallQueue
from hallnet.devices import enrol
from hallnet.server import HallServer
from hallstore import journal
from hardware_sim import simulator_of
from tests.brokers import wait_until
from tests.conftest import HALL_OPENS


def special_hall() -> HallConfig:
    """The demo hall with window 2 as its special-groups window (特殊人群专窗)."""
    hall = load_hall_config()
    windows = tuple(replace(w, special=True) if w.no == 2 else w for w in hall.windows)
    return replace(hall, windows=windows)


@dataclass
class Hall:
    """A hall and the queues a kiosk and the PADs of windows 2 and 3 use."""

    kiosk: QueuePort
    pad3: QueuePort
    pad2: QueuePort
    db: Path
    events: Callable[[], list[Any]]
    #: Lets time pass between two citizens' tickets.
    tick: Callable[[], None]

    def issue(self, service: str, **kwargs: Any) -> None:
        self.kiosk.issue(service, "kiosk-1", **kwargs)
        self.tick()


def _events(db: Path) -> list[Any]:
    conn = journal.connect(db)
    try:
        return [p.event for p in journal.pending(conn, 10_000)]
    finally:
        conn.close()


@pytest.fixture(params=["hall_box", "own_machine"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    config = special_hall()
    db = tmp_path / "hall.db"
    if request.param == "hall_box":
        conn = journal.connect(db)
        clock = SimClock(HALL_OPENS)
        queue = HallQueue(conn, config, clock)
        yield Hall(queue, queue, queue, db, lambda: _events(db), lambda: clock.advance(5))
        conn.close()
        return
    devices = tmp_path / "hall-devices.json"
    server = HallServer(config, db, ("127.0.0.1", 0), devices).start()
    address = "{}:{}".format(*server.address)
    clients = []
    for device_id, role, window in (("kiosk-1", "kiosk", None), ("pad-3", "pad", 3),
                                    ("pad-2", "pad", 2)):
        device = enrol(devices, tmp_path / device_id / "device.json", config.hall_id,
                       device_id, role, address, window)
        clients.append(RemoteHallQueue(device, config, data_dir=tmp_path / device_id).start())
    try:
        yield Hall(
            clients[0], clients[1], clients[2], db, lambda: _events(db), lambda: time.sleep(0.01)
        )
    finally:
        for c in clients:
            c.close()
        server.stop()


def waiting(q: QueuePort, window: int) -> list[str]:
    return [t.ticket_no for t in q.window_view(window).waiting]


def eventually(q: QueuePort, window: int, expected: list[str]) -> list[str]:
    """The waiting list of ``window`` as ``q`` sees it, once the pushes of another machine's
    change reached ``q`` (at once for a PAD on the hall box)."""
    wait_until(lambda: waiting(q, window) == expected, 5)
    return waiting(q, window)


def test_transfer_to_another_service_keeps_the_place_by_issue_time(hall: Hall) -> None:
    hall.issue("household")          # B001, before A001
    hall.issue("social")             # A001
    hall.issue("household")          # B002, after A001
    hall.pad3.open_window(3, "pad-3", "007")
    hall.pad2.open_window(2, "pad-2", "008")
    called = hall.pad3.call_next(3, "pad-3")
    assert called is not None and called.ticket_no == "B001"
    moved = hall.pad3.transfer(3, "pad-3", to_service="social")
    assert (moved.ticket_no, moved.service, moved.state) == ("B001", "social", "waiting")
    # B001 was taken before A001: it goes ahead of it in the social queue.
    assert eventually(hall.pad2, 2, ["B001", "A001", "B002"]) == ["B001", "A001", "B002"]
    assert hall.pad3.window_view(3).current is None
    event = [e for e in hall.events() if e.kind == Kind.TICKET_TRANSFERRED][-1]
    assert event.data["from_window"] == 3 and event.data["from_service"] == "household"
    assert event.data["service"] == "social" and event.to_dict()["minor"] == 1


def test_transfer_to_a_window_is_called_by_that_window_only(hall: Hall) -> None:
    hall.issue("business")  # C001: window 2 does not serve 企业开办
    hall.issue("social")    # A001
    hall.pad3.open_window(3, "pad-3", "007")
    hall.pad2.open_window(2, "pad-2", "008")
    assert hall.pad3.call_next(3, "pad-3").ticket_no == "C001"
    hall.pad3.transfer(3, "pad-3", to_window=2)
    assert eventually(hall.pad2, 2, ["C001", "A001"]) == ["C001", "A001"]
    assert "C001" not in waiting(hall.pad3, 3)
    called = hall.pad2.call_next(2, "pad-2")
    assert called.ticket_no == "C001" and called.transferred_from == 3


def test_a_transfer_with_no_target_or_to_itself_is_refused(hall: Hall) -> None:
    hall.issue("social")
    hall.pad3.open_window(3, "pad-3", "007")
    hall.pad3.call_next(3, "pad-3")
    with pytest.raises(TransferInvalid):
        hall.pad3.transfer(3, "pad-3", to_service="social")
    with pytest.raises(TransferInvalid):
        hall.pad3.transfer(3, "pad-3", to_window=3)
    assert hall.pad3.window_view(3).current.ticket_no == "A001"


def test_a_paused_window_calls_nobody_until_it_resumes(hall: Hall) -> None:
    hall.issue("social")
    hall.pad3.open_window(3, "pad-3", "007")
    assert hall.pad3.pause_window(3, "pad-3", "临时离开") is True
    view = hall.pad3.window_view(3)
    assert view.is_open and view.paused and view.pause_reason == "临时离开"
    with pytest.raises(WindowPaused):
        hall.pad3.call_next(3, "pad-3")
    assert hall.pad3.pause_window(3, "pad-3", "临时离开") is False  # nothing journaled twice
    assert hall.pad3.resume_window(3, "pad-3") is True
    assert not hall.pad3.window_view(3).paused
    assert hall.pad3.call_next(3, "pad-3").ticket_no == "A001"
    with pytest.raises(TicketInService):
        hall.pad3.pause_window(3, "pad-3", "临时离开")
    kinds = [e.kind for e in hall.events() if e.kind in Kind.WINDOWS]
    assert kinds == [Kind.WINDOW_OPENED, Kind.WINDOW_PAUSED, Kind.WINDOW_RESUMED]
    paused = [e for e in hall.events() if e.kind == Kind.WINDOW_PAUSED][0]
    assert paused.data == {"window": 3, "reason": "临时离开", "staff_id": "007"}


def test_a_skip_can_be_undone_by_its_window(hall: Hall) -> None:
    hall.issue("social")
    hall.issue("social")
    hall.pad3.open_window(3, "pad-3", "007")
    hall.pad2.open_window(2, "pad-2", "008")
    first = hall.pad3.call_next(3, "pad-3")
    hall.pad3.skip(3, "pad-3")
    with pytest.raises(SkipNotUndoable):
        hall.pad2.undo_skip(2, "pad-2", first.ticket_id)  # not window 2's skip
    back = hall.pad3.undo_skip(3, "pad-3", first.ticket_id)
    assert (back.ticket_no, back.state, back.window_no) == ("A001", "called", 3)
    assert hall.pad3.window_view(3).current.ticket_no == "A001"
    assert waiting(hall.pad3, 3) == ["A002"]
    with pytest.raises(SkipNotUndoable):
        hall.pad3.undo_skip(3, "pad-3", first.ticket_id)  # no longer skipped
    kinds = [e.kind for e in hall.events() if e.kind in Kind.TICKETS]
    assert kinds[-2:] == [Kind.TICKET_SKIPPED, Kind.TICKET_SKIP_UNDONE]


def test_green_channel_and_the_special_window_go_first_and_say_why(hall: Hall) -> None:
    hall.issue("social")                       # A001 walk-in
    hall.issue("social", priority="special")   # A002 special group
    hall.issue("social", appointment="BK-7")   # A003 appointment
    hall.issue("social", priority="green")     # A004 绿色通道
    # Window 2 is the special-groups window; window 3 is not.
    assert eventually(hall.pad2, 2, ["A004", "A002", "A003", "A001"]) == [
        "A004", "A002", "A003", "A001"
    ]
    assert eventually(hall.pad3, 3, ["A004", "A003", "A001", "A002"]) == [
        "A004", "A003", "A001", "A002"
    ]


def test_the_undo_window_closes(tmp_path: Path) -> None:
    conn = journal.connect(tmp_path / "hall.db")
    clock = SimClock(HALL_OPENS)
    queue = HallQueue(conn, special_hall(), clock)
    queue.issue("social", "kiosk-1")
    queue.open_window(3, "pad-3", "007")
    ticket = queue.call_next(3, "pad-3")
    queue.skip(3, "pad-3")
    clock.advance(SKIP_UNDO_S + 1)
    with pytest.raises(SkipNotUndoable):
        queue.undo_skip(3, "pad-3", ticket.ticket_id)
    conn.close()


def test_a_paused_window_does_not_count_as_open_in_the_metrics(hall_db: Any) -> None:
    q = hall_db.queue
    q.open_window(1, "pad-1", "001")
    q.open_window(2, "pad-2", "002")
    q.pause_window(2, "pad-2", "午间休息")
    metrics = HallMetrics({hall_db.hall.hall_id: hall_db.hall})
    metrics.observe_all(p.event for p in journal.pending(hall_db.conn, 1000))
    now = hall_db.clock.now()
    assert metrics.snapshot("hall-demo", "social", now).open_windows == (1,)
    q.resume_window(2, "pad-2")
    metrics.observe_all(p.event for p in journal.pending(hall_db.conn, 1000))
    assert metrics.snapshot("hall-demo", "social", now).open_windows == (1, 2)


# --- the PAD's desk ---------------------------------------------------------------------


@pytest.fixture
def desk(hall_db: Any) -> Iterator[WindowDesk]:
    display = open_call_display("sim://call-display", "display-1")
    yield WindowDesk(hall_db.queue, 3, "pad-3", display, None, hall_db.clock)
    display.close()


def test_skip_asks_first_then_the_display_drops_the_number_and_undo_is_offered(
    desk: WindowDesk, hall_db: Any
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("007")
    desk.call()
    sim = simulator_of(desk.display)
    assert sim.board[0].ticket_no == "A001"
    asked = desk.ask_skip()
    assert asked.data["dialog"] == {"kind": "confirm_skip", "ticket_no": "A001"}
    assert desk.view().data["dialog"] is not None  # a redraw keeps the question open
    assert desk.view().data["current"]["ticket_no"] == "A001"  # nothing skipped yet
    done = desk.skip()
    assert done.data["current"] is None and done.data["dialog"] is None
    assert "A001 已过号" in done.data["notice"]
    assert done.data["undo"]["ticket_no"] == "A001"
    assert [r.ticket_no for r in sim.board] == []  # no longer the display's headline
    back = desk.undo_skip()
    assert back.error_key is None and back.data["current"]["ticket_no"] == "A001"
    assert back.data["undo"] is None


def test_the_desk_says_why_a_ticket_goes_first_and_where_it_came_from(
    desk: WindowDesk, hall_db: Any
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    hall_db.queue.issue("social", "kiosk-1", appointment="BK-1")
    hall_db.queue.issue("social", "kiosk-1", priority="green")
    screen = desk.sign_in("007")
    rows = [(w["ticket_no"], w["tags"]) for w in screen.data["waiting"]]
    assert rows == [("A003", ["绿色通道"]), ("A002", ["预约"]), ("A001", [])]
    assert desk.call().data["current"]["tags"] == ["绿色通道"]


def test_pause_with_a_reason_then_resume_and_sign_out(desk: WindowDesk, hall_db: Any) -> None:
    desk.sign_in("007")
    asked = desk.ask_pause()
    assert asked.data["dialog"]["kind"] == "pause" and "临时离开" in asked.data["dialog"]["reasons"]
    paused = desk.pause("临时离开")
    assert paused.data["paused"] and paused.data["pause_reason"] == "临时离开"
    refused = desk.call()
    assert refused.error_key == "window_paused"
    assert refused.data["error_hint"] == "暂停原因：临时离开"
    assert not desk.resume().data["paused"]
    out = desk.sign_out()
    assert out.error_key is None and not out.data["signed_in"]


def test_signing_out_with_a_citizen_at_the_window_says_which(
    desk: WindowDesk, hall_db: Any
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("007")
    desk.call()
    screen = desk.sign_out()
    assert screen.error_key == "ticket_in_service"
    assert screen.data["error_hint"] == "当前号码 A001 尚未办结"


def test_transfer_from_the_desk_offers_targets_and_clears_the_display(
    desk: WindowDesk, hall_db: Any
) -> None:
    hall_db.queue.issue("social", "kiosk-1")
    desk.sign_in("007")
    desk.call()
    dialog = desk.ask_transfer().data["dialog"]
    assert [s["code"] for s in dialog["services"]] == ["household", "business"]
    assert [w["no"] for w in dialog["windows"]] == [1, 2, 4]
    screen = desk.transfer(service="household")
    assert screen.data["current"] is None
    assert "A001 已转至户籍办理" in screen.data["notice"]
    assert simulator_of(desk.display).board == []
    assert [w["ticket_no"] for w in screen.data["waiting"]] == ["A001"]

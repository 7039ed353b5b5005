"""Appointments first: a ticket taken for a checked-in appointment is called before the walk-ins
a window serves, when the hall says so (``[queue] appointments_first``, the default); and the
hall box's own numbers step around the blocks it reserved for kiosks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.clock import SimClock, at_hall_time
from core.config import load_hall_config, parse_hall_config
from core.errors import ConfigError, OfflineTicketRefused
from core.events import Kind
from flows.queue import HallQueue, Ticket
from flows.ticket_numbers import OFFLINE_FIRST, RANGE_SIZE
from hallnet.client import RemoteHallQueue
from hallnet.devices import enrol
from hallnet.server import HallServer
from hallstore import journal

DAY = "2026-11-23"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(at_hall_time(DAY, "09:00"))


def hall_queue(tmp_path: Path, clock: SimClock, appointments_first: bool = True) -> HallQueue:
    hall = replace(load_hall_config(), appointments_first=appointments_first)
    return HallQueue(journal.connect(tmp_path / "hall.db"), hall, clock)


def called_in_order(queue: HallQueue, window: int, clock: SimClock) -> list[str]:
    queue.open_window(window, f"pad-{window}", "007")
    order = []
    while (ticket := queue.call_next(window, f"pad-{window}")) is not None:
        order.append(ticket.ticket_no)
        clock.advance(60)
        queue.finish(window, f"pad-{window}")
    return order


def test_an_appointment_is_called_before_the_walk_ins_who_came_earlier(
    tmp_path: Path, clock: SimClock
) -> None:
    queue = hall_queue(tmp_path, clock)
    for _ in range(2):
        queue.issue("social", "kiosk-1")
        clock.advance(30)
    booked = queue.issue("social", "kiosk-1", appointment="YY20261123-0042")
    clock.advance(30)
    queue.issue("social", "kiosk-1")
    assert booked.ticket.appointment and booked.ticket.ticket_no == "A003"
    assert [t.ticket_no for t in queue.window_view(1).waiting] == ["A003", "A001", "A002", "A004"]
    assert called_in_order(queue, 1, clock) == ["A003", "A001", "A002", "A004"]

    issued = [p.event for p in journal.pending(queue.conn, 100) if p.event.kind == Kind.TICKET_ISSUED]
    assert [e.data["appointment"] for e in issued] == [False, False, True, False]
    assert all("YY20261123" not in str(e.data) for e in issued)  # never the booking number


def test_a_hall_that_says_so_calls_everyone_by_arrival(tmp_path: Path, clock: SimClock) -> None:
    queue = hall_queue(tmp_path, clock, appointments_first=False)
    queue.issue("social", "kiosk-1")
    clock.advance(30)
    queue.issue("social", "kiosk-1", appointment="YY20261123-0042")
    assert called_in_order(queue, 1, clock) == ["A001", "A002"]


def test_the_queue_section_of_the_hall_config() -> None:
    raw = {
        "hall": {"id": "h", "name": "厅"},
        "services": [{"code": "s", "name": "业务", "prefix": "A"}],
        "windows": [{"no": 1, "services": ["s"]}],
    }
    assert parse_hall_config(raw).appointments_first is True
    assert parse_hall_config(raw | {"queue": {"appointments_first": False}}).appointments_first is False
    with pytest.raises(ConfigError):
        parse_hall_config(raw | {"queue": {"appointments_first": "yes"}})
    with pytest.raises(ConfigError):
        parse_hall_config(raw | {"queue": {"walk_ins_first": True}})


def test_the_hall_boxs_own_numbers_step_around_reserved_blocks(
    tmp_path: Path, clock: SimClock
) -> None:
    queue = hall_queue(tmp_path, clock)
    block = queue.reserve_range("social", "kiosk-1", DAY)
    assert (block.first, block.last) == (OFFLINE_FIRST, OFFLINE_FIRST + RANGE_SIZE - 1)
    assert queue.issue("social", "kiosk-3").ticket.ticket_no == "A001"
    queue.conn.execute(  # a very busy day: the own counter has come up to the band
        "UPDATE ticket_counter SET last = ? WHERE day = ? AND prefix = 'A'",
        (OFFLINE_FIRST - 2, DAY),
    )
    assert queue.issue("social", "kiosk-3").ticket.ticket_no == f"A{OFFLINE_FIRST - 1}"
    assert queue.issue("social", "kiosk-3").ticket.ticket_no == f"A{OFFLINE_FIRST + RANGE_SIZE}"
    # The next block starts past the own counter, so it can never hold a number issued already.
    assert queue.reserve_range("social", "kiosk-2", DAY).first == OFFLINE_FIRST + RANGE_SIZE + 1


def test_an_offline_ticket_is_taken_only_from_the_kiosks_own_block(
    tmp_path: Path, clock: SimClock
) -> None:
    queue = hall_queue(tmp_path, clock)
    queue.reserve_range("social", "kiosk-1", DAY)
    first = queue.issue("social", "kiosk-3").ticket

    offline = Ticket("t-1", f"A{OFFLINE_FIRST}", "social", first.issued_at - 60, "waiting")
    with pytest.raises(OfflineTicketRefused):
        queue.accept_offline(offline, DAY, "kiosk-2")  # not kiosk-2's block
    queued, added = queue.accept_offline(offline, DAY, "kiosk-1")
    assert added and queued.people_ahead == 0
    again, added = queue.accept_offline(offline, DAY, "kiosk-1")
    assert not added and again.ticket == queued.ticket
    assert [t.ticket_no for t in queue.window_view(1).waiting] == [f"A{OFFLINE_FIRST}", "A001"]


def test_an_offline_ticket_keeps_its_priority(tmp_path: Path, clock: SimClock) -> None:
    queue = hall_queue(tmp_path, clock)
    queue.reserve_range("social", "kiosk-1", DAY)
    queue.issue("social", "kiosk-3")  # A001, a walk-in who came first
    clock.advance(60)
    offline = Ticket("t-1", f"A{OFFLINE_FIRST}", "social", clock.now() - 30, "waiting")
    with pytest.raises(ValueError):
        queue.accept_offline(offline, DAY, "kiosk-1", priority="vip")
    queued, added = queue.accept_offline(offline, DAY, "kiosk-1", priority="green")
    assert added and queued.ticket.priority == "green"
    assert [t.ticket_no for t in queue.window_view(1).waiting] == [f"A{OFFLINE_FIRST}", "A001"]
    events = [p.event for p in journal.pending(queue.conn, 100)]
    issued = [e for e in events if e.kind == Kind.TICKET_ISSUED]
    assert [(e.data["priority"], e.data.get("offline")) for e in issued] == [
        (None, None),
        ("green", True),
    ]


def test_an_offline_ticket_of_a_closed_day_is_recorded_expired_once(
    tmp_path: Path, clock: SimClock
) -> None:
    queue = hall_queue(tmp_path, clock)
    queue.reserve_range("social", "kiosk-1", DAY)
    issued_at = clock.now()
    clock.set(at_hall_time("2026-11-24", "08:30"))  # the kiosk rejoins the next morning
    offline = Ticket("t-1", f"A{OFFLINE_FIRST}", "social", issued_at, "waiting")

    closed, added = queue.accept_offline(offline, DAY, "kiosk-1")
    assert added and closed.ticket.state == "skipped" and closed.people_ahead == 0
    assert closed.ticket.finished_at == at_hall_time("2026-11-24", "00:00") - 0.001
    assert queue.window_view(1).waiting == () and queue.waiting_count() == 0
    again, added = queue.accept_offline(offline, DAY, "kiosk-1")  # its answer was lost
    assert not added and again.ticket == closed.ticket

    events = [p.event for p in journal.pending(queue.conn, 100)]
    assert [(e.kind, e.seq, e.data.get("reason")) for e in events] == [
        (Kind.TICKET_ISSUED, 1, None),
        (Kind.TICKET_SKIPPED, 2, "expired"),
    ]
    assert events[0].at == issued_at and events[1].data["day"] == DAY
    # Today's first walk-in is today's A001, called as usual.
    assert queue.issue("social", "kiosk-3").ticket.ticket_no == "A001"
    assert called_in_order(queue, 1, clock) == ["A001"]


# --- over the hall API ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HallServer]:
    hall = load_hall_config()
    server = HallServer(hall, tmp_path / "hall.db", ("127.0.0.1", 0), tmp_path / "devices.json")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_kiosk_checks_in_an_appointment_and_the_pad_sees_it_first(
    server: HallServer, tmp_path: Path
) -> None:
    hall = load_hall_config()
    address = "{}:{}".format(*server.address)
    devices = tmp_path / "devices.json"
    kiosk_file = enrol(devices, tmp_path / "k.json", hall.hall_id, "kiosk-1", "kiosk", address)
    pad_file = enrol(devices, tmp_path / "p.json", hall.hall_id, "pad-1", "pad", address, 1)
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    pad = RemoteHallQueue(pad_file, hall).start()
    try:
        deadline = time.monotonic() + 10
        while not pad.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        kiosk.issue("social", "kiosk-1")
        booked = kiosk.issue("social", "kiosk-1", appointment="YY20261123-0042")
        assert booked.ticket.appointment
        deadline = time.monotonic() + 10  # the PAD's view follows the kiosk's pushes
        while [t.ticket_no for t in pad.window_view(1).waiting] != ["A002", "A001"]:
            assert time.monotonic() < deadline, pad.window_view(1)
            time.sleep(0.05)
        pad.open_window(1, "pad-1", "007")
        called = pad.call_next(1, "pad-1")
        assert called is not None and called.ticket_no == "A002"
    finally:
        pad.close()
        kiosk.close()

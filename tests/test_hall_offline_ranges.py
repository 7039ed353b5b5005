"""Two kiosks on their own machines issue numbers while cut off from the hall box, then rejoin
(``docs/hall-api.md``, "Offline within the hall").

The hall box's server runs in-process on a loopback port over a real hall database. Each kiosk
is a process of its own (:mod:`tests.hall_kiosk_process`: the real ticket flow over
:class:`hallnet.client.RemoteHallQueue`, its own disk, a simulated printer) that reaches the
hall box only through :class:`tests.tcp_proxy.TcpProxy`, which the test cuts. Meanwhile a third
kiosk with a direct line keeps issuing the hall box's own numbers, and a window PAD listens.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import SimClock, at_hall_time, business_day
from core.config import HallConfig, load_hall_config
from core.errors import HallBoxUnreachable
from core.events import Event, Kind
from flows.ticket_numbers import OFFLINE_FIRST, RANGE_SIZE
from hallnet.client import RemoteHallQueue
from hallnet.devices import DeviceFile, enrol
from hallnet.server import HallServer
from hallstore import journal
from tests.hall_kiosk_process import KioskProcess
from tests.tcp_proxy import BLACKHOLE, REFUSE, TcpProxy

WAIT_S = 20.0


def wait_for(predicate: Any, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def hall_journal(db: Path) -> list[Event]:
    conn = journal.connect(db)
    try:
        return [p.event for p in journal.pending(conn, 100_000)]
    finally:
        conn.close()


@dataclass
class Hall:
    server: HallServer
    hall: HallConfig
    db: Path
    proxy: TcpProxy
    kiosks: dict[str, KioskProcess]
    direct: RemoteHallQueue
    pad_file: DeviceFile
    pad: RemoteHallQueue

    def truth(self, window: int) -> dict[str, Any]:
        url = "http://{}:{}/v1/windows/{}".format(*self.server.address, window)
        auth = (self.pad_file.device_id, self.pad_file.secret)
        return dict(requests.get(url, auth=auth, timeout=5).json())


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    direct_address = "{}:{}".format(*server.address)
    proxy = TcpProxy(server.address, lifetime=240).start()
    kiosks: dict[str, KioskProcess] = {}
    direct = pad = None
    try:
        for name in ("kiosk-1", "kiosk-2"):
            file = tmp_path / name / "device.json"
            enrol(devices, file, hall.hall_id, name, "kiosk", proxy.hall_box)
            kiosks[name] = KioskProcess(file, tmp_path / f"{name}.log")
        direct_file = enrol(
            devices, tmp_path / "kiosk-3.json", hall.hall_id, "kiosk-3", "kiosk", direct_address
        )
        pad_file = enrol(
            devices, tmp_path / "pad-3.json", hall.hall_id, "pad-3", "pad", direct_address, 3
        )
        # kiosk-3 has no data directory: it issues only through the hall box, its own numbers.
        direct = RemoteHallQueue(direct_file, hall, listen=False).start()
        pad = RemoteHallQueue(pad_file, hall).start()
        yield Hall(server, hall, db, proxy, kiosks, direct, pad_file, pad)
    finally:
        for kiosk in kiosks.values():
            kiosk.stop()
        for client in (pad, direct):
            if client is not None:
                client.close()
        proxy.close()
        server.stop()


@pytest.mark.parametrize("mode", [REFUSE, BLACKHOLE])
def test_two_kiosks_cut_off_issue_unique_numbers_and_rejoin_in_issue_order(
    hall: Hall, mode: str
) -> None:
    k1, k2 = hall.kiosks["kiosk-1"], hall.kiosks["kiosk-2"]
    services = [s.code for s in hall.hall.services]
    # Ahead of time, while the line is up: each kiosk holds a block per service for today.
    for kiosk in (k1, k2):
        kiosk.wait_status(
            lambda s: s["connected"] and all(s["left"][c] == RANGE_SIZE for c in services)
        )
    assert wait_for(lambda: hall.pad.connected)

    taken: list[str] = []  # every number a citizen got, in the order they took them

    def take(who: KioskProcess | RemoteHallQueue, service: str = "social") -> str:
        # Citizens come seconds apart; a kiosk knows the hall box's clock to a few ms (half a
        # round trip), so takes within the same millisecond would have no order to keep.
        time.sleep(0.05)
        if isinstance(who, RemoteHallQueue):
            number = who.issue(service, "kiosk-3").ticket.ticket_no
        else:
            screen = who.take(service)
            assert screen["error_key"] is None and screen["printed"], screen
            number = screen["ticket_no"]
        taken.append(number)
        return number

    assert take(k1) == "A001"
    assert take(k2) == "A002"

    # --- the line between the two kiosks and the hall box goes ------------------------------
    hall.proxy.cut(mode)
    for kiosk in (k1, k2):
        kiosk.wait_status(lambda s: not s["connected"])
    offline = [
        take(k1),
        take(k2),
        take(hall.direct),  # the hall box's own next number, meanwhile
        take(k1, "household"),
        take(k2),
        take(k1),
        take(hall.direct),
        take(k2, "business"),
    ]
    assert offline[2] == "A003" and offline[6] == "A004"  # the hall box's own, uninterrupted
    assert len(set(taken)) == len(taken), f"a number was issued twice: {taken}"
    # Each kiosk issued from its own block of the band: consecutive numbers, blocks apart.
    blocks = {OFFLINE_FIRST, OFFLINE_FIRST + RANGE_SIZE}
    one, two = [int(offline[i][1:]) for i in (0, 5)], [int(offline[i][1:]) for i in (1, 4)]
    assert one[1] == one[0] + 1 and two[1] == two[0] + 1, offline
    assert {one[0], two[0]} == blocks, offline
    assert int(offline[3][1:]) in blocks and offline[3].startswith("B")
    assert int(offline[7][1:]) in blocks and offline[7].startswith("C")
    for kiosk in (k1, k2):  # the offline tickets wait on the kiosks' own disks
        assert kiosk.status()["pending_tickets"] == 3
    issued_at_box = {
        e.data["ticket_no"] for e in hall_journal(hall.db) if e.kind == Kind.TICKET_ISSUED
    }
    assert issued_at_box == {"A001", "A002", "A003", "A004"}

    # --- the line comes back: the kiosks rejoin by themselves and catch the hall box up -----
    hall.proxy.restore()
    for kiosk in (k1, k2):
        kiosk.wait_status(
            lambda s: s["connected"]
            and s["pending_tickets"] == 0
            and all(s["left"][c] >= 10 for c in services)
        )

    # Every number is unique and in the hall box's queue, in the order citizens took them.
    social = [n for n in taken if n.startswith("A")]
    truth = hall.truth(1)  # window 1 serves social only
    assert [t["ticket_no"] for t in truth["waiting"]] == social
    everything = [t["ticket_no"] for t in hall.truth(3)["waiting"]]  # window 3 serves all
    assert everything == taken
    issued_times = [t["issued_at"] for t in hall.truth(3)["waiting"]]
    assert issued_times == sorted(issued_times)
    # The PAD's own copy of the queue, built from pushes, agrees.
    assert wait_for(lambda: [t.ticket_no for t in hall.pad.window_view(3).waiting] == taken)

    # The hall journal: each ticket issued once, each device's seqs without a gap.
    events = hall_journal(hall.db)
    issued = Counter(e.data["ticket_no"] for e in events if e.kind == Kind.TICKET_ISSUED)
    assert issued == Counter(taken), issued
    offline_issued = {
        e.data["ticket_no"]
        for e in events
        if e.kind == Kind.TICKET_ISSUED and e.data.get("offline")
    }
    assert offline_issued == set(offline) - {"A003", "A004"}
    seqs: dict[str, list[int]] = {}
    for e in events:
        seqs.setdefault(e.device_id, []).append(e.seq)
    for device, found in seqs.items():
        assert found == list(range(1, len(found) + 1)), (device, found)
    assert len({e.event_id for e in events}) == len(events)

    # The window calls them in that order.
    hall.pad.open_window(3, "pad-3", "007")
    called = []
    for _ in range(3):
        ticket = hall.pad.call_next(3, "pad-3")
        assert ticket is not None
        called.append(ticket.ticket_no)
        hall.pad.finish(3, "pad-3")
    assert called == taken[:3]


def test_a_pad_restarted_while_cut_off_still_delivers_the_rating_it_kept(tmp_path: Path) -> None:
    """A PAD cut off refuses to call, and a rating pressed meanwhile is kept on its own disk:
    the PAD app restarted before the line returns still delivers it, once."""
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    proxy = TcpProxy(server.address, lifetime=120).start()
    direct = "{}:{}".format(*server.address)
    kiosk_file = enrol(devices, tmp_path / "k.json", hall.hall_id, "kiosk-1", "kiosk", direct)
    pad_path = tmp_path / "pad-3" / "device.json"
    enrol(devices, pad_path, hall.hall_id, "pad-3", "pad", proxy.hall_box, 3)
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    pad = RemoteHallQueue(DeviceFile.read(pad_path), hall).start()
    try:
        assert wait_for(lambda: pad.connected)
        kiosk.issue("social", "kiosk-1")
        pad.open_window(3, "pad-3", "007")
        called = pad.call_next(3, "pad-3")
        assert called is not None
        done = pad.finish(3, "pad-3")

        proxy.cut(REFUSE)
        assert wait_for(lambda: not pad.connected)
        with pytest.raises(HallBoxUnreachable):
            pad.call_next(3, "pad-3")  # refused while cut off
        pad.record_rating(done, 5, "rating-pad-3")  # kept on the PAD's disk
        pad.close()  # the PAD app restarts before the line is back

        proxy.restore()
        pad = RemoteHallQueue(DeviceFile.read(pad_path), hall).start()
        ratings = lambda: [  # noqa: E731
            e for e in hall_journal(db) if e.kind == Kind.RATING_SUBMITTED
        ]
        assert wait_for(lambda: len(ratings()) == 1)
        time.sleep(0.5)
        assert [(e.data["ticket_no"], e.data["level"]) for e in ratings()] == [("A001", 5)]
    finally:
        pad.close()
        kiosk.close()
        proxy.close()
        server.stop()


def test_a_ticket_whose_answer_was_lost_is_withdrawn_for_the_offline_one(tmp_path: Path) -> None:
    """The hall box issued a ticket but the kiosk never heard: the citizen got an offline number
    instead, and when it reaches the hall box the ticket nobody holds is closed, not called."""
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    proxy = TcpProxy(server.address, lifetime=120).start()
    path = tmp_path / "kiosk-1" / "device.json"
    enrol(devices, path, hall.hall_id, "kiosk-1", "kiosk", proxy.hall_box)
    kiosk = RemoteHallQueue(DeviceFile.read(path), hall).start()
    try:
        assert kiosk.offline is not None and kiosk.uplink is not None
        assert wait_for(lambda: kiosk.connected and kiosk.uplink is not None and kiosk.uplink.sync())
        assert kiosk.issue("social", "kiosk-1").ticket.ticket_no == "A001"
        proxy.cut_after_request(b"POST /v1/tickets ", REFUSE)
        offline = kiosk.issue("social", "kiosk-1")  # the hall box issued A002; nobody heard
        assert proxy.tripped.is_set()
        assert offline.ticket.ticket_no == f"A{OFFLINE_FIRST}"
        # The offline ticket took the unanswered request's key over, on disk in one commit:
        # no later tap may reuse it and be handed the ticket that is about to be withdrawn.
        local = sqlite3.connect(path.parent / "hall-local.db")
        try:
            assert local.execute("SELECT COUNT(*) FROM unsettled").fetchone()[0] == 0
            assert local.execute("SELECT replaces FROM offline_tickets").fetchone()[0]
        finally:
            local.close()
        proxy.restore()
        assert wait_for(lambda: kiosk.connected and not kiosk.offline.pending())
        skipped = [e for e in hall_journal(db) if e.kind == Kind.TICKET_SKIPPED]
        assert [(e.data["ticket_no"], e.data["reason"]) for e in skipped] == [("A002", "replaced")]
        url = "http://{}:{}/v1/windows/1".format(*server.address)
        auth = ("kiosk-1", DeviceFile.read(path).secret)
        waiting = requests.get(url, auth=auth, timeout=5).json()["waiting"]
        assert [t["ticket_no"] for t in waiting] == ["A001", f"A{OFFLINE_FIRST}"]
    finally:
        kiosk.close()
        proxy.close()
        server.stop()


def test_an_offline_tickets_priority_is_kept_on_the_kiosk_and_queued_by_the_hall_box(
    tmp_path: Path,
) -> None:
    """A 绿色通道 ticket issued while cut off keeps its priority on the kiosk's disk (also across
    a restart of the kiosk app), is uploaded with it, and the hall box calls it first."""
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    proxy = TcpProxy(server.address, lifetime=120).start()
    direct = "{}:{}".format(*server.address)
    path = tmp_path / "kiosk-1" / "device.json"
    enrol(devices, path, hall.hall_id, "kiosk-1", "kiosk", proxy.hall_box)
    pad_file = enrol(devices, tmp_path / "p.json", hall.hall_id, "pad-1", "pad", direct, 1)
    kiosk = RemoteHallQueue(DeviceFile.read(path), hall).start()
    pad = RemoteHallQueue(pad_file, hall).start()
    try:
        assert kiosk.uplink is not None
        uplink = kiosk.uplink
        assert wait_for(lambda: kiosk.connected and uplink.sync())
        assert kiosk.issue("social", "kiosk-1").ticket.ticket_no == "A001"  # a walk-in, online
        assert kiosk.waiting_count() == 1  # its push is in the kiosk's view before the cut

        proxy.cut(REFUSE)
        assert wait_for(lambda: not kiosk.connected)
        green = kiosk.issue("social", "kiosk-1", priority="green")
        walk_in = kiosk.issue("social", "kiosk-1")
        assert (green.ticket.ticket_no, green.ticket.priority) == (f"A{OFFLINE_FIRST}", "green")
        assert (walk_in.ticket.ticket_no, walk_in.ticket.priority) == (
            f"A{OFFLINE_FIRST + 1}",
            None,
        )
        # The kiosk's estimate: nobody goes before a green ticket; the walk-in waits for both.
        assert (green.people_ahead, walk_in.people_ahead) == (0, 2)

        kiosk.close()  # the kiosk app restarts while still cut off: its disk has the priority
        kiosk = RemoteHallQueue(DeviceFile.read(path), hall).start()
        assert kiosk.offline is not None
        kept = {o.ticket.ticket_no: o.ticket.priority for o in kiosk.offline.pending()}
        assert kept == {f"A{OFFLINE_FIRST}": "green", f"A{OFFLINE_FIRST + 1}": None}

        proxy.restore()
        assert wait_for(lambda: kiosk.connected and not kiosk.offline.pending())
        order = [f"A{OFFLINE_FIRST}", "A001", f"A{OFFLINE_FIRST + 1}"]
        url = "http://{}:{}/v1/windows/1".format(*server.address)
        truth = requests.get(url, auth=("pad-1", pad_file.secret), timeout=5).json()
        assert [(t["ticket_no"], t["priority"]) for t in truth["waiting"]] == list(
            zip(order, ["green", None, None])
        )
        assert wait_for(lambda: [t.ticket_no for t in pad.window_view(1).waiting] == order)
        issued = [e for e in hall_journal(db) if e.kind == Kind.TICKET_ISSUED]
        marks = [(e.data["ticket_no"], e.data["priority"], e.data.get("offline")) for e in issued]
        assert marks == [
            ("A001", None, None),
            (f"A{OFFLINE_FIRST}", "green", True),
            (f"A{OFFLINE_FIRST + 1}", None, True),
        ]
        pad.open_window(1, "pad-1", "007")
        called = pad.call_next(1, "pad-1")
        assert called is not None and called.ticket_no == f"A{OFFLINE_FIRST}"
    finally:
        pad.close()
        kiosk.close()
        proxy.close()
        server.stop()


def test_a_ticket_of_a_day_that_closed_while_the_kiosk_was_cut_off_is_recorded_expired(
    tmp_path: Path,
) -> None:
    """A kiosk cut off in the late afternoon issues a number of that day and, the next morning,
    still cut off, one of the new day. When it rejoins, the hall box queues the morning's
    ticket, and records yesterday's with its own day, closed unserved (``expired``) and
    journaled once, dated within its day: nobody is called today for yesterday's number."""
    day, next_day = "2026-11-23", "2026-11-24"
    clock = SimClock(at_hall_time(day, "16:50"))
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices, clock=clock).start()
    proxy = TcpProxy(server.address, lifetime=120).start()
    direct = "{}:{}".format(*server.address)
    path = tmp_path / "kiosk-1" / "device.json"
    enrol(devices, path, hall.hall_id, "kiosk-1", "kiosk", proxy.hall_box)
    pad_file = enrol(devices, tmp_path / "p.json", hall.hall_id, "pad-1", "pad", direct, 1)
    kiosk = RemoteHallQueue(DeviceFile.read(path), hall).start()
    pad = RemoteHallQueue(pad_file, hall).start()
    try:
        assert kiosk.offline is not None and kiosk.uplink is not None
        uplink = kiosk.uplink
        assert wait_for(lambda: kiosk.connected and uplink.sync())
        assert kiosk.offline.left(next_day, "social") == RANGE_SIZE  # reserved ahead of time

        proxy.cut(REFUSE)
        assert wait_for(lambda: not kiosk.connected)
        late = kiosk.issue("social", "kiosk-1", priority="green").ticket
        # The night passes on both machines; cut off, the kiosk hears nothing of it.
        night = at_hall_time(next_day, "09:00") - clock.now()
        clock.advance(night)
        kiosk.clock.offset += night
        morning = kiosk.issue("social", "kiosk-1").ticket
        number = f"A{OFFLINE_FIRST}"  # the first of each day's block: two days, one number
        assert (late.ticket_no, business_day(late.issued_at)) == (number, day)
        assert (morning.ticket_no, business_day(morning.issued_at)) == (number, next_day)

        proxy.restore()
        assert wait_for(lambda: kiosk.connected and not kiosk.offline.pending())
        time.sleep(0.5)  # nothing more may follow

        # Today's queue holds today's ticket only: the PAD calls it, not yesterday's.
        url = "http://{}:{}/v1/windows/1".format(*server.address)
        truth = requests.get(url, auth=("pad-1", pad_file.secret), timeout=5).json()
        assert [t["ticket_id"] for t in truth["waiting"]] == [morning.ticket_id]
        assert wait_for(
            lambda: [t.ticket_id for t in pad.window_view(1).waiting] == [morning.ticket_id]
        )
        pad.open_window(1, "pad-1", "007")
        called = pad.call_next(1, "pad-1")
        assert called is not None and called.ticket_id == morning.ticket_id
        assert pad.finish(1, "pad-1").ticket_id == morning.ticket_id
        assert pad.call_next(1, "pad-1") is None  # yesterday's ticket is not waiting

        # The hall box recorded yesterday's ticket with its own day, closed unserved.
        conn = sqlite3.connect(db)
        try:
            row = conn.execute(
                "SELECT day, state, priority, window_no, called_at, finished_at FROM tickets"
                " WHERE ticket_id = ?",
                (late.ticket_id,),
            ).fetchone()
        finally:
            conn.close()
        assert row[:5] == (day, "skipped", "green", None, None)
        assert business_day(row[5]) == day and row[5] >= late.issued_at

        # Journaled once each, in its own day; the kiosk's seqs without a gap.
        events = hall_journal(db)
        mine = [e for e in events if e.data.get("ticket_id") == late.ticket_id]
        assert [e.kind for e in mine] == [Kind.TICKET_ISSUED, Kind.TICKET_SKIPPED]
        assert mine[0].data["offline"] is True and mine[0].data["priority"] == "green"
        assert (mine[1].data["reason"], mine[1].data["day"]) == ("expired", day)
        assert [business_day(e.at) for e in mine] == [day, day]
        assert mine[1].at == mine[1].data["finished_at"] == row[5]
        kiosk_seqs = [e.seq for e in events if e.device_id == "kiosk-1"]
        assert kiosk_seqs == list(range(1, len(kiosk_seqs) + 1))
        assert len(kiosk_seqs) == 3  # late: issued, expired; morning: issued; nothing else
        assert Counter(e.event_id for e in events).most_common(1)[0][1] == 1
    finally:
        pad.close()
        kiosk.close()
        proxy.close()
        server.stop()

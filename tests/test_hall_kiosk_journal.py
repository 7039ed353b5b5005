"""A kiosk on its own machine journals its transactions on its own disk, and they reach the
hall journal (and from there the collector) exactly once, even when the kiosk is killed in the
middle of handing them over (``docs/hall-api.md``, "Where transactions live").

The hall box's server runs in-process over a real hall database; the kiosk is a process of its
own (:mod:`tests.hall_kiosk_process`) reaching it through :class:`tests.tcp_proxy.TcpProxy`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.clock import SystemClock
from core.config import HallConfig, load_hall_config
from core.events import Event, Kind
from flows.transactions import transaction_event, transaction_journal_for
from hallnet.client import RemoteHallQueue
from hallnet.devices import DeviceFile, enrol
from hallnet.local_store import FILE_NAME
from hallnet.server import HallServer
from hallstore import journal
from tests.hall_kiosk_process import KioskProcess
from tests.tcp_proxy import REFUSE, TcpProxy

JOURNAL = b"POST /v1/journal"


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@dataclass
class Hall:
    server: HallServer
    hall: HallConfig
    db: Path
    devices: Path
    work: Path

    def events(self, device_id: str) -> list[Event]:
        conn = journal.connect(self.db)
        try:
            found = [p.event for p in journal.pending(conn, 100_000)]
        finally:
            conn.close()
        return [e for e in found if e.device_id == device_id]


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    try:
        yield Hall(server, hall, db, devices, tmp_path)
    finally:
        server.stop()


def on_kiosk_disk(data_dir: Path) -> list[str]:
    """The event ids the kiosk's own journal still holds, read from its file."""
    conn = sqlite3.connect(data_dir / FILE_NAME)
    try:
        return [r[0] for r in conn.execute("SELECT event_id FROM kiosk_journal ORDER BY seq")]
    finally:
        conn.close()


def test_transactions_reach_the_hall_journal_once_across_a_kill_mid_upload(hall: Hall) -> None:
    proxy = TcpProxy(hall.server.address, lifetime=180).start()
    data_dir = hall.work / "kiosk-1"
    file = data_dir / "device.json"
    enrol(hall.devices, file, hall.hall.hall_id, "kiosk-1", "kiosk", proxy.hall_box)
    kiosk = KioskProcess(file, hall.work / "kiosk-1.log")
    try:
        kiosk.wait_status(lambda s: s["connected"])
        assert kiosk.take("social")["ticket_no"] == "A001"  # a queue event of kiosk-1 first

        # --- cut off, citizens pay their bills: each on the kiosk's disk before "done" ------
        proxy.cut(REFUSE)
        kiosk.wait_status(lambda s: not s["connected"])
        recorded = [kiosk.ask(op="record", ref=f"order-{i}")["event_id"] for i in range(3)]
        assert on_kiosk_disk(data_dir) == recorded
        assert [e.kind for e in hall.events("kiosk-1")] == [Kind.TICKET_ISSUED]

        # --- the line returns; the hall box journals the upload, the kiosk dies unanswered --
        proxy.restore()
        proxy.cut_after_request(JOURNAL, REFUSE)
        assert proxy.tripped.wait(30), "the kiosk never forwarded its journal"
        kiosk.kill()
        forwarded = [e.event_id for e in hall.events("kiosk-1") if e.kind == Kind.KIOSK_TRANSACTION]
        assert forwarded == recorded  # on the hall box's disk …
        assert on_kiosk_disk(data_dir) == recorded  # … and still on the kiosk's: it never heard

        # --- the kiosk starts again and hands its journal over: nothing twice ---------------
        proxy.restore()
        kiosk = KioskProcess(file, hall.work / "kiosk-1.log")
        kiosk.wait_status(lambda s: s["connected"] and s["journal_backlog"] == 0)
        assert on_kiosk_disk(data_dir) == []
        recorded.append(kiosk.ask(op="record", ref="order-3")["event_id"])  # and on it goes
        kiosk.wait_status(lambda s: s["journal_backlog"] == 0)
    finally:
        kiosk.stop()
        proxy.close()

    events = hall.events("kiosk-1")
    assert [e.event_id for e in events if e.kind == Kind.KIOSK_TRANSACTION] == recorded
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gap, no repeat
    payments = [e for e in events if e.kind == Kind.KIOSK_TRANSACTION]
    assert [e.data["ref"] for e in payments] == ["order-0", "order-1", "order-2", "order-3"]
    assert all(e.hall_id == hall.hall.hall_id for e in events)


def test_a_kiosk_journal_refuses_the_queues_kinds_and_needs_its_own_id(
    hall: Hall, tmp_path: Path
) -> None:
    file = tmp_path / "kiosk-2" / "device.json"
    address = "{}:{}".format(*hall.server.address)
    enrol(hall.devices, file, hall.hall.hall_id, "kiosk-2", "kiosk", address)
    queue = RemoteHallQueue(DeviceFile.read(file), hall.hall, listen=False).start()
    try:
        kiosk_journal = transaction_journal_for(queue, "kiosk-2", SystemClock())
        with pytest.raises(ValueError):
            kiosk_journal.record(Kind.TICKET_ISSUED, {"ticket_no": "A001"})
        event = kiosk_journal.record(
            Kind.KIOSK_TRANSACTION, transaction_event("certificate", "done", item="no_house")
        )
        assert queue.uplink is not None
        assert wait_for(lambda: queue.uplink is not None and queue.uplink.sync())
        journaled = hall.events("kiosk-2")
        assert [(e.event_id, e.kind, e.at) for e in journaled] == [
            (event.event_id, Kind.KIOSK_TRANSACTION, event.at)
        ]
    finally:
        queue.close()

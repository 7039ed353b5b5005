"""The LAN between a PAD and the hall box fails mid-request (``docs/hall-api.md``, Faults).

The hall box's server runs in-process on a loopback port over a real hall database; the PAD is
a headless :class:`flows.window_desk.WindowDesk` over :class:`hallnet.client.RemoteHallQueue`
with a ``sim://call-display``, reaching the hall box only through
:class:`tests.tcp_proxy.TcpProxy`. A kiosk client reaches the hall box directly.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import SystemClock
from core.config import HallConfig, load_hall_config
from core.errors import HallBoxUnreachable
from core.events import Kind
from core.strings_zh import error_text
from devices.call_display import CallDisplay
from devices.open import open_call_display
from flows.window_desk import WindowDesk
from hallnet.client import RemoteHallQueue
from hallnet.devices import DeviceFile, enrol
from hallnet.server import HallServer
from hallstore import journal
from hardware_sim import simulator_of
from tests.tcp_proxy import BLACKHOLE, REFUSE, TcpProxy

WAIT_S = 15.0
CALL = b"POST /v1/windows/3/call"


def wait_for(predicate: Any, timeout: float = WAIT_S) -> bool:
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
    proxy: TcpProxy
    kiosk: RemoteHallQueue
    pad_file: DeviceFile
    pad: RemoteHallQueue
    display: CallDisplay
    desk: WindowDesk

    def called(self, ticket_no: str) -> int:
        """``ticket.called`` events in the hall journal for ``ticket_no``."""
        conn = journal.connect(self.db)
        try:
            events = [p.event for p in journal.pending(conn, 10_000)]
        finally:
            conn.close()
        kind = Kind.TICKET_CALLED
        return sum(1 for e in events if e.kind == kind and e.data.get("ticket_no") == ticket_no)

    def truth(self) -> dict[str, Any]:
        """Window 3 as the hall box has it, asked directly (not through the proxy)."""
        url = "http://{}:{}/v1/windows/3".format(*self.server.address)
        auth = (self.pad_file.device_id, self.pad_file.secret)
        return dict(requests.get(url, auth=auth, timeout=5).json())

    def call_keys(self) -> list[str]:
        """The Idempotency-Key of every 叫号 request that went through the proxy."""
        keys = []
        for chunk in list(self.proxy.sent):
            if CALL in chunk:
                found = re.search(rb"Idempotency-Key: ([A-Za-z0-9._:-]+)", chunk)
                assert found, chunk
                keys.append(found.group(1).decode())
        return keys


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    direct = "{}:{}".format(*server.address)
    proxy = TcpProxy(server.address, lifetime=120).start()
    kiosk_file = enrol(devices, tmp_path / "kiosk-1.json", hall.hall_id, "kiosk-1", "kiosk", direct)
    pad_file = enrol(
        devices, tmp_path / "pad-3.json", hall.hall_id, "pad-3", "pad", proxy.hall_box, 3
    )
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    pad = RemoteHallQueue(pad_file, hall).start()
    display = open_call_display("sim://call-display", "call-display")
    desk = WindowDesk(pad, 3, "pad-3", display, None, SystemClock())
    try:
        yield Hall(server, hall, db, proxy, kiosk, pad_file, pad, display, desk)
    finally:
        pad.close()
        kiosk.close()
        display.close()
        proxy.close()
        server.stop()


@pytest.mark.parametrize("mode", [REFUSE, BLACKHOLE])
def test_a_call_cut_off_mid_request_stands_and_the_pad_shows_the_truth(
    hall: Hall, mode: str
) -> None:
    desk, pad, proxy = hall.desk, hall.pad, hall.proxy
    display = simulator_of(hall.display)
    assert wait_for(lambda: pad.connected)
    assert desk.sign_in("007").error_key is None
    for _ in range(2):
        hall.kiosk.issue("social", "kiosk-1")  # A001, A002: a second call would take A002
    assert wait_for(lambda: desk.view().data["waiting_count"] == 2)

    # --- 叫号: the hall box calls A001, the answer never reaches the PAD ------------------------
    proxy.cut_after_request(CALL, mode)
    screen = desk.call()
    assert proxy.tripped.is_set(), "the call request never went through the proxy"
    assert screen.error_key == HallBoxUnreachable.key
    assert error_text(screen.error_key).startswith("与服务器连接中断")
    assert screen.data["current"] is None, "the PAD claims a call it never heard of"
    assert display.calls == [], "the PAD announced a call it never heard of"
    truth = hall.truth()
    assert truth["current"]["ticket_no"] == "A001"  # the call stands at the hall box
    assert [t["ticket_no"] for t in truth["waiting"]] == ["A002"]
    assert hall.called("A001") == 1
    assert wait_for(lambda: not pad.connected), "the PAD did not notice the cut"
    assert desk.view().data["current"] is None  # the last known view, while cut

    # --- the line comes back: the PAD reconnects by itself and shows the truth ---------------
    proxy.restore()
    assert wait_for(lambda: pad.connected), "the PAD did not reconnect by itself"
    assert wait_for(lambda: (desk.view().data["current"] or {}).get("ticket_no") == "A001")
    assert desk.view().data["waiting_count"] == 1
    assert display.calls == []

    # --- the same tap again: the same key, the hall box's first answer, no second call -------
    screen = desk.call()
    assert screen.error_key is None, screen
    assert screen.data["current"]["ticket_no"] == "A001"
    assert [(c.ticket_no, c.window_no, c.recall) for c in display.calls] == [("A001", 3, False)]
    keys = hall.call_keys()
    assert len(keys) == 2 and keys[0] == keys[1], keys
    assert hall.called("A001") == 1
    assert hall.called("A002") == 0
    truth = hall.truth()
    assert truth["current"]["ticket_no"] == "A001"
    assert [t["ticket_no"] for t in truth["waiting"]] == ["A002"]


def test_a_pad_restarted_during_the_outage_repeats_its_call_with_the_same_key(
    tmp_path: Path,
) -> None:
    """The answer to a 叫号 is lost, and the PAD app is restarted before the line returns: the
    restarted PAD reads the unanswered call's key off its own disk, repeats the 叫号 with it,
    and the hall box answers with the ticket it called the first time; no second citizen."""
    hall = load_hall_config()
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    direct = "{}:{}".format(*server.address)
    proxy = TcpProxy(server.address, lifetime=120).start()
    kiosk_file = enrol(devices, tmp_path / "k.json", hall.hall_id, "kiosk-1", "kiosk", direct)
    pad_path = tmp_path / "pad-3" / "device.json"  # its data directory: tmp_path / "pad-3"
    enrol(devices, pad_path, hall.hall_id, "pad-3", "pad", proxy.hall_box, 3)
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    display = open_call_display("sim://call-display", "call-display")
    calls = simulator_of(display).calls
    pad_file = DeviceFile.read(pad_path)
    pad = RemoteHallQueue(pad_file, hall).start()
    desk = WindowDesk(pad, 3, "pad-3", display, None, SystemClock())
    # For its views of the hall box's truth, the journal and the proxied keys.
    the_hall = Hall(server, hall, db, proxy, kiosk, pad_file, pad, display, desk)
    try:
        assert wait_for(lambda: pad.connected)
        assert desk.sign_in("007").error_key is None
        for _ in range(2):
            kiosk.issue("social", "kiosk-1")  # A001, A002: a second call would take A002
        assert wait_for(lambda: desk.view().data["waiting_count"] == 2)

        # --- 叫号: the hall box calls A001, the answer never reaches the PAD ------------------
        proxy.cut_after_request(CALL, REFUSE)
        screen = desk.call()
        assert proxy.tripped.is_set(), "the call request never went through the proxy"
        assert screen.error_key == HallBoxUnreachable.key
        assert the_hall.truth()["current"]["ticket_no"] == "A001"
        assert calls == []
        local = sqlite3.connect(pad_path.parent / "hall-local.db")
        try:
            on_disk = local.execute("SELECT key, path FROM unsettled").fetchall()
        finally:
            local.close()
        assert on_disk == [(the_hall.call_keys()[0], "/windows/3/call")]

        # --- the PAD app restarts while the line is still down -------------------------------
        pad.close()
        pad = RemoteHallQueue(DeviceFile.read(pad_path), hall).start()
        desk = WindowDesk(pad, 3, "pad-3", display, None, SystemClock())
        proxy.restore()
        assert wait_for(lambda: pad.connected), "the restarted PAD did not connect"

        # --- the same tap: the same key, the hall box's first answer, announced once ---------
        screen = desk.call()
        assert screen.error_key is None, screen
        assert screen.data["current"]["ticket_no"] == "A001"
        assert [(c.ticket_no, c.window_no, c.recall) for c in calls] == [("A001", 3, False)]
        keys = the_hall.call_keys()
        assert len(keys) == 2 and keys[0] == keys[1], keys
        assert (the_hall.called("A001"), the_hall.called("A002")) == (1, 0)
        truth = the_hall.truth()
        assert truth["current"]["ticket_no"] == "A001"
        assert [t["ticket_no"] for t in truth["waiting"]] == ["A002"]

        # --- settled: the next 叫号 after 办结 is a new request, for the next citizen --------
        assert desk.finish().error_key is None
        screen = desk.call()
        assert screen.data["current"]["ticket_no"] == "A002"
        keys = the_hall.call_keys()
        assert len(keys) == 3 and keys[2] != keys[0], keys
        assert (the_hall.called("A001"), the_hall.called("A002")) == (1, 1)
    finally:
        pad.close()
        kiosk.close()
        display.close()
        proxy.close()
        server.stop()

"""The hall box is killed (SIGKILL) and started again while a PAD on its own machine is using
it: the PAD notices, keeps its last view, refuses nothing silently, reconnects by itself with
``Last-Event-ID``, sees the truth, and the hall journal has every event once.

The hall box is a real ``python main.py agent --serve-hall …`` process; its MQTT broker is a
port nobody listens on, so the publisher keeps every event in the outbox and the test can count
them all. The PAD is :class:`hallnet.client.RemoteHallQueue` with its event listener, headless.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from core.config import load_hall_config
from core.errors import HallBoxUnreachable
from core.events import Kind
from hallnet.client import RemoteHallQueue
from hallnet.devices import DeviceFile, enrol
from hallstore import journal
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
START_S = 60.0


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


class HallBoxProcess:
    """``python main.py agent --serve-hall`` as a process that can be killed and restarted."""

    def __init__(self, work: Path, port: int) -> None:
        self.work = work
        self.port = port
        self.db = work / "hall.db"
        self.devices = work / "hall-devices.json"
        self.log = work / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, probe: DeviceFile) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "main.py",
                    "agent",
                    "--mqtt",
                    f"127.0.0.1:{free_port()}",  # no broker: the outbox keeps every event
                    "--hall-db",
                    str(self.db),
                    "--serve-hall",
                    f"127.0.0.1:{self.port}",
                    "--devices",
                    str(self.devices),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        assert wait_for(lambda: self._answers(probe), START_S), self.log.read_text()[-3000:]

    def _answers(self, probe: DeviceFile) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
        try:
            url = f"http://127.0.0.1:{self.port}/v1/hall"
            return requests.get(url, auth=(probe.device_id, probe.secret), timeout=1).ok
        except requests.RequestException:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def hall_box(tmp_path: Path) -> Iterator[HallBoxProcess]:
    box = HallBoxProcess(tmp_path, free_port())
    try:
        yield box
    finally:
        box.stop()


def journaled(db: Path) -> Counter[tuple[str, str]]:
    """Every event in the hall journal, as (kind, ticket or device) with its count."""
    conn = journal.connect(db)
    try:
        events = [p.event for p in journal.pending(conn, 100_000)]
    finally:
        conn.close()
    return Counter((e.kind, str(e.data.get("ticket_no", e.device_id))) for e in events)


def test_a_pad_rides_out_a_hall_box_kill_and_nothing_is_lost_or_doubled(
    hall_box: HallBoxProcess, tmp_path: Path
) -> None:
    hall = load_hall_config()
    address = f"127.0.0.1:{hall_box.port}"
    devices, hall_id = hall_box.devices, hall.hall_id
    kiosk_file = enrol(devices, tmp_path / "kiosk.json", hall_id, "kiosk-1", "kiosk", address)
    pad_file = enrol(devices, tmp_path / "pad.json", hall_id, "pad-3", "pad", address, 3)
    hall_box.start(kiosk_file)
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    pad = RemoteHallQueue(pad_file, hall).start()
    try:
        assert wait_for(lambda: pad.connected, 10)
        for service in ("social", "household", "social"):
            kiosk.issue(service, "kiosk-1")
        pad.open_window(3, "pad-3", "007")
        first = pad.call_next(3, "pad-3")
        assert first is not None and first.ticket_no == "A001"
        done = pad.finish(3, "pad-3")
        before_view = pad.window_view(3)
        before_id = pad.last_event_id
        before = journaled(hall_box.db)
        assert [t.ticket_no for t in before_view.waiting] == ["B001", "A002"]

        # --- the hall box dies --------------------------------------------------------------
        hall_box.kill()
        assert wait_for(lambda: not pad.connected, 15), "the PAD did not notice"
        assert pad.window_view(3) == before_view  # the last known queue, not an error
        with pytest.raises(HallBoxUnreachable):
            pad.call_next(3, "pad-3")  # refused, and its key is kept for the repeat
        pad.record_rating(done, 4, "rating-pad-3")  # kept, delivered when the box is back
        assert journaled(hall_box.db) == before

        # --- and comes back ----------------------------------------------------------------
        hall_box.start(kiosk_file)
        assert wait_for(lambda: pad.connected, 15), "the PAD did not reconnect by itself"
        assert pad.window_view(3) == before_view
        assert (pad.last_event_id or 0) >= (before_id or 0)
        assert wait_for(lambda: journaled(hall_box.db)[(Kind.RATING_SUBMITTED, "A001")] == 1, 10)

        again = pad.call_next(3, "pad-3")  # the repeat of the refused call: one call
        assert again is not None and again.ticket_no == "B001"
        kiosk.issue("business", "kiosk-1")
        waiting = lambda: [t.ticket_no for t in pad.window_view(3).waiting]  # noqa: E731
        assert wait_for(lambda: waiting() == ["A002", "C001"], 10)
        assert (pad.last_event_id or 0) > (before_id or 0)  # ids kept increasing
        truth = requests.get(
            f"http://{address}/v1/windows/3", auth=(pad_file.device_id, pad_file.secret), timeout=5
        ).json()
        assert truth["current"]["ticket_no"] == "B001"
        assert [t["ticket_no"] for t in truth["waiting"]] == ["A002", "C001"]
    finally:
        pad.close()
        kiosk.close()

    after = journaled(hall_box.db)
    assert max(after.values()) == 1, f"an event was journaled twice: {after}"
    assert after - before == Counter(
        {
            (Kind.RATING_SUBMITTED, "A001"): 1,
            (Kind.TICKET_CALLED, "B001"): 1,
            (Kind.TICKET_ISSUED, "C001"): 1,
        }
    )
    assert not before - after, "an event journaled before the kill is gone"

"""The window PAD and the kiosk as machines of their own: Kivy processes under Xvfb that reach
the queue only through the hall box's API (``python main.py pad|kiosk --hall-box …
--device-file …``). The PAD calls a ticket a kiosk issued over the same API, announces it on the
call display, rides out a hall box that is killed and restarted, and calls again once the hall
box is back; the kiosk issues by taps and, with the hall box gone, says so and goes on issuing
from the numbers the hall box reserved for it (``docs/hall-api.md``, "Offline within the hall").

The hall box is a real ``python main.py agent --serve-hall …`` process; the kiosk is driven
headless (:class:`hallnet.client.RemoteHallQueue` from the test); the call display is a
simulator in this test process, reached by the PAD over TCP through the real driver, so the
test sees what was announced. Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_hall_config
from core.events import Kind
from core.strings_zh import error_text
from hallnet.client import RemoteHallQueue
from hallnet.devices import enrol
from hardware_sim.call_display import CallDisplaySim
from tests.test_hall_box_restart import HallBoxProcess, hall_box, journaled  # noqa: F401
from tests.ui.fixtures import UiLauncher

pytestmark = pytest.mark.ui

RECONNECTING = error_text("hall_box_reconnecting")


@pytest.fixture
def display() -> Iterator[CallDisplaySim]:
    sim = CallDisplaySim(0).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_a_pad_on_its_own_machine_calls_a_kiosk_ticket_and_survives_a_hall_box_restart(
    ui: UiLauncher, tmp_path: Path, hall_box: HallBoxProcess, display: CallDisplaySim
) -> None:
    hall = load_hall_config()
    address = f"127.0.0.1:{hall_box.port}"
    kiosk_file = enrol(hall_box.devices, tmp_path / "kiosk-1" / "device.json", hall.hall_id,
                       "kiosk-1", "kiosk", address)
    pad_file = tmp_path / "pad-3" / "device.json"
    enrol(hall_box.devices, pad_file, hall.hall_id, "pad-3", "pad", address, window=3)
    hall_box.start(kiosk_file)
    kiosk = RemoteHallQueue(kiosk_file, hall, listen=False).start()
    called, offline, back = (tmp_path / name for name in ("called", "offline", "back"))
    try:
        kiosk.issue("social", "kiosk-1")
        kiosk.issue("household", "kiosk-1")
        run = ui.start(
            [
                "pad",
                "--hall-box",
                address,
                "--device-file",
                str(pad_file),
                "--staff",
                "007",
                "--display",
                f"tcp://127.0.0.1:{display.port}",
                "--rating-pad",
                "sim://rating-pad",
            ],
            [
                {"op": "wait", "id": "sign_in_button"},
                {"op": "tap", "id": "sign_in_button"},
                {"op": "wait", "id": "call_button"},
                {"op": "wait_text", "id": "waiting_count", "match": "等候 2 人"},
                {"op": "tap", "id": "call_button"},
                {"op": "wait_text", "id": "current_ticket", "match": "^A001$"},
                {"op": "snapshot", "name": "called"},
                {"op": "screenshot", "name": "1-called"},
                {"op": "touch_file", "path": str(called)},
                # The test kills the hall box now.
                {"op": "wait_text", "id": "link_banner", "match": RECONNECTING},
                {"op": "snapshot", "name": "offline"},
                {"op": "screenshot", "name": "2-offline"},
                {"op": "touch_file", "path": str(offline)},
                # The test starts it again and the kiosk issues one more ticket.
                {"op": "wait_file", "path": str(back)},
                {"op": "wait_text", "id": "link_banner", "match": "^$"},
                {"op": "wait_text", "id": "waiting_count", "match": "等候 2 人"},
                {"op": "snapshot", "name": "back"},
                {"op": "screenshot", "name": "3-reconnected"},
                {"op": "tap", "id": "finish_button"},
                {"op": "wait_text", "id": "current_ticket", "match": "^—$"},
                {"op": "tap", "id": "call_button"},
                {"op": "wait_text", "id": "current_ticket", "match": "^B001$"},
                {"op": "snapshot", "name": "called_again"},
                {"op": "screenshot", "name": "4-called-again"},
            ],
            name="pad",
        )
        run.wait_for_file(called)
        assert [(c.window_no, c.ticket_no, c.recall) for c in display.calls] == [(3, "A001", False)]
        before = journaled(hall_box.db)
        hall_box.kill()
        run.wait_for_file(offline)
        hall_box.start(kiosk_file)
        kiosk.issue("business", "kiosk-1")
        back.touch()
        result = run.result()
    finally:
        kiosk.close()

    snaps = result["snapshots"]
    assert snaps["called"]["desk_status"] == "工号 007 · 已签到"
    assert snaps["called"]["waiting_count"] == "等候 1 人"
    assert snaps["called"]["link_banner"] == ""
    # Offline: the banner says so and the PAD keeps showing what it knew.
    assert snaps["offline"]["link_banner"] == RECONNECTING
    assert snaps["offline"]["current_ticket"] == "A001"
    assert snaps["offline"]["waiting_0"].startswith("B001")
    # Back: the truth from the hall box, with the ticket issued while the PAD was away.
    assert snaps["back"]["waiting_0"].startswith("B001")
    assert snaps["back"]["waiting_1"].startswith("C001")
    assert snaps["called_again"]["waiting_count"] == "等候 1 人"
    assert [(c.window_no, c.ticket_no) for c in display.calls] == [(3, "A001"), (3, "B001")]

    after = journaled(hall_box.db)
    assert max(after.values()) == 1, after
    assert after - before == Counter(
        {
            (Kind.TICKET_ISSUED, "C001"): 1,
            (Kind.TICKET_FINISHED, "A001"): 1,
            (Kind.TICKET_CALLED, "B001"): 1,
        }
    )
    assert before[(Kind.TICKET_CALLED, "A001")] == 1


def test_a_kiosk_on_its_own_machine_issues_by_taps_and_from_its_own_numbers_without_the_hall_box(
    ui: UiLauncher, tmp_path: Path, hall_box: HallBoxProcess
) -> None:
    hall = load_hall_config()
    address = f"127.0.0.1:{hall_box.port}"
    kiosk_file = tmp_path / "kiosk-1" / "device.json"
    probe = enrol(hall_box.devices, kiosk_file, hall.hall_id, "kiosk-1", "kiosk", address)
    hall_box.start(probe)
    issued, gone = tmp_path / "issued", tmp_path / "gone"
    run = ui.start(
        [
            "kiosk",
            "--hall-box",
            address,
            "--device-file",
            str(kiosk_file),
            "--printer",
            f"sim://usb-printer?record={tmp_path / 'tickets.jsonl'}",
        ],
        [
            {"op": "tap", "id": "take_button"},
            {"op": "tap", "id": "service_social"},
            {"op": "wait_text", "id": "ticket_no", "match": "^A001$"},
            {"op": "snapshot", "name": "ticket"},
            {"op": "screenshot", "name": "1-ticket"},
            {"op": "tap", "id": "home_button"},
            {"op": "touch_file", "path": str(issued)},
            # The test kills the hall box now.
            {"op": "wait_file", "path": str(gone)},
            {"op": "wait_text", "id": "status_line", "match": RECONNECTING},
            {"op": "tap", "id": "take_button"},
            {"op": "tap", "id": "service_social"},
            {"op": "wait_text", "id": "ticket_no", "match": r"^A9\d{3}$"},
            {"op": "snapshot", "name": "offline"},
            {"op": "screenshot", "name": "2-no-hall-box"},
        ],
        name="kiosk",
    )
    run.wait_for_file(issued)
    hall_box.kill()
    gone.touch()
    result = run.result()

    assert result["snapshots"]["ticket"]["people_ahead"]
    offline = result["snapshots"]["offline"]
    assert offline["ticket_no"] == "A9001"  # the first of the block reserved for this kiosk
    assert (tmp_path / "kiosk-1" / "hall-local.db").exists()  # kept there until the box is back
    issued_events = [k for k in journaled(hall_box.db) if k[0] == Kind.TICKET_ISSUED]
    assert issued_events == [(Kind.TICKET_ISSUED, "A001")]

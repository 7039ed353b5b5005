"""The citizen kiosk in a real window: a citizen's taps, what the screen and the printer show.

Each test runs ``main.py kiosk`` under the UI driver on Xvfb; taps are touch events through
the window. Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SystemClock
from core.config import DEFAULT_CONFIG, load_hall_config
from core.errors import ConfigError
from core.events import Kind
from core.strings_zh import error_text
from flows.kiosk_functions import registered
from flows.queue import HallQueue
from hallstore import journal
from kiosk.fonts import use_cjk_font
from tests.kiosk_probe import probes
from tests.ui.fixtures import ROOT, UiLauncher

pytestmark = pytest.mark.ui



def _issue_walk_ins(db: Path, service: str, count: int) -> None:
    """Citizens who took tickets at another kiosk before this test's citizen arrives."""
    conn = journal.connect(db)
    try:
        queue = HallQueue(conn, load_hall_config(), SystemClock())
        for _ in range(count):
            queue.issue(service, "kiosk-2")
    finally:
        conn.close()


def _printed(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def _events(db: Path) -> list:
    conn = journal.connect(db)
    try:
        return [p.event for p in journal.pending(conn, 1000)]
    finally:
        conn.close()


def test_citizen_takes_a_ticket_and_the_screen_shows_the_number_the_printer_printed(
    ui: UiLauncher, tmp_path: Path
) -> None:
    db, record = tmp_path / "hall.db", tmp_path / "tickets.jsonl"
    _issue_walk_ins(db, "social", 2)

    result = ui.run(
        [
            "kiosk",
            "--hall-db",
            str(db),
            "--device-id",
            "kiosk-1",
            "--idle-timeout",
            "8",
            "--printer",
            f"sim://usb-printer?record={record}",
        ],
        [
            {"op": "wait", "id": "take_button"},
            {"op": "screenshot", "name": "1-home"},
            {"op": "tap", "id": "take_button"},
            {"op": "wait_text", "id": "service_social", "match": "等候2人"},
            {"op": "snapshot", "name": "services"},
            {"op": "screenshot", "name": "2-services"},
            {"op": "tap", "id": "service_social"},
            {"op": "wait_text", "id": "ticket_no", "match": r"^[A-Z]\d{3}$"},
            {"op": "snapshot", "name": "ticket"},
            {"op": "screenshot", "name": "3-ticket"},
            # Nobody touches the kiosk: it goes home by itself for the next citizen.
            {"op": "wait_gone", "id": "ticket_no"},
            {"op": "wait", "id": "take_button"},
            {"op": "snapshot", "name": "home_again"},
        ],
    )

    shown = result["snapshots"]["ticket"]
    tickets = _printed(record)
    assert len(tickets) == 1, tickets
    assert shown["ticket_no"] == "A003"
    assert shown["ticket_no"] in tickets[0]["lines"]
    assert any(f"|{shown['ticket_no']}|" in qr for qr in tickets[0]["qr_payloads"])
    assert shown["ticket_service"] == "社保医保"
    assert shown["people_ahead"] == "前面还有2人"
    assert shown["est_wait"].startswith("预计等候")
    assert "error_line" not in shown
    assert "社保医保" in result["snapshots"]["services"]["service_social"]
    assert "等候0人" in result["snapshots"]["services"]["service_business"]
    assert result["snapshots"]["home_again"]["hall_name"] == "示范区政务服务中心"
    issued = [e for e in _events(db) if e.kind == Kind.TICKET_ISSUED and e.device_id == "kiosk-1"]
    assert [e.data["ticket_no"] for e in issued] == ["A003"]


def test_paper_out_still_gives_the_citizen_a_number_and_says_why_nothing_printed(
    ui: UiLauncher, tmp_path: Path
) -> None:
    db, record = tmp_path / "hall.db", tmp_path / "tickets.jsonl"

    result = ui.run(
        [
            "kiosk",
            "--hall-db",
            str(db),
            "--device-id",
            "kiosk-1",
            "--printer",
            f"sim://usb-printer?record={record}&faults=paper_out",
        ],
        [
            {"op": "tap", "id": "take_button"},
            {"op": "tap", "id": "service_household"},
            {"op": "wait_text", "id": "ticket_no", "match": r"^[A-Z]\d{3}$"},
            {"op": "snapshot", "name": "ticket"},
            {"op": "screenshot", "name": "paper-out"},
        ],
    )

    shown = result["snapshots"]["ticket"]
    assert shown["ticket_no"] == "B001"
    assert shown["error_line"] == error_text("paper_out")
    assert "请记住您的号码" in shown["remember_hint"]
    assert _printed(record) == []
    events = _events(db)
    health = [e for e in events if e.kind == Kind.DEVICE_HEALTH]
    assert [(e.data["device"], e.data["state"]) for e in health] == [("kiosk-1-printer", "error")]
    assert "paper_out" in health[0].data["reasons"]
    assert any(e.kind == Kind.TICKET_ISSUED and e.data["ticket_no"] == "B001" for e in events)


def test_a_bad_window_size_or_a_missing_font_stops_the_app_with_a_clear_message() -> None:
    proc = subprocess.run(
        [sys.executable, "main.py", "kiosk", "--size", "720by960"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "error 100 (config_invalid)" in proc.stderr and "WxH" in proc.stderr
    with pytest.raises(ConfigError, match="fonts-noto-cjk"):
        use_cjk_font(Path("/nonexistent/NotoSansCJK-Regular.ttc"))


#: Six more services than the demo hall's three: what a township centre's catalog can hold.
EXTRA_SERVICES = [
    ("tax", "税务", "D"), ("estate", "不动产登记", "E"), ("pension", "养老认证", "F"),
    ("civil", "民政婚姻", "G"), ("medical", "医保报销", "H"), ("permits", "工程审批", "J"),
]


def test_a_long_catalog_keeps_every_service_button_on_screen(
    ui: UiLauncher, tmp_path: Path
) -> None:
    """Nine services (two columns): every button is wholly visible, none runs off the bottom
    of the screen, and the last one issues its ticket."""
    config = tmp_path / "hall.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    extra = "".join(
        f'\n[[services]]\ncode = "{c}"\nname = "{n}"\nprefix = "{p}"\naht_s = 300\n'
        for c, n, p in EXTRA_SERVICES
    )
    windows = "".join(f'\n[[windows]]\nno = {5 + i}\nservices = ["{c}"]\n'
                      for i, (c, _, _) in enumerate(EXTRA_SERVICES))
    config.write_text(text.replace("\n[[windows]]", extra + windows + "\n[[windows]]", 1),
                      encoding="utf-8")
    codes = ["social", "household", "business", *[c for c, _, _ in EXTRA_SERVICES]]
    result = ui.run(
        [
            "kiosk", "--config", str(config), "--hall-db", str(tmp_path / "hall.db"),
            "--device-id", "kiosk-1", "--printer", "sim://usb-printer",
        ],
        [
            {"op": "tap", "id": "take_button"},
            *[{"op": "wait_on_screen", "id": f"service_{c}"} for c in codes],
            {"op": "wait_on_screen", "id": "home_button"},
            {"op": "screenshot", "name": "nine-services"},
            {"op": "tap", "id": "service_permits"},
            {"op": "wait_text", "id": "ticket_no", "match": r"^J\d{3}$"},
            {"op": "snapshot", "name": "ticket"},
        ],
    )
    assert result["snapshots"]["ticket"]["ticket_service"] == "工程审批"


class ProbeLauncher(UiLauncher):
    """Runs apps under ``python -m tests.kiosk_probe``: the UI driver, with the test-only
    kiosk function 测试功能 registered in the app's process (a registration in this process
    would not reach the app).

    Attributes:
        probes: how many test-only functions to register (``probe``, ``probe_2`` …).
    """

    probes = 1

    @property
    def driver(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("tests.kiosk_probe", "--probes", str(self.probes))


@pytest.fixture
def probe_ui(ui: UiLauncher) -> Iterator[ProbeLauncher]:
    launcher = ProbeLauncher(ui.env, ui.work, ui.artifacts)
    try:
        yield launcher
    finally:
        for run in launcher.runs:
            run.stop()


def test_a_function_registered_by_a_test_gets_a_home_tile_that_a_tap_opens(
    probe_ui: ProbeLauncher, tmp_path: Path
) -> None:
    """取号 first, 测试功能 after it; its screen steps its flow; 返回首页 makes it forget."""
    result = probe_ui.run(
        [
            "kiosk", "--hall-db", str(tmp_path / "hall.db"), "--device-id", "kiosk-7",
            "--printer", "sim://usb-printer", "--functions", "ticket,probe",
        ],
        [
            {"op": "wait_on_screen", "id": "take_button"},
            {"op": "wait_on_screen", "id": "function_probe"},
            {"op": "snapshot", "name": "home"},
            {"op": "screenshot", "name": "1-home-two-functions"},
            {"op": "tap", "id": "function_probe"},
            {"op": "wait_text", "id": "probe_taps", "match": "^已点击0次$"},
            {"op": "tap", "id": "probe_press"},
            {"op": "wait_text", "id": "probe_taps", "match": "^已点击1次$"},
            {"op": "snapshot", "name": "probe"},
            {"op": "screenshot", "name": "2-probe"},
            {"op": "tap", "id": "home_button"},
            {"op": "wait", "id": "function_probe"},
            {"op": "tap", "id": "function_probe"},
            {"op": "wait_text", "id": "probe_taps", "match": "^已点击0次$"},
            {"op": "tap", "id": "home_button"},
            {"op": "tap", "id": "take_button"},
            {"op": "wait", "id": "service_social"},
        ],
    )
    home, probe = result["snapshots"]["home"], result["snapshots"]["probe"]
    assert "取号" in home["take_button"] and "测试功能" in home["function_probe"]
    assert home["header_title"] == "政务服务自助终端" and "home_button" not in home
    assert probe["header_title"] == "测试功能" and probe["home_button"] == "返回首页"
    assert "take_button" not in probe


def test_twelve_functions_keep_every_tile_on_screen(
    probe_ui: ProbeLauncher, tmp_path: Path
) -> None:
    """The home screen the coming functions will fill: twelve tiles (three columns), each wholly
    visible, and the last one opens."""
    probe_ui.probes = 2
    probe_ids = [f.id for f in probes(probe_ui.probes)]
    # Ten of the built-in functions and two a test registers: twelve tiles, whatever the tree
    # ships (a kiosk offers the functions its launch or its hall config names).
    offered = [f.id for f in registered()][:10] + probe_ids
    result = probe_ui.run(
        ["kiosk", "--hall-db", str(tmp_path / "hall.db"), "--printer", "sim://usb-printer",
         "--functions", ",".join(offered)],
        [
            {"op": "wait_on_screen", "id": "take_button"},
            *[{"op": "wait_on_screen", "id": f"function_{i}"} for i in probe_ids],
            {"op": "screenshot", "name": "twelve-functions"},
            {"op": "tap", "id": f"function_{probe_ids[-1]}"},
            {"op": "wait_text", "id": "probe_taps", "match": "^已点击0次$"},
            {"op": "snapshot", "name": "last"},
        ],
    )
    assert result["snapshots"]["last"]["header_title"] == probes(probe_ui.probes)[-1].title


def test_an_unknown_function_in_the_hall_config_stops_the_kiosk_with_a_config_error(
    tmp_path: Path,
) -> None:
    """A mistyped function id is the technician's to fix: the kiosk refuses to start and says
    which id, with code 100, before any window opens."""
    config = tmp_path / "hall.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    kiosk = '\n[kiosk]\nfunctions = ["ticket", "guide"]\n'
    config.write_text(text.replace("\n[kiosk]\n", kiosk, 1), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "main.py", "kiosk", "--config", str(config),
         "--hall-db", str(tmp_path / "hall.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "error 100 (config_invalid)" in out.stderr
    assert "'guide'" in out.stderr

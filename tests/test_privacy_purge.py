"""After a citizen's visit the kiosk has forgotten them (issue #12 item 11, docs/privacy.md).

Two levels:

* each function that identifies a citizen, without a window: after the idle timeout the flow
  remembers neither the ID number nor the name, and the buffer that held them is overwritten;
* a real kiosk under Xvfb, driven by touch through 高龄认证 (card read, a proxy's name typed in
  pinyin, the form sent) and 便民查询 (a result shown), then left alone until the idle
  timeout: the citizen is then nowhere the test can look: reachable Python objects in the
  app's process, Kivy's caches, every file of the kiosk (its data directory and SQLite files
  with their ``-wal`` and ``-shm``, the hall database, 朗读's files, the logs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.clock import SystemClock, hall_time
from core.personal import PersonalText
from devices.id_card_reader import IdCardReader
from flows.kiosk_functions import IDLE_TIMEOUT_S, KioskHome, built_in
from govplatform.http import PlatformHttp
from hardware_sim import simulator_of
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, kiosk_context, remembers
from tests.privacy_probe import needles
from tests.ui.fixtures import UiLauncher
from upstream_sim.bookings import BookingDesk
from upstream_sim.cases import CaseBook
from upstream_sim.certificates import CertificateDesk
from upstream_sim.people import People, Person, make_people
from upstream_sim.queries import QueriesDesk
from upstream_sim.server import UpstreamServer
from upstream_sim.subsidy import SubsidyDesk

#: The test citizen: a name and a number no other fixture, dictionary or string of the code
#: contains, so a hit anywhere is this citizen and nothing else. 79 years old on the test day,
#: so 高龄认证 accepts them.
CITIZEN = Person("63280119470517931X", "欧阳隐翁", date(1947, 5, 17), "男", "13987650321",
                 "格尔木市昆仑路88号")  # fmt: skip
#: The proxy (子女) who fills in the form: a name typed in pinyin (qiu → 邱, lan → 兰, ming →
#: 鸣, none of them first candidates) and an ID number typed on the keypad; the subsidy's card.
AGENT_NAME = "邱兰鸣"
AGENT_ID = "110105198806152134"
BANK_CARD = "6222021234567890128"


@dataclass
class Platform:
    server: UpstreamServer
    http: PlatformHttp


def start_platform(today: date, clock: Any) -> Platform:
    people = People([*make_people(40, seed=20261207, today=today), CITIZEN])
    routes = (
        BookingDesk(people, clock).routes() + CaseBook(people, clock).routes()
        + QueriesDesk(people, lambda: today).routes() + SubsidyDesk(people, lambda: today).routes()
        + CertificateDesk(people).routes()
    )  # fmt: skip
    server = UpstreamServer("政务服务平台 (test)", routes).start()
    return Platform(server, PlatformHttp(server.url, "kiosk-1", connect_timeout_s=2, read_timeout_s=5))


@pytest.fixture
def platform(hall_db: HallDb) -> Iterator[Platform]:
    sim = start_platform(hall_time(hall_db.clock.now()).date(), hall_db.clock)
    try:
        yield sim
    finally:
        sim.http.close()
        sim.server.stop()


# --- each function, without a window -----------------------------------------------------


def _appointments(home: KioskHome) -> None:
    home.step("appointments", lambda f: f.book())
    slots = home.step("appointments", lambda f: f.choose_service("household"))
    slot = slots.data["days"][0]["slots"][0]["slot_id"]
    assert home.step("appointments", lambda f: f.choose_slot(slot)).name == "identify_card"
    assert home.step("appointments", lambda f: f.identified(f.identify.read_card())).name == "confirm"
    assert home.step("appointments", lambda f: f.confirm()).name == "booked"


def _case_progress(home: KioskHome) -> None:
    home.step("case_progress", lambda f: f.by_card())
    shown = home.step("case_progress", lambda f: f.identified(f.identify.read_card()))
    assert shown.name in ("cases", "no_cases")


def _certificates(home: KioskHome) -> None:
    home.step("certificates", lambda f: f.choose("pension_payment"))
    shown = home.step("certificates", lambda f: f.identified(f.identify.read_card()))
    assert shown.name in ("preview", "refused")


def _convenience_queries(home: KioskHome) -> None:
    home.step("convenience_queries", lambda f: f.choose("medical_contributions"))
    shown = home.step("convenience_queries", lambda f: f.identified(f.identify.read_card()))
    assert shown.name == "result", shown


def _elderly_subsidy(home: KioskHome) -> None:
    home.step("elderly_subsidy", lambda f: f.begin())
    form = home.step("elderly_subsidy", lambda f: f.identified(f.identify.read_card()))
    assert form.name == "form", form
    for key, text in (("relation", "子女"), ("agent_name", AGENT_NAME),
                      ("agent_id_number", AGENT_ID), ("phone", CITIZEN.phone),
                      ("address", CITIZEN.address), ("bank_name", "青海银行"),
                      ("bank_card_no", BANK_CARD)):  # fmt: skip
        home.step("elderly_subsidy", lambda f, k=key, t=text: f.set_field(k, t))
    assert home.step("elderly_subsidy", lambda f: f.review()).name == "confirm"
    assert home.step("elderly_subsidy", lambda f: f.submit()).name == "done"


VISITS: dict[str, Callable[[KioskHome], None]] = {
    "appointments": _appointments,
    "case_progress": _case_progress,
    "certificates": _certificates,
    "convenience_queries": _convenience_queries,
    "elderly_subsidy": _elderly_subsidy,
}


@pytest.mark.parametrize("function_id", sorted(VISITS))
def test_after_the_idle_timeout_a_function_remembers_nothing_of_the_citizen(
    function_id: str, hall_db: HallDb, platform: Platform, reader: IdCardReader
) -> None:
    home = KioskHome(kiosk_context(hall_db, platform, reader), [built_in(function_id)])
    flow = home.flows[function_id]
    simulator_of(reader).place(card_of(CITIZEN))
    home.open(function_id)
    VISITS[function_id](home)
    held = flow.citizen  # type: ignore[attr-defined]
    assert remembers(flow, CITIZEN.id_number) and remembers(flow, CITIZEN.name)
    simulator_of(reader).lift()

    hall_db.clock.advance(IDLE_TIMEOUT_S + 1)
    assert home.tick().name == "home"

    secrets = [CITIZEN.id_number, CITIZEN.name, CITIZEN.phone, AGENT_NAME, AGENT_ID, BANK_CARD]
    assert [s for s in secrets if remembers(flow, s)] == []
    # The buffer the flow held the citizen in is overwritten, not only let go.
    assert (held.id_number, held.name) == ("", "")
    assert getattr(flow, "answer", None) is None and getattr(flow, "document", None) is None


def test_personal_text_shows_masked_and_its_buffer_is_zeroed_by_wipe() -> None:
    number = PersonalText(CITIZEN.id_number, "id_number")
    name = PersonalText(CITIZEN.name, "name")
    buffer = number._buffer
    assert f"{number} {name!r}" == "632801********931X PersonalText('欧***')"
    assert number.reveal() == CITIZEN.id_number
    number.wipe()
    assert buffer == bytes(len(CITIZEN.id_number))  # the very bytes the text was in, zeroed
    assert number.reveal() == "" and not number


# --- a real kiosk --------------------------------------------------------------------------



class ProbeLauncher(UiLauncher):
    """Runs the kiosk under ``python -m tests.privacy_probe --secrets FILE``."""

    secrets: Path

    @property
    def driver(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("tests.privacy_probe", "--secrets", str(self.secrets))


def _keys(field: str, keys: str) -> list[dict[str, Any]]:
    return [{"op": "tap", "id": f"{field}_key_{k}"} for k in keys]


def _pick(syllable: str, position: int, match: str) -> list[dict[str, Any]]:
    """Type a syllable in pinyin and pick the candidate at ``position`` once it shows."""
    candidate = f"form_field_candidate_{position}"
    return [*_keys("form_field", syllable), {"op": "wait_text", "id": candidate, "match": match},
            {"op": "tap", "id": candidate}]  # fmt: skip


def _open_row(row: str) -> list[dict[str, Any]]:
    """Tap a row of the form once it is scrolled into view and the form has settled (its rows
    move while it lays out)."""
    return [{"op": "scroll_to", "id": f"form_row_{row}"}, {"op": "pause", "seconds": 0.4},
            {"op": "tap", "id": f"form_row_{row}"}]  # fmt: skip


def _type_field(row: str, keys: str, shown: str) -> list[dict[str, Any]]:
    return [*_open_row(row), {"op": "wait_on_screen", "id": "form_field_key_1"},
            *_keys("form_field", keys), {"op": "wait_text", "id": "form_field", "match": shown},
            {"op": "tap", "id": "form_ok"}, {"op": "wait", "id": "elderly_subsidy_review"}]  # fmt: skip


def _files_holding(roots: list[Path], secrets: dict[str, str]) -> list[str]:
    """Every file under ``roots`` whose raw bytes hold a secret in any encoding."""
    found = []
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            found += [f"{path}: {label}" for label, secret in secrets.items()
                      if any(form in data for form in needles(secret))]  # fmt: skip
    return found


@pytest.mark.ui
def test_after_the_idle_timeout_the_citizen_is_nowhere_in_the_kiosk(
    ui: UiLauncher, tmp_path: Path
) -> None:
    """高龄认证 by card with a proxy's name typed in pinyin and the form sent, 返回首页, then
    便民查询 by card with its result read aloud; nobody touches the kiosk until it goes home
    by itself. Then the app's process, its Kivy caches and its files are searched."""
    platform = start_platform(hall_time(SystemClock().now()).date(), SystemClock())
    kiosk_dir, tmp_dir = tmp_path / "kiosk", tmp_path / "tmp"
    tmp_dir.mkdir()
    secrets = {"id_number": CITIZEN.id_number, "name": CITIZEN.name, "agent_name": AGENT_NAME,
               "agent_id": AGENT_ID, "phone": CITIZEN.phone, "bank_card": BANK_CARD}  # fmt: skip
    launcher = ProbeLauncher({**ui.env, "TMPDIR": str(tmp_dir)}, ui.work, ui.artifacts)
    launcher.secrets = tmp_path / "secrets" / "citizen.json"
    launcher.secrets.parent.mkdir()
    hexed = {k: v.encode("utf-8").hex() for k, v in secrets.items()}
    card = {"name": hexed["name"], "id_number": hexed["id_number"], "birth": CITIZEN.birth.isoformat(),
            "address": CITIZEN.address.encode("utf-8").hex()}  # fmt: skip
    launcher.secrets.write_text(json.dumps({"card": card, "secrets": hexed}), encoding="utf-8")
    purged, go = tmp_path / "purged", tmp_path / "go"
    speech_wav = tmp_dir / "hall-edge-speech" / "speech.wav"
    steps: list[dict[str, Any]] = [
        {"op": "wait_on_screen", "id": "function_elderly_subsidy"},
        {"op": "place_card"},
        {"op": "tap", "id": "function_elderly_subsidy"},
        {"op": "tap", "id": "elderly_subsidy_begin"},
        {"op": "tap", "id": "identify_read"},
        *_open_row("relation"),
        {"op": "tap", "id": "form_option_2"},  # 子女
        *_open_row("agent_name"),
        {"op": "wait_on_screen", "id": "form_field_key_q"},
        *_pick("qiu", 3, "^邱$"), *_pick("lan", 2, "^兰$"), *_pick("ming", 3, "^鸣$"),
        # Never the whole name in the script: the script is in the app's memory too.
        {"op": "wait_text", "id": "form_field", "match": "^邱.鸣$"},
        {"op": "tap", "id": "form_ok"},
        *_type_field("agent_id_number", AGENT_ID, r"^110105\d{11}4$"),
        *_type_field("phone", CITIZEN.phone, r"^139\d{7}1$"),
        *_open_row("address"),
        {"op": "tap", "id": "form_field_key_layout_digits"},
        *_keys("form_field", "88"),
        {"op": "tap", "id": "form_ok"},
        *_open_row("bank_name"),
        {"op": "tap", "id": "form_option_5"},  # 青海银行
        *_type_field("bank_card_no", BANK_CARD, r"^6222\d{14}8$"),
        {"op": "pause", "seconds": 0.4},
        {"op": "tap", "id": "elderly_subsidy_review"},
        {"op": "tap", "id": "elderly_subsidy_submit"},
        {"op": "wait", "id": "elderly_subsidy_done"},
        {"op": "screenshot", "name": "1-subsidy-done"},
        {"op": "tap", "id": "home_button"},
        {"op": "tap", "id": "function_convenience_queries"},
        {"op": "scroll_to", "id": "convenience_queries_medical_contributions"},
        {"op": "tap", "id": "convenience_queries_medical_contributions"},
        {"op": "tap", "id": "identify_read"},
        {"op": "wait", "id": "convenience_queries_field_0"},
        {"op": "tap", "id": "read_aloud_button"},
        {"op": "wait_file", "path": str(speech_wav)},
        # The search's control: while the citizen is still being served, it finds them.
        {"op": "probe", "name": "during_visit"},
        {"op": "screenshot", "name": "2-query-result"},
        {"op": "lift_card"},
        # Nobody touches the kiosk: it goes home by itself, and purges.
        {"op": "wait_gone", "id": "convenience_queries_field_0", "timeout": 90},
        {"op": "pause", "seconds": 2},
        {"op": "probe", "name": "after_idle"},
        {"op": "touch_file", "path": str(purged)},
        {"op": "wait_file", "path": str(go), "timeout": 120},
    ]
    try:
        run = launcher.start(
            ["kiosk", "--hall-db", str(kiosk_dir / "hall.db"), "--data-dir", str(kiosk_dir / "kiosk-1"),
             "--device-id", "kiosk-1", "--idle-timeout", "45", "--printer", "sim://usb-printer",
             "--id-reader", "sim://id-reader?card=none&timing=instant",
             "--platform", platform.server.url],
            steps, name="privacy",
        )  # fmt: skip
        run.wait_for_file(purged, timeout=300)
        # While the kiosk still runs: its SQLite files as the purge left them (a close would
        # checkpoint them anyway, which would prove nothing).
        db_files = sorted(p.name for p in kiosk_dir.rglob("*.db*"))
        on_disk = _files_holding([kiosk_dir, tmp_dir, Path(ui.env["KIVY_HOME"])], secrets)
        go.touch()
        result = run.result(timeout=120)
    finally:
        for started in launcher.runs:
            started.stop()
        platform.http.close()
        platform.server.stop()

    during = {hit["secret"] for hit in result["probes"]["during_visit"]["objects"]}
    assert {"id_number", "name"} <= during, during
    probes = result["probes"]["after_idle"]
    assert probes["objects"] == [], json.dumps(probes["objects"], ensure_ascii=False, indent=1)
    assert probes["kivy_caches"] == [], probes["kivy_caches"]
    assert on_disk == []
    assert _files_holding([run.log], secrets) == []
    assert not speech_wav.exists() and not (speech_wav.parent / "speech.txt").exists()
    # The SQLite files were there to search: the hall database, the order book, the catalog.
    assert {"hall.db", "payment_orders.db"} <= set(db_files), db_files
    assert platform.server.log, "the platform was asked: the citizen's data went through the kiosk"

"""办事指南 end to end: the kiosk's flow, through KioskHome, against the simulated platform's
catalog over real HTTP, its local copy in SQLite, and a real private CUPS for printing.

What a citizen notices: finding an item by audience, theme, department, Chinese text or pinyin
initials; the materials narrowing to their situation; guides still there with the platform
down, and the catalog's age said once it is old; a printed guide (journaled), or a printer
fault said in Chinese with the guide still on screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import requests

from core.events import Event, Kind
from devices.document_printer import DocumentPrinter
from flows.guide_document import qr_image
from flows.kiosk_functions import KioskContext, KioskHome, built_in
from flows.screens import Screen
from flows.service_guide import ServiceGuideFlow
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim.cups_server import CupsServer, StatePrinter
from tests.conftest import HallDb
from upstream_sim import catalog
from upstream_sim.people import People, make_people
from upstream_sim.server import UpstreamServer

SERVICE_GUIDE = built_in("service_guide")
DAY = 86400.0


@pytest.fixture
def sim() -> Iterator[UpstreamServer]:
    """The platform's catalog domain, alone, on loopback."""
    with UpstreamServer("政务服务平台", catalog.routes(People(make_people(10, 7)))) as server:
        yield server


class Kiosk:
    """A kiosk offering 办事指南, its home driven as the window drives it."""

    def __init__(self, hall_db: HallDb, data_dir: Path, platform_url: str,
                 printer: DocumentPrinter | None) -> None:  # fmt: skip
        self.http = PlatformHttp(platform_url, "kiosk-1", read_timeout_s=3.0)
        context = KioskContext(
            hall_db.queue, "kiosk-1", hall_db.clock, data_dir=data_dir, platform=self.http,
            document_printer=printer, functions=["service_guide"],
        )  # fmt: skip
        self.home = KioskHome.for_context(context)
        self.flow: ServiceGuideFlow = self.home.flows["service_guide"]  # type: ignore[assignment]

    def synced(self) -> Any:
        """Wait for the sync the kiosk started, by running one more in line behind it."""
        return self.flow.sync.sync_now()

    def open(self) -> Screen:
        return self.home.open("service_guide")

    def step(self, action: Any) -> Screen:
        return self.home.step("service_guide", action)

    def close(self) -> None:
        self.flow.close()
        self.http.close()


@pytest.fixture
def kiosk(hall_db: HallDb, tmp_path: Path, sim: UpstreamServer,
          cups_pdf: DocumentPrinter) -> Iterator[Kiosk]:  # fmt: skip
    k = Kiosk(hall_db, tmp_path / "kiosk-1", sim.url, cups_pdf)
    assert k.synced().ok
    try:
        yield k
    finally:
        k.close()


def names(screen: Screen) -> list[str]:
    return [r["name"] for r in screen.data["results"]]


def everything(kiosk: Kiosk, screen: Screen) -> Screen:
    while screen.data["total"] > len(screen.data["results"]):
        screen = kiosk.step(lambda f: f.more())
    return screen


def sim_items(**match: Any) -> list[dict[str, Any]]:
    return [i for i in catalog.build_items()
            if all(v in i[k] or v == i[k] for k, v in match.items())]  # fmt: skip


def id_card_renewal(kiosk: Kiosk) -> Screen:
    """The guide of 居民身份证换领 at the city's police (公安局) window."""
    screen = kiosk.step(lambda f: f.set_text("居民身份证换领"))
    first = screen.data["results"][0]
    assert first["name"] == "居民身份证换领" and first["department"] == "格尔木市公安局"
    return kiosk.step(lambda f: f.open_item(first["code"]))


# --- search ---------------------------------------------------------------------------------


def test_the_tile_shows_the_whole_catalog_with_its_filters(kiosk: Kiosk) -> None:
    screen = kiosk.open()
    assert screen.function == "service_guide" and screen.name == "search"
    assert screen.error_key is None
    assert screen.data["total"] == len(catalog.build_items()) >= 300
    assert screen.data["audiences"] == ["个人", "法人"]
    assert {"户籍办理", "社会保障", "医疗保障", "婚姻登记", "企业开办", "不动产登记", "出入境"} <= {
        t["label"] for t in screen.data["themes"]
    }
    labels = [d["label"] for d in screen.data["departments"]]
    # The city's departments first, without the city's name; the service centres after them.
    assert labels[0] == "公安局" and "人力资源和社会保障局" in labels
    assert labels[-1].endswith("便民服务中心")
    assert screen.data["catalog"]["stale"] is False


def test_search_by_audience_theme_and_department(kiosk: Kiosk) -> None:
    kiosk.open()
    companies = everything(kiosk, kiosk.step(lambda f: f.choose("audience", "法人")))
    assert companies.data["total"] == len(sim_items(audiences="法人"))
    assert all("法人" in r["audiences"] for r in companies.data["results"])
    assert "企业设立登记" in names(companies) and "居民身份证换领" not in names(companies)

    opening = everything(kiosk, kiosk.step(lambda f: f.choose("theme", "企业开办")))
    assert set(names(opening)) >= {"企业设立登记", "企业注销登记", "税务注销"}
    assert "个体工商户设立登记" not in names(opening)  # 个人, not 法人
    # Tapping the chosen chip again lifts that filter.
    people_too = kiosk.step(lambda f: f.choose("audience", "法人"))
    assert people_too.data["query"]["audience"] is None
    assert "个体工商户设立登记" in names(everything(kiosk, people_too))

    police = next(d for d in kiosk.step(lambda f: f.clear()).data["departments"]
                  if d["label"] == "公安局")  # fmt: skip
    screen = everything(kiosk, kiosk.step(lambda f: f.choose("department", police["value"])))
    assert screen.data["total"] == police["count"] > 10
    assert {r["department"] for r in screen.data["results"]} == {"格尔木市公安局"}
    assert "普通护照签发" in names(screen)


def test_search_by_chinese_text(kiosk: Kiosk) -> None:
    kiosk.open()
    screen = kiosk.step(lambda f: f.set_text("婚姻"))
    assert sorted(names(screen)) == sorted(
        ["内地居民婚姻登记（结婚登记）", "内地居民婚姻登记（离婚登记）", "内地居民婚姻登记（补领婚姻登记证）"]
    )
    assert kiosk.step(lambda f: f.set_text("没有这种事项")).data["total"] == 0


def test_pinyin_initials_find_items_letter_by_letter(kiosk: Kiosk) -> None:
    kiosk.open()
    for typed in ("s", "sf", "SFZ"):
        screen = kiosk.step(lambda f, t=typed: f.set_text(t))
    assert screen.data["query"]["text"] == "SFZ"
    found = everything(kiosk, screen)
    assert found.data["total"] == len([i for i in catalog.build_items() if "身份证" in i["name"]])
    assert all("身份证" in n for n in names(found))
    assert {"居民身份证换领", "居民身份证补领", "临时居民身份证申领"} <= set(names(found))

    assert {"户口迁移（夫妻投靠）", "户口迁移（购房落户）"} <= set(
        names(everything(kiosk, kiosk.step(lambda f: f.set_text("hkqy"))))
    )
    # Full pinyin works as well as initials.
    assert "高龄补贴申领" in names(kiosk.step(lambda f: f.set_text("gaoling")))


# --- the guide ----------------------------------------------------------------------------------


def test_a_guide_shows_what_a_citizen_needs_and_its_qr_code_opens_it(kiosk: Kiosk) -> None:
    kiosk.open()
    guide = id_card_renewal(kiosk)
    item = guide.data["item"]
    assert guide.name == "guide"
    assert item["department"] == "格尔木市公安局"
    assert item["promised_time_limit"] == "20个工作日" and item["legal_time_limit"] == "60个工作日"
    assert item["phone"].startswith("0979-")
    assert item["address"].startswith("格尔木市政务服务中心")
    assert item["conditions"] and item["fee"] == "工本费20元"
    assert item["legal_basis"][0].startswith("《中华人民共和国居民身份证法》第十一条")
    assert guide.data["qr_url"] == f"{catalog.PUBLIC_URL}/guide/{item['code']}"
    # A phone's camera reads the code back as the guide's address.
    image = cv2.cvtColor(np.array(qr_image(guide.data["qr_url"], 400)), cv2.COLOR_RGB2BGR)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == guide.data["qr_url"]


def test_choosing_a_situation_narrows_the_materials(kiosk: Kiosk) -> None:
    kiosk.open()
    guide = id_card_renewal(kiosk)
    situations = {s["name"]: s["code"] for s in guide.data["situations"]}
    assert list(situations) == ["有效期满换领", "证件损坏换领", "登记项目变更换领"]
    common = ["居民户口簿", "原居民身份证", "近期免冠彩色证件照片"]
    # No situation chosen yet: only what every situation needs.
    assert [m["name"] for m in guide.data["materials"]] == common
    assert guide.data["materials_total"] == 5

    damaged = kiosk.step(lambda f: f.choose_situation(situations["证件损坏换领"]))
    assert [m["name"] for m in damaged.data["materials"]] == [*common, "损坏的居民身份证"]
    assert [s["chosen"] for s in damaged.data["situations"]] == [False, True, False]
    changed = kiosk.step(lambda f: f.choose_situation(situations["登记项目变更换领"]))
    assert [m["name"] for m in changed.data["materials"]] == [*common, "户籍登记项目变更证明"]
    expired = kiosk.step(lambda f: f.choose_situation(situations["有效期满换领"]))
    assert [m["name"] for m in expired.data["materials"]] == common

    back = kiosk.step(lambda f: f.back())
    assert back.name == "search" and back.data["query"]["text"] == "居民身份证换领"


def test_a_change_on_the_platform_reaches_the_kiosk_at_the_next_sync(
    kiosk: Kiosk, sim: UpstreamServer
) -> None:
    kiosk.open()
    code = id_card_renewal(kiosk).data["item"]["code"]
    withdrawn = kiosk.step(lambda f: f.set_text("临时居民身份证")).data["results"][0]["code"]
    revise = f"{sim.url}/_sim/catalog/revise"
    requests.post(revise, json={"item_code": code, "fields": {"phone": "0979-8499999"}}, timeout=5)
    requests.post(revise, json={"item_code": withdrawn, "remove": True}, timeout=5)

    outcome = kiosk.synced()
    assert (outcome.version, outcome.changed, outcome.removed) == (3, 1, 1)
    assert kiosk.step(lambda f: f.open_item(code)).data["item"]["phone"] == "0979-8499999"
    gone = kiosk.step(lambda f: f.open_item(withdrawn))
    assert gone.name == "search" and gone.error_text == "该事项已调整或下线，请重新查询"


# --- offline --------------------------------------------------------------------------------


def test_guides_work_from_the_kiosks_copy_with_the_platform_down_and_say_its_age(
    hall_db: HallDb, tmp_path: Path, sim: UpstreamServer,
    cups_pdf: DocumentPrinter,
) -> None:  # fmt: skip
    first = Kiosk(hall_db, tmp_path / "kiosk-1", sim.url, cups_pdf)
    assert first.synced().ok
    first.close()
    sim.stop()

    # The kiosk restarts with the platform unreachable: its copy serves the guides.
    kiosk = Kiosk(hall_db, tmp_path / "kiosk-1", sim.url, cups_pdf)
    try:
        assert kiosk.synced().error_key == "platform_unreachable"
        screen = kiosk.open()
        assert screen.error_key is None and screen.data["total"] >= 300
        assert screen.data["catalog"]["stale"] is False
        guide = id_card_renewal(kiosk)
        assert guide.data["materials"]

        hall_db.clock.advance(3 * DAY + 600)
        assert kiosk.synced().error_key == "platform_unreachable"
        old = kiosk.step(lambda f: f.back())
        assert old.data["catalog"]["stale"] is True and old.data["catalog"]["age_days"] == 3
        assert kiosk.step(lambda f: f.open_item(guide.data["item"]["code"])).data["catalog"][
            "age_days"
        ] == 3
    finally:
        kiosk.close()


def test_a_kiosk_that_never_reached_the_platform_says_the_catalog_is_not_there_yet(
    hall_db: HallDb, tmp_path: Path
) -> None:
    kiosk = Kiosk(hall_db, tmp_path / "kiosk-9", "http://127.0.0.1:9", None)
    try:
        assert kiosk.synced().error_key == "platform_unreachable"
        screen = kiosk.open()
        assert screen.data["total"] == 0
        assert screen.error_text == "办事指南目录尚未下载，请稍后再试或咨询工作人员"
    finally:
        kiosk.close()


def test_once_the_platform_is_back_the_copy_is_current_again(
    kiosk: Kiosk, sim: UpstreamServer, hall_db: HallDb
) -> None:
    sim.fault("error500", path_prefix="/catalog")
    hall_db.clock.advance(2 * DAY)
    assert kiosk.synced().error_key == "platform_server_error"
    assert kiosk.open().data["catalog"]["age_days"] == 2
    sim.clear_faults()
    assert kiosk.synced().ok
    assert kiosk.step(lambda f: f.clear()).data["catalog"]["stale"] is False


# --- printing -------------------------------------------------------------------------------


def printed_events(hall_db: HallDb) -> list[Event]:
    rows = journal.pending(hall_db.conn, 10_000)
    return [r.event for r in rows if r.event.kind == Kind.DOCUMENT_PRINTED]


def test_a_printed_guide_comes_out_of_the_printer_and_is_journaled(
    kiosk: Kiosk, cups: CupsServer, hall_db: HallDb
) -> None:
    before = set(cups.pdfs())
    kiosk.open()
    guide = id_card_renewal(kiosk)
    kiosk.step(lambda f: f.choose_situation("02"))
    printed = kiosk.step(lambda f: f.print_guide())
    assert printed.name == "guide" and printed.error_key is None
    assert printed.data["printed"] is True
    assert len([p for p in cups.pdfs() if p not in before]) == 1
    [event] = printed_events(hall_db)
    assert event.device_id == "kiosk-1"
    assert event.data == {"function": "service_guide", "item": guide.data["item"]["code"],
                          "pages": 1, "copies": 1, "outcome": "done"}  # fmt: skip


@pytest.fixture
def paperless(a4: DocumentPrinter, state: StatePrinter) -> DocumentPrinter:
    """The a4 queue's printer, out of paper (given back after the test: the held job prints,
    as it would for staff refilling the tray)."""
    state.set("media-empty-error")
    return a4


def test_a_printer_out_of_paper_is_said_in_chinese_and_the_guide_stays(
    hall_db: HallDb, tmp_path: Path, sim: UpstreamServer,
    paperless: DocumentPrinter,
) -> None:  # fmt: skip
    kiosk = Kiosk(hall_db, tmp_path / "kiosk-1", sim.url, paperless)
    try:
        assert kiosk.synced().ok
        kiosk.open()
        guide = id_card_renewal(kiosk)
        failed = kiosk.step(lambda f: f.print_guide())
        assert failed.name == "guide" and failed.data["item"] == guide.data["item"]
        assert failed.error_text == "打印机缺纸，请联系工作人员"
        assert failed.data["printed"] is False
        [event] = printed_events(hall_db)
        assert (event.data["item"], event.data["outcome"]) == (guide.data["item"]["code"], "failed")
        health = [r.event for r in journal.pending(hall_db.conn, 10_000)
                  if r.event.kind == Kind.DEVICE_HEALTH]  # fmt: skip
        assert health and health[-1].device_id == "a4-1"
    finally:
        kiosk.close()


def test_a_kiosk_without_a_document_printer_offers_no_print(
    hall_db: HallDb, tmp_path: Path, sim: UpstreamServer
) -> None:
    kiosk = Kiosk(hall_db, tmp_path / "kiosk-1", sim.url, None)
    try:
        assert kiosk.synced().ok
        kiosk.open()
        assert id_card_renewal(kiosk).data["can_print"] is False
    finally:
        kiosk.close()


def test_going_home_forgets_the_search(kiosk: Kiosk) -> None:
    kiosk.open()
    kiosk.step(lambda f: f.set_text("sfz"))
    kiosk.home.home()
    again = kiosk.open()
    assert again.data["query"] == {"audience": None, "theme": None, "department": None, "text": ""}


def test_a_rebuilt_platform_catalog_replaces_the_kiosks_copy(
    kiosk: Kiosk, sim: UpstreamServer
) -> None:
    kiosk.open()
    code = id_card_renewal(kiosk).data["item"]["code"]
    requests.post(f"{sim.url}/_sim/catalog/revise", timeout=5,
                  json={"item_code": code, "fields": {"name": "居民身份证换领（试行）"}})  # fmt: skip
    assert kiosk.synced().version == 2
    port = sim.port
    sim.stop()
    # The platform comes back rebuilt from its source at version 1, on the same address.
    with UpstreamServer("政务服务平台", catalog.routes(People(make_people(10, 7))), port=port):
        outcome = kiosk.synced()
        assert (outcome.version, outcome.changed) == (1, len(catalog.build_items()))
    assert kiosk.step(lambda f: f.open_item(code)).data["item"]["name"] == "居民身份证换领"

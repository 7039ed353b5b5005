"""自助填表 as a citizen lives it: choose a form, show the ID card, fill it on screen or on the
phone (headless Chromium on the platform simulator's mobile page), and take it away printed on
A4 through a private CUPS; a printer that runs out of paper says so and 重新打印 prints one.

The printed PDF: ``test-artifacts/form_fill/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.events import Kind
from devices.document_printer import DocumentPrinter
from devices.id_card_reader import IdCardReader
from flows.form_print import FormPrintFlow
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim import simulator_of
from hardware_sim.cups_server import CupsServer, StatePrinter
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, hall_today, remembers, serving
from tests.phone_browser import Phone
from upstream_sim.people import People, Person, make_people
from upstream_sim.server import UpstreamServer
from upstream_sim.submissions import SubmissionDesk

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "form_fill"
PENSION = "城乡居民养老保险参保登记"
SHOP = "个体工商户设立登记"


@pytest.fixture
def desk(hall_db: HallDb) -> Iterator[tuple[SubmissionDesk, UpstreamServer, PlatformHttp]]:
    today = hall_today(hall_db)
    desk = SubmissionDesk(People(make_people(30, seed=20261207, today=today)), lambda: today)
    with serving(desk.routes(), read_timeout_s=4.0) as (server, http):
        yield desk, server, http


def flow_for(hall_db: HallDb, http: PlatformHttp, reader: IdCardReader,
             printer: DocumentPrinter | None) -> FormPrintFlow:  # fmt: skip
    ctx = KioskContext(queue=hall_db.queue, device_id="kiosk-1", clock=hall_db.clock,
                       platform=http, id_reader=reader, document_printer=printer)  # fmt: skip
    return FormPrintFlow(ctx, phone_wait_s=1.0)


def person_of(desk: SubmissionDesk) -> Person:
    return desk.people.all[0]


def to_mode(flow: FormPrintFlow, desk: SubmissionDesk, reader: IdCardReader, name: str) -> Screen:
    listing = flow.start()
    code = next(i["code"] for i in listing.data["items"] if i["name"] == name)
    assert flow.choose_item(code).name == "identify_card"
    simulator_of(reader).place(card_of(person_of(desk)))
    mode = flow.identified(flow.identify.read_card())
    assert mode.name == "form_mode"
    return mode


def printed_forms(hall_db: HallDb) -> list[tuple[str, str, str]]:
    return [(p.event.data["function"], p.event.data["item"], p.event.data["outcome"])
            for p in journal.pending(hall_db.conn, 10_000)
            if p.event.kind == Kind.DOCUMENT_PRINTED]  # fmt: skip


def test_a_form_filled_on_screen_prints_as_one_clean_a4_page(
    hall_db: HallDb, desk, reader: IdCardReader, cups_pdf: DocumentPrinter, cups: CupsServer
) -> None:
    sim, _, http = desk
    before = len(cups.pdfs())
    flow = flow_for(hall_db, http, reader, cups_pdf)
    to_mode(flow, sim, reader, PENSION)
    form = flow.fill_on_screen()
    assert [f["label"] for f in form.data["fields"]] == ["联系电话", "居住地址", "缴费档次"]
    assert flow.form_done().error_key == "form_invalid"  # nothing filled yet
    assert flow.edit("contribution").data["options"][:2] == ["200元", "300元"]
    assert flow.set_field("phone", "12345").error_key == "phone_invalid"
    for key, value in (("phone", "13812345678"), ("address", "河西街道12号"), ("contribution", "500元")):
        assert flow.set_field(key, value).name == "form"
    preview = flow.form_done()
    assert preview.name == "preview"
    person = person_of(sim)
    shown = {r["label"]: r["value"] for r in preview.data["rows"]}
    assert shown["身份证号码"] != person.id_number and shown["缴费档次"] == "500元"
    printed = flow.print_form()
    assert (printed.name, printed.data["printed"], printed.data["pages"]) == ("printed", True, 1)
    assert flow.print_form().data["printed"] is True  # a second tap prints nothing more
    assert len(cups.pdfs()) == before + 1
    pdf = cups.pdfs()[-1]
    assert re.findall(rb"/MediaBox \[ ?0 0 (\d+)\S* (\d+)\S* ?\]", pdf.read_bytes()) == [(b"595", b"842")]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "pension_registration_form.pdf")
    code = next(c for c, i in sim.items.items() if i["name"] == PENSION)
    assert printed_forms(hall_db) == [("form_fill", code, "done")]
    flow.leave()
    assert not remembers(flow, person.id_number) and not remembers(flow, "13812345678")


def test_a_form_filled_on_the_phone_arrives_on_the_kiosk_and_prints(
    hall_db: HallDb, desk, reader: IdCardReader, cups_pdf: DocumentPrinter, tmp_path: Path
) -> None:
    sim, _, http = desk
    flow = flow_for(hall_db, http, reader, cups_pdf)
    to_mode(flow, sim, reader, SHOP)
    qr = flow.fill_by_phone()
    assert qr.name == "phone_qr"
    phone = Phone(tmp_path / "phone")
    try:
        phone.open(qr.data["url"])
        phone.fill({"business_name": "格尔木市河西便利店", "scope": "日用百货零售",
                    "premises": "河西街道昆仑路8号", "phone": "13712345678"})  # fmt: skip
        assert phone.submit() == "submitted"
        phone.screenshot(ARTIFACTS / "phone_shop_form.png")
    finally:
        phone.close()
    form = flow.poll_phone()
    assert (form.name, form.data["complete"]) == ("form", True)
    assert flow.form_done().name == "preview"
    assert flow.print_form().data["printed"] is True


def test_paper_running_out_says_so_and_reprint_prints_one_form(
    hall_db: HallDb, desk, reader: IdCardReader, a4: DocumentPrinter, state: StatePrinter
) -> None:
    sim, _, http = desk
    flow = flow_for(hall_db, http, reader, a4)
    to_mode(flow, sim, reader, PENSION)
    flow.fill_on_screen()
    for key, value in (("phone", "13812345678"), ("address", "河西街道12号"), ("contribution", "200元")):
        flow.set_field(key, value)
    flow.form_done()
    state.set("media-empty-error")
    failed = flow.print_form()
    assert (failed.data["printed"], failed.error_text) == (False, "打印机缺纸，请联系工作人员")
    state.set()
    assert flow.print_form().data["printed"] is True
    assert len(state.printed()) == 1
    assert [o for _, _, o in printed_forms(hall_db)] == ["failed", "done"]

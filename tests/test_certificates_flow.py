"""证明打印 as a citizen lives it: the certificate comes from the platform, is shown page by page,
and prints through a real CUPS (a private cupsd with a cups-pdf queue and a state printer,
tests/printing.py); a printer that fails mid-job cancels it and says why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from core.events import Kind
from devices.document_printer import DocumentPrinter
from devices.id_card_reader import IdCardReader
from flows.certificates import CertificatesFlow
from flows.kiosk_functions import KioskHome, built_in
from flows.screens import Screen
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim import simulator_of
from hardware_sim.cups_server import CupsServer, StatePrinter
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, hall_today, kiosk_context, remembers, serving
from tests.printing import pdf_pages
from upstream_sim.certificates import CertificateDesk
from upstream_sim.citizen_records import records_of
from upstream_sim.people import People, Person, make_people
from upstream_sim.server import UpstreamServer

CERTIFICATES = built_in("certificates")


@dataclass
class Sim:
    server: UpstreamServer
    desk: CertificateDesk
    people: People
    http: PlatformHttp
    today: date

    def paid_pension(self) -> Person:
        return next(p for p in self.people.all if records_of(p, self.today).pension_years)

    def owns_property(self, owns: bool) -> Person:
        return next(
            p for p in self.people.all
            if any(c.state == "已备案" for c in records_of(p, self.today).property_contracts) == owns
        )  # fmt: skip


@pytest.fixture
def sim(hall_db: HallDb) -> Iterator[Sim]:
    today = hall_today(hall_db)
    people = People(make_people(60, seed=20261207, today=today))
    desk = CertificateDesk(people, lambda: today)
    with serving(desk.routes()) as (server, http):
        yield Sim(server, desk, people, http, today)


def flow_with(hall_db: HallDb, sim: Sim, reader: IdCardReader, printer: DocumentPrinter) -> CertificatesFlow:
    return CertificatesFlow(kiosk_context(hall_db, sim, reader, document_printer=printer))


def prints(hall_db: HallDb) -> list[dict]:
    return [
        p.event.data
        for p in journal.pending(hall_db.conn, 10_000)
        if p.event.kind == Kind.DOCUMENT_PRINTED
    ]


def tap_card(flow: CertificatesFlow, reader: IdCardReader, person: Person, certificate: str) -> Screen:
    assert flow.start().name == "choose_certificate"
    assert flow.choose(certificate).name == "identify_card"
    simulator_of(reader).place(card_of(person))
    return flow.identified(flow.identify.read_card())


def test_the_pension_certificate_is_shown_page_by_page_and_prints_once(
    hall_db: HallDb, sim: Sim, reader: IdCardReader, cups_pdf: DocumentPrinter, cups: CupsServer
) -> None:
    flow = flow_with(hall_db, sim, reader, cups_pdf)
    preview = tap_card(flow, reader, sim.paid_pension(), "pension_payment")
    assert (preview.name, preview.data["title"], preview.data["page"]) == (
        "preview", "企业职工基本养老保险缴费凭证", 1
    )
    pages = preview.data["pages"]
    assert preview.data["page_png"].startswith(b"\x89PNG")
    if pages > 1:
        assert flow.page(2).data["page_png"] != preview.data["page_png"]

    before = set(cups.pdfs())
    printed = flow.print_document()
    assert (printed.data["printed"], printed.error_key) == (True, None)
    new = [p for p in cups.pdfs() if p not in before]
    assert len(new) == 1 and pdf_pages(new[0]) == pages
    assert flow.print_document().data["printed"] is True  # a second tap prints nothing more
    assert [p for p in cups.pdfs() if p not in before] == new
    assert prints(hall_db) == [
        {"function": "certificates", "item": "pension_payment", "pages": pages, "outcome": "done"}
    ]


def test_no_house_is_refused_for_an_owner_and_issued_to_others(
    hall_db: HallDb, sim: Sim, reader: IdCardReader, cups_pdf: DocumentPrinter
) -> None:
    flow = flow_with(hall_db, sim, reader, cups_pdf)
    refused = tap_card(flow, reader, sim.owns_property(True), "no_house")
    assert refused.name == "refused"
    assert refused.error_text.startswith("经查询，您名下有不动产登记信息，无法出具无房证明")
    issued = tap_card(flow, reader, sim.owns_property(False), "no_house")
    assert (issued.name, issued.data["title"], issued.data["pages"]) == ("preview", "无房证明", 1)


def test_paper_running_out_mid_job_cancels_it_and_reprint_after_refill_prints_one_copy(
    hall_db: HallDb, sim: Sim, reader: IdCardReader, a4: DocumentPrinter, state: StatePrinter
) -> None:
    flow = flow_with(hall_db, sim, reader, a4)
    tap_card(flow, reader, sim.owns_property(False), "no_house")
    state.set("media-empty-error")
    failed = flow.print_document()
    assert (failed.name, failed.data["printed"]) == ("preview", False)
    assert failed.error_text == "打印机缺纸，请联系工作人员"
    state.set()  # staff refill the paper: the cancelled job must not come out now
    reprinted = flow.print_document()
    assert (reprinted.data["printed"], reprinted.error_key) == (True, None)
    assert len(state.printed()) == 1
    assert [(p["outcome"], p.get("error_code")) for p in prints(hall_db)] == [
        ("failed", 310), ("done", None)
    ]


def test_a_slow_platform_says_so_and_retry_fetches_the_certificate(
    hall_db: HallDb, sim: Sim, reader: IdCardReader, cups_pdf: DocumentPrinter
) -> None:
    flow = flow_with(hall_db, sim, reader, cups_pdf)
    sim.server.fault("timeout", path_prefix="/certificates/pension-payment", delay_s=1.0)
    try:
        screen = tap_card(flow, reader, sim.paid_pension(), "pension_payment")
        assert (screen.name, screen.data["retry"]) == ("unavailable", True)
        assert screen.error_text == "政务服务平台响应超时，请稍后再试"
    finally:
        sim.server.clear_faults()
    assert flow.retry().name == "preview"
    assert prints(hall_db) == []


def test_going_home_forgets_the_citizen_and_their_document(
    hall_db: HallDb, sim: Sim, reader: IdCardReader, cups_pdf: DocumentPrinter
) -> None:
    home = KioskHome(kiosk_context(hall_db, sim, reader, document_printer=cups_pdf), [CERTIFICATES])
    person = sim.paid_pension()
    home.open("certificates")
    home.step("certificates", lambda f: f.choose("pension_payment"))
    simulator_of(reader).place(card_of(person))
    shown = home.step("certificates", lambda f: f.identified(f.identify.read_card()))
    assert shown.name == "preview"
    assert home.home().name == "home"
    flow = home.flows["certificates"]
    assert flow.document is None
    assert not remembers(flow, person.id_number) and not remembers(flow, person.name)

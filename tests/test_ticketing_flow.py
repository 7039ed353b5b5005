"""The kiosk ticket flow as a citizen lives it, on the simulated USB printer (no UI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.events import Kind
from devices.open import open_ticket_printer
from devices.ticket_printer import TicketPrinter
from flows.kiosk_functions import KioskContext
from flows.ticketing import TicketFlow
from hallstore import journal
from hardware_sim import simulator_of
from tests.conftest import HallDb


@pytest.fixture
def printer() -> Iterator[TicketPrinter]:
    p = open_ticket_printer("sim://usb-printer", "printer-1")
    yield p
    p.close()


def health_events(hall_db: HallDb) -> list[dict]:
    return [p.event.data for p in journal.pending(hall_db.conn, 10_000) if p.event.kind == Kind.DEVICE_HEALTH]


def test_taking_a_ticket_prints_the_number_shown_on_screen(hall_db: HallDb, printer: TicketPrinter) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    assert flow.screen.name == "home"
    services = flow.choose_service().data["services"]
    assert [s["name"] for s in services] == ["社保医保", "户籍办理", "企业开办"]
    screen = flow.take("social")
    assert (screen.name, screen.error_key, screen.data["printed"]) == ("ticket", None, True)
    printed = simulator_of(printer).tickets[-1]
    assert screen.data["ticket_no"] in printed.texts
    assert list(printed.qr_payloads) == [screen.data["qr_payload"]]
    assert screen.data["ticket_no"] in screen.data["qr_payload"]


def test_the_service_list_counts_who_waits(hall_db: HallDb, printer: TicketPrinter) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    flow.take("household")
    flow.take("household")
    waiting = {s["code"]: s["waiting"] for s in flow.choose_service().data["services"]}
    assert waiting == {"social": 0, "household": 2, "business": 0}
    third = flow.take("household")
    assert third.data["people_ahead"] == 2 and third.data["est_wait_min"] > 0


def test_paper_out_still_issues_the_ticket_and_says_so_in_chinese(
    hall_db: HallDb, printer: TicketPrinter
) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    sim = simulator_of(printer)
    sim.inject("paper_out")
    screen = flow.take("social")
    assert screen.data["ticket_no"] == "A001" and screen.data["printed"] is False
    assert screen.error_key == "paper_out"
    assert screen.error_text == "打印机缺纸，请联系工作人员"
    assert hall_db.queue.waiting_count("social") == 1
    assert sim.tickets == []
    assert health_events(hall_db)[-1] | {"code": None} == {
        "device": "printer-1", "state": "error", "reasons": ["paper_out"], "code": None
    }


def test_a_fault_is_journaled_once_and_its_repair_once(hall_db: HallDb, printer: TicketPrinter) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    flow.take("social")
    sim = simulator_of(printer)
    sim.inject("cover_open")
    for _ in range(3):
        assert flow.take("social").error_key == "cover_open"
    sim.clear("cover_open")
    assert flow.take("social").data["printed"] is True
    states = [(e["state"], e["reasons"]) for e in health_events(hall_db)]
    assert states == [("ok", []), ("error", ["cover_open"]), ("ok", [])]


def test_an_unplugged_printer_keeps_the_queue_going(hall_db: HallDb, printer: TicketPrinter) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    flow.take("business")
    simulator_of(printer).inject("unplugged")
    screen = flow.take("business")
    assert (screen.data["ticket_no"], screen.data["printed"]) == ("C002", False)
    assert screen.error_key == "device_unplugged"
    assert screen.error_text == "设备已断开，请联系工作人员"
    assert health_events(hall_db)[-1]["state"] == "offline"
    # Still gone at the next citizen: the kiosk looks for it again, and says so.
    assert flow.take("business").error_key == "device_not_found"
    assert hall_db.queue.waiting_count("business") == 3


def test_an_unknown_service_returns_to_the_list_with_an_error(hall_db: HallDb, printer: TicketPrinter) -> None:
    flow = TicketFlow(hall_db.queue, printer, "kiosk-1", hall_db.clock)
    screen = flow.take("no-such")
    assert (screen.name, screen.error_key) == ("choose_service", "unknown_service")
    assert simulator_of(printer).tickets == []


def test_the_ticket_function_starts_at_the_services_and_leaves_to_rest(
    hall_db: HallDb, printer: TicketPrinter
) -> None:
    """On a kiosk the flow is built by its registry factory; the kiosk's home screen and idle
    timeout are KioskHome's (tests/test_kiosk_functions.py)."""
    context = KioskContext(hall_db.queue, "kiosk-1", hall_db.clock, printer=printer)
    flow = TicketFlow.for_kiosk(context)
    assert flow.printer is printer and flow.device_id == "kiosk-1"
    assert flow.start().name == "choose_service"
    assert flow.take("social").name == "ticket"
    flow.leave()
    assert flow.screen.name == "home"

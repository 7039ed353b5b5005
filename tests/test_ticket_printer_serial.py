"""The same ticket printer on a serial cable: the real pyserial driver against the ESC/POS
simulator on a baud-paced pty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.errors import DeviceUnplugged, PaperOut
from core.strings_zh import error_text
from devices.open import open_ticket_printer
from devices.ticket_printer import TicketContent, TicketPrinter
from hardware_sim import simulator_of

CONTENT = TicketContent(
    hall_name="示范区政务服务中心", service_name="社保医保", ticket_no="A012",
    people_ahead=3, est_wait_s=600, issued_at=1795395600.0, qr_payload="HE1|hall-demo|A012|t",
)


@pytest.fixture
def printer() -> Iterator[TicketPrinter]:
    p = open_ticket_printer("serial://sim?baud=115200", "printer-1")
    yield p
    p.close()


def test_a_chinese_ticket_prints_over_serial(printer: TicketPrinter) -> None:
    health = printer.print_ticket(CONTENT)
    assert health.usable
    ticket = simulator_of(printer).tickets[-1]
    assert "A012" in ticket.texts and "前面还有 3 人等候" in ticket.texts
    assert list(ticket.qr_payloads) == ["HE1|hall-demo|A012|t"]


def test_paper_out_is_read_from_the_serial_status_reply(printer: TicketPrinter) -> None:
    sim = simulator_of(printer)
    sim.inject("paper_out")
    with pytest.raises(PaperOut) as err:
        printer.print_ticket(CONTENT)
    assert error_text(err.value) == "打印机缺纸，请联系工作人员"
    assert sim.tickets == []


def test_a_pulled_serial_cable_is_reported_and_recovers(printer: TicketPrinter) -> None:
    printer.print_ticket(CONTENT)
    sim = simulator_of(printer)
    sim.inject("unplugged")
    with pytest.raises(DeviceUnplugged):
        printer.print_ticket(CONTENT)
    assert printer.last_health.state.value == "offline"
    sim.clear("unplugged")
    printer.print_ticket(CONTENT)
    assert len(sim.tickets) == 2

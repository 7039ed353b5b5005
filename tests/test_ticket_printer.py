"""A citizen gets a correct ticket, or the kiosk learns why not.

Every test runs the real :class:`drivers.usb_bulk.UsbBulk` on the simulated USB printer, opened
from a device URL exactly as the hall configuration does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.clock import at_hall_time
from core.errors import (
    CoverOpen,
    DeviceNotFound,
    DeviceTimeout,
    DeviceUnplugged,
    PaperOut,
    PrinterOffline,
)
from devices.health import Health, HealthState
from devices.open import open_ticket_printer
from devices.ticket_printer import PROFILES, TicketContent, TicketPrinter
from hardware_sim import simulator_of
from hardware_sim.escpos_printer import EscPosPrinterSim, Fault

ISSUED = at_hall_time("2026-11-23", "08:47")
CONTENT = TicketContent(
    hall_name="示范区政务服务中心",
    service_name="社保医保",
    ticket_no="A012",
    people_ahead=7,
    est_wait_s=1250,
    issued_at=ISSUED,
    qr_payload="https://hall.example.cn/q/hall-demo/A012?d=2026-11-23",
)
EXPECTED_LINES = [
    "示范区政务服务中心",
    "社保医保",
    "",
    "A012",
    "",
    "前面还有 7 人等候",
    "预计等候约 21 分钟",
    "取号时间：2026-11-23 08:47",
    "",
    "",
    "请留意叫号，过号需重新取号",
]


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[TicketPrinter]:
    p = open_ticket_printer(f"sim://usb-printer?record={tmp_path / 'tickets.jsonl'}", "printer-1")
    try:
        yield p
    finally:
        p.close()


def sim_of(printer: TicketPrinter) -> EscPosPrinterSim:
    sim = simulator_of(printer)
    assert isinstance(sim, EscPosPrinterSim)
    return sim


def test_a_chinese_ticket_comes_out_as_laid_out(printer: TicketPrinter) -> None:
    health = printer.print_ticket(CONTENT)
    sim = sim_of(printer)
    assert health == Health.ok("printer-1")
    assert sim.protocol_errors == []
    (ticket,) = sim.tickets
    assert ticket.texts == EXPECTED_LINES
    assert ticket.cut == "partial"
    number = ticket.line("A012")
    assert (number.width, number.height, number.align) == (2, 2, "center")
    assert ticket.line("示范区政务服务中心").bold
    assert all(line.align == "center" for line in ticket.lines if line.text)


def test_the_qr_code_holds_the_payload(printer: TicketPrinter) -> None:
    printer.print_ticket(CONTENT)
    assert sim_of(printer).tickets[0].qr_payloads == (CONTENT.qr_payload,)


def test_key_commands_go_out_byte_for_byte(printer: TicketPrinter) -> None:
    printer.print_ticket(CONTENT)
    wire = bytes(sim_of(printer).received)
    status = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    assert wire.startswith(status + b"\x1b\x40\x1c\x26")  # status, ESC @, FS &
    assert wire.endswith(b"\x1b\x64\x03\x1d\x56\x42\x00" + status)  # feed 3, partial cut
    assert "请留意叫号，过号需重新取号\n".encode("gb18030") in wire
    assert b"\x1d\x21\x11A012\n\x1d\x21\x00" in wire  # double size number
    data = CONTENT.qr_payload.encode()
    assert (
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"
        b"\x1d\x28\x6b\x03\x00\x31\x43\x06"
        b"\x1d\x28\x6b\x03\x00\x31\x45\x31"
        b"\x1d\x28\x6b" + (len(data) + 3).to_bytes(2, "little") + b"\x31\x50\x30" + data
        + b"\x1d\x28\x6b\x03\x00\x31\x51\x30"
    ) in wire


def test_full_width_punctuation_survives_where_python_escpos_loses_it(
    printer: TicketPrinter,
) -> None:
    from escpos.printer import Dummy

    lossy = Dummy()
    lossy.text("，。：\n")
    assert lossy.output.endswith(b"???\n")  # python-escpos 3.1, reference §2.4
    footer = "过号请重新取号。谢谢：）"
    printer.print_ticket(
        replace(CONTENT, footer=footer, service_name="户籍（迁入）")
    )
    texts = sim_of(printer).tickets[0].texts
    assert footer in texts and "户籍（迁入）" in texts


def test_a_long_hall_name_is_broken_into_centred_lines(printer: TicketPrinter) -> None:
    name = "某某省某某市某某区人民政府政务服务中心"  # 38 columns > 32
    printer.print_ticket(replace(CONTENT, hall_name=name))
    lines = sim_of(printer).tickets[0].lines
    assert [lines[0].text, lines[1].text] == [name[:16], name[16:]]
    assert not lines[1].wrapped  # broken by the host, so both halves are centred
    assert lines[1].align == "center"


def test_the_record_file_can_be_read_by_another_process(
    printer: TicketPrinter, tmp_path: Path
) -> None:
    printer.print_ticket(CONTENT)
    printer.print_ticket(replace(CONTENT, ticket_no="A013"))
    reader = (
        "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1], encoding='utf-8')];"
        "print(json.dumps([r['lines'][3] for r in rows] + [rows[0]['qr_payloads'][0]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", reader, str(tmp_path / "tickets.jsonl")],
        capture_output=True, check=True, text=True, timeout=120,
    )
    assert json.loads(out.stdout) == ["A012", "A013", CONTENT.qr_payload]


def test_paper_out_before_printing_refuses_and_prints_nothing(printer: TicketPrinter) -> None:
    sim = sim_of(printer)
    sim.inject(Fault.PAPER_OUT)
    with pytest.raises(PaperOut) as caught:
        printer.print_ticket(CONTENT)
    assert caught.value.code == 310
    assert caught.value.details["stage"] == "before"
    assert sim.tickets == sim.incomplete_tickets == []
    assert b"\x1b\x40" not in sim.received  # not one byte of the ticket was sent
    assert printer.last_health == Health("printer-1", HealthState.ERROR, ("paper_out",), 310)


def test_paper_running_out_mid_ticket_is_reported(tmp_path: Path) -> None:
    record = tmp_path / "tickets.jsonl"
    printer = open_ticket_printer(f"sim://usb-printer?paper=40&record={record}", "printer-1")
    with pytest.raises(PaperOut) as caught:
        printer.print_ticket(CONTENT)
    sim = sim_of(printer)
    assert caught.value.details["stage"] == "after"
    assert sim.tickets == []
    (partial,) = sim.incomplete_tickets
    assert 0 < len(partial.texts) < len(EXPECTED_LINES)
    assert not record.exists()
    assert printer.last_health.state is HealthState.ERROR
    printer.close()


def test_near_end_warns_but_still_prints(printer: TicketPrinter) -> None:
    seen: list[Health] = []
    printer.on_health = seen.append
    sim_of(printer).inject(Fault.NEAR_END)
    health = printer.print_ticket(CONTENT)
    assert health == Health("printer-1", HealthState.WARNING, ("paper_low",), None)
    assert len(sim_of(printer).tickets) == 1
    assert seen == [health]  # reported once, as a change
    assert health.to_event_data() == {
        "device": "printer-1", "state": "warning", "reasons": ["paper_low"], "code": None,
    }


def test_cover_open_refuses(printer: TicketPrinter) -> None:
    sim_of(printer).inject(Fault.COVER_OPEN)
    with pytest.raises(CoverOpen):
        printer.print_ticket(CONTENT)
    assert sim_of(printer).tickets == []
    assert printer.last_health.reasons == ("cover_open",)
    sim_of(printer).clear(Fault.COVER_OPEN)
    assert printer.print_ticket(CONTENT).state is HealthState.OK


def test_cutter_error_is_an_offline_printer(printer: TicketPrinter) -> None:
    sim_of(printer).inject(Fault.CUTTER_ERROR)
    with pytest.raises(PrinterOffline):
        printer.print_ticket(CONTENT)
    assert printer.last_health == Health("printer-1", HealthState.ERROR, ("cutter_error",), 312)
    assert 3 in sim_of(printer).status_queries  # asked for the error cause


def test_unplugged_printer_raises_unplugged_then_not_found_then_recovers(
    printer: TicketPrinter,
) -> None:
    sim = sim_of(printer)
    printer.print_ticket(CONTENT)
    sim.inject(Fault.UNPLUGGED)
    with pytest.raises(DeviceUnplugged) as caught:
        printer.print_ticket(CONTENT)
    assert caught.value.details["vid"] == "0416" and caught.value.details["pid"] == "5011"
    assert isinstance(caught.value.__cause__, Exception)  # the USBError it was mapped from
    assert printer.last_health.state is HealthState.OFFLINE
    assert printer.last_health.reasons == ("unplugged",)
    with pytest.raises(DeviceNotFound):
        printer.print_ticket(CONTENT)
    sim.clear(Fault.UNPLUGGED)
    assert printer.print_ticket(CONTENT).state is HealthState.OK
    assert len(sim.tickets) == 2


def test_unplug_and_replug_between_tickets_is_noticed(printer: TicketPrinter) -> None:
    sim = sim_of(printer)
    printer.print_ticket(CONTENT)
    sim.inject(Fault.UNPLUGGED)
    sim.clear(Fault.UNPLUGGED)
    # The old USB handle died with the unplug even though the printer is back.
    with pytest.raises(DeviceUnplugged):
        printer.print_ticket(CONTENT)
    assert printer.print_ticket(CONTENT).state is HealthState.OK


def test_a_printer_that_never_answers_is_unknown_not_ok(tmp_path: Path) -> None:
    printer = open_ticket_printer("sim://usb-printer?faults=no_status_reply", "printer-1")
    with pytest.raises(DeviceTimeout) as caught:
        printer.print_ticket(CONTENT)
    assert caught.value.code == 303
    assert printer.last_health == Health("printer-1", HealthState.UNKNOWN, ("timeout",), 303)
    assert printer.health().state is HealthState.UNKNOWN
    assert sim_of(printer).tickets == []
    printer.close()


def test_health_asks_the_printer_and_never_raises(printer: TicketPrinter) -> None:
    assert printer.last_health.state is HealthState.UNKNOWN  # nobody asked yet
    assert printer.health() == Health.ok("printer-1")
    sim_of(printer).inject(Fault.PAPER_OUT)
    assert printer.health().reasons == ("paper_out",)
    sim_of(printer).inject(Fault.UNPLUGGED)
    assert printer.health().state is HealthState.OFFLINE


def test_a_printer_without_qr_firmware_gets_a_raster_code(tmp_path: Path) -> None:
    printer = open_ticket_printer("sim://usb-printer?profile=pos-58-raster", "printer-1")
    printer.print_ticket(CONTENT)
    (ticket,) = sim_of(printer).tickets
    assert (ticket.images, ticket.qr_payloads) == (1, ())
    assert sim_of(printer).protocol_errors == []
    assert b"\x1d\x28\x6b" not in sim_of(printer).received
    printer.close()


def test_an_80mm_profile_uses_its_width_and_full_cut() -> None:
    printer = open_ticket_printer("sim://usb-printer?profile=pos-80", "printer-1")
    name = "某某省某某市某某区人民政府政务服务中心"
    printer.print_ticket(replace(CONTENT, hall_name=name))
    (ticket,) = sim_of(printer).tickets
    assert ticket.texts[0] == name
    assert ticket.cut == "full"
    assert PROFILES["pos-80"].columns == 48
    printer.close()


def test_a_short_wait_is_not_printed_as_zero_minutes(printer: TicketPrinter) -> None:
    printer.print_ticket(replace(CONTENT, people_ahead=0, est_wait_s=0))
    texts = sim_of(printer).tickets[0].texts
    assert "前面还有 0 人等候" in texts and "预计等候不到 1 分钟" in texts

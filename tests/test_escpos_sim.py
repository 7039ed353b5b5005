"""The ESC/POS simulator is at least as strict as a real printer, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware_sim.escpos_printer import EscPosPrinterSim, Fault

INIT_CHINESE = b"\x1b\x40\x1c\x26"
PARTIAL_CUT = b"\x1d\x56\x42\x00"


def printed(sim: EscPosPrinterSim) -> list[str]:
    return [line for ticket in sim.tickets for line in ticket.texts]


def test_gb18030_text_with_full_width_punctuation_prints_unchanged() -> None:
    sim = EscPosPrinterSim()
    text = "取号：08:30，请稍候。（窗口③）"
    sim.feed(INIT_CHINESE + text.encode("gb18030") + b"\n" + PARTIAL_CUT)
    assert sim.protocol_errors == []
    assert printed(sim) == [text]


def test_four_byte_gb18030_characters_decode() -> None:
    sim = EscPosPrinterSim()
    text = "𠀀𪚥"  # outside the two-byte range: four-byte GB18030 sequences
    assert len(text.encode("gb18030")) == 8
    sim.feed(INIT_CHINESE + text.encode("gb18030") + b"\n" + PARTIAL_CUT)
    assert printed(sim) == [text]


def test_chinese_bytes_without_fs_ampersand_are_garbage() -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1b\x40" + "请".encode("gb18030") + b"\n" + PARTIAL_CUT)
    assert [e.data for e in sim.protocol_errors] == [b"\xc7", b"\xeb"]
    assert printed(sim) == [""]


def test_fs_dot_leaves_chinese_mode_and_esc_at_does_not() -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1c\x26\x1b\x40")
    assert sim.chinese_mode
    sim.feed(b"\x1c\x2e")
    assert not sim.chinese_mode


def test_a_command_split_across_transfers_is_one_command() -> None:
    whole = EscPosPrinterSim()
    split = EscPosPrinterSim()
    stream = (
        INIT_CHINESE + b"\x1b\x61\x01\x1d\x21\x11" + "A001号".encode("gb18030") + b"\n"
        + b"\x1d\x28\x6b\x07\x00\x31\x50\x30A001\x1d\x28\x6b\x03\x00\x31\x51\x30" + PARTIAL_CUT
    )
    whole.feed(stream)
    for i in range(len(stream)):
        split.feed(stream[i : i + 1])
    assert split.tickets == whole.tickets
    assert split.protocol_errors == whole.protocol_errors == []
    assert whole.tickets[0].qr_payloads == ("A001",)


def test_print_modes_reach_the_rendered_line() -> None:
    sim = EscPosPrinterSim()
    sim.feed(
        INIT_CHINESE
        + b"\x1b\x61\x01\x1b\x45\x01" + "大厅".encode("gb18030") + b"\n"  # centre, bold
        + b"\x1b\x45\x00\x1b\x61\x02\x1d\x21\x11A001\n"  # right, double size
        + b"\x1d\x21\x00\x1b\x61\x00\x1b\x21\x30B\n"  # ESC ! 0x30: double width+height
        + PARTIAL_CUT
    )
    hall, number, b = sim.tickets[0].lines
    assert (hall.text, hall.align, hall.bold, hall.width) == ("大厅", "center", True, 1)
    assert (number.text, number.align, number.width, number.height) == ("A001", "right", 2, 2)
    assert (b.width, b.height, b.align) == (2, 2, "left")


def test_justification_is_taken_at_the_start_of_a_line() -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1b\x40AB\x1b\x61\x01CD\n" + PARTIAL_CUT)
    assert sim.tickets[0].lines[0].align == "left"
    assert sim.tickets[0].texts == ["ABCD"]


def test_a_line_wider_than_the_paper_wraps() -> None:
    sim = EscPosPrinterSim(dots_per_line=384)
    sim.feed(INIT_CHINESE + ("政" * 17).encode("gb18030") + b"\n" + PARTIAL_CUT)
    first, second = sim.tickets[0].lines
    assert (len(first.text), first.wrapped) == (16, False)
    assert (second.text, second.wrapped) == ("政", True)


@pytest.mark.parametrize(
    ("cut", "kind"),
    [
        (b"\x1d\x56\x00", "full"),
        (b"\x1d\x56\x30", "full"),
        (b"\x1d\x56\x01", "partial"),
        (b"\x1d\x56\x31", "partial"),
        (b"\x1d\x56\x41\x10", "full"),
        (b"\x1d\x56\x42\x00", "partial"),
    ],
)
def test_both_forms_of_gs_v_cut(cut: bytes, kind: str) -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1b\x40X\n" + cut)
    assert [(t.texts, t.cut) for t in sim.tickets] == [(["X"], kind)]


def test_esc_d_feeds_paper() -> None:
    sim = EscPosPrinterSim(paper_mm=100)
    sim.feed(b"\x1b\x64\x08")  # 8 lines of 30 dots at 8 dots/mm
    assert sim.paper_mm == pytest.approx(100 - 8 * 30 / 8)


def test_qr_code_functions_and_payload() -> None:
    sim = EscPosPrinterSim()
    payload = "https://hall.example.cn/t/A001?d=2026-11-23"
    data = payload.encode()
    sim.feed(
        b"\x1b\x40"
        + b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"  # model 2
        + b"\x1d\x28\x6b\x03\x00\x31\x43\x06"  # module 6 dots
        + b"\x1d\x28\x6b\x03\x00\x31\x45\x31"  # EC level M
        + b"\x1d\x28\x6b" + (len(data) + 3).to_bytes(2, "little") + b"\x31\x50\x30" + data
        + b"\x1d\x28\x6b\x03\x00\x31\x51\x30"
        + PARTIAL_CUT
    )
    assert sim.protocol_errors == []
    assert sim.tickets[0].qr_payloads == (payload,)


def test_qr_wider_than_the_paper_is_refused() -> None:
    sim = EscPosPrinterSim(dots_per_line=384)
    data = b"x" * 300  # a version-10+ symbol: 57+ modules x 16 dots > 384
    sim.feed(
        b"\x1d\x28\x6b\x03\x00\x31\x43\x10"
        + b"\x1d\x28\x6b" + (len(data) + 3).to_bytes(2, "little") + b"\x31\x50\x30" + data
        + b"\x1d\x28\x6b\x03\x00\x31\x51\x30" + PARTIAL_CUT
    )
    assert "does not fit" in sim.protocol_errors[0].reason
    assert sim.tickets[0].qr_payloads == ()


def test_printing_a_qr_code_with_nothing_stored_is_an_error() -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1d\x28\x6b\x03\x00\x31\x51\x30")
    assert sim.protocol_errors[0].reason == "QR print with no data stored"


@pytest.mark.parametrize(
    ("fault", "replies"),
    [
        (None, {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}),
        (Fault.PAPER_OUT, {1: 0x1A, 2: 0x32, 4: 0x72}),
        (Fault.NEAR_END, {1: 0x12, 2: 0x12, 4: 0x1E}),
        (Fault.COVER_OPEN, {1: 0x1A, 2: 0x16, 4: 0x12}),
        (Fault.CUTTER_ERROR, {1: 0x1A, 2: 0x52, 3: 0x1A}),
    ],
)
def test_dle_eot_answers_each_fault(fault: Fault | None, replies: dict[int, int]) -> None:
    sim = EscPosPrinterSim()
    if fault is not None:
        sim.inject(fault)
    for n, expected in replies.items():
        sim.feed(bytes((0x10, 0x04, n)))
        assert sim.read_reply(16, timeout_s=5) == bytes((expected,)), f"DLE EOT {n}"


def test_dle_eot_is_answered_in_the_middle_of_a_job() -> None:
    sim = EscPosPrinterSim()
    sim.feed(INIT_CHINESE + "前面还有".encode("gb18030") + b"\x10\x04\x04")
    assert sim.read_reply(1, timeout_s=5) == b"\x12"
    sim.feed("3人\n".encode("gb18030") + PARTIAL_CUT)
    assert sim.tickets[0].texts == ["前面还有3人"]


def test_a_printer_that_never_answers_status() -> None:
    sim = EscPosPrinterSim()
    sim.inject(Fault.NO_STATUS_REPLY)
    sim.feed(b"\x10\x04\x01")
    assert sim.read_reply(1, timeout_s=0.05) == b""
    assert sim.status_queries == [1]


def test_paper_running_out_mid_ticket_delivers_no_complete_ticket() -> None:
    sim = EscPosPrinterSim(paper_mm=10)  # 10 mm: two lines of 30 dots, not three
    sim.feed(b"\x1b\x40ONE\nTWO\nTHREE\nFOUR\n" + PARTIAL_CUT)
    assert sim.tickets == []
    (partial,) = sim.incomplete_tickets
    assert partial.texts == ["ONE", "TWO"]
    assert not partial.complete
    assert sim.paper_out
    sim.feed(b"\x10\x04\x04")
    assert sim.read_reply(1, timeout_s=5) == b"\x72"


def test_nothing_prints_with_the_cover_open_and_printing_resumes_when_closed() -> None:
    sim = EscPosPrinterSim()
    sim.inject(Fault.COVER_OPEN)
    sim.feed(b"\x1b\x40LOST\n" + PARTIAL_CUT)
    sim.clear(Fault.COVER_OPEN)
    sim.feed(b"\x1b\x40KEPT\n" + PARTIAL_CUT)
    assert [t.texts for t in sim.tickets] == [["KEPT"]]
    assert [t.texts for t in sim.incomplete_tickets] == [[]]


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (b"\x1b\x7a\x01", "unknown command ESC 0x7A"),
        (b"\x1d\x99", "unknown command GS 0x99"),
        (b"\x07", "unknown control byte 0x07"),
        (b"\x1b\x61\x05", "ESC a 5: no such justification"),
        (b"\x1d\x21\x88", "GS ! 0x88: size out of range"),
        (b"\x1d\x56\x07", "GS V 7: no such cut"),
        (b"\x10\x04\x09", "DLE EOT 9: no such status"),
        (b"\x1c\x43\x01", "unknown command FS 0x43"),
        (b"\x1d\x28\x6b\x03\x00\x31\x43\x00", "GS ( k 167: QR module size must be 1-16"),
        (b"\x1c\x26\xff\x41", "0xFF cannot start a GB18030 character"),
    ],
)
def test_unknown_or_malformed_commands_are_recorded(garbage: bytes, reason: str) -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1b\x40" + garbage)
    assert reason in [e.reason for e in sim.protocol_errors]


def test_protocol_error_records_where_in_the_stream() -> None:
    sim = EscPosPrinterSim()
    sim.feed(b"\x1b\x40AB\x1b\x7a")
    (error,) = sim.protocol_errors
    assert (error.offset, error.data) == (4, b"\x1b\x7a")


def test_variable_length_command_skips_exactly_its_declared_payload() -> None:
    sim = EscPosPrinterSim()
    # GS ( L (graphics) is not supported, but its 4-byte payload must not print as text.
    sim.feed(b"\x1b\x40\x1d\x28\x4c\x04\x00ABCDok\n" + PARTIAL_CUT)
    assert [e.data for e in sim.protocol_errors] == [b"\x1d\x28\x4c\x04\x00ABCD"]
    assert sim.tickets[0].texts == ["ok"]


def test_raster_image_is_counted_and_its_bytes_skipped() -> None:
    sim = EscPosPrinterSim()
    image = b"\x1d\x76\x30\x00\x02\x00\x03\x00" + b"\x0a" * 6  # 16x3 dots of LF bytes
    sim.feed(b"\x1b\x40" + image + PARTIAL_CUT)
    assert sim.protocol_errors == []
    assert (sim.tickets[0].images, sim.tickets[0].texts) == (1, [])


def test_record_file_gets_one_json_line_per_complete_ticket(tmp_path: Path) -> None:
    record = tmp_path / "tickets.jsonl"
    sim = EscPosPrinterSim(record=record, paper_mm=200)
    sim.feed(INIT_CHINESE + "请取票，谢谢。\n".encode("gb18030") + PARTIAL_CUT)
    sim.feed(b"\x1b\x40" + b"X\n" * 100 + PARTIAL_CUT)  # runs out of paper: not recorded
    rows = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1
    assert rows[0]["lines"] == ["请取票，谢谢。"]
    assert (rows[0]["qr_payloads"], rows[0]["cut"]) == ([], "partial")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_crash_or_hang_the_parser(data: bytes, chunk: int) -> None:
    sim = EscPosPrinterSim()
    for i in range(0, len(data), chunk):
        sim.feed(data[i : i + chunk])
    # Every byte is either consumed or waiting for the rest of its command.
    assert len(sim.pending) <= len(data)
    assert bytes(sim.received) == data
    for n in (1, 2, 4):
        assert sim.status_byte(n) & 0x93 == 0x12

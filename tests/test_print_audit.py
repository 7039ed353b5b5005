"""打印/复印审计 over a kiosk's day: certificates, a guide, ID card and document copies, a print
that failed, a copy resumed after a paper-out and one cancelled after the cover opened, all
through a real private CUPS; then the report a member of staff takes away (CSV and PDF, read
back as they would read them), the query by period, the masking, and the hall's figures on
the collector."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import main
from collector.kiosk_usage import KioskUsage
from core.clock import at_hall_time, business_day
from devices.document_printer import DocumentPrinter
from flows.audit_report import CSV_HEADER, write_csv, write_pdf
from flows.copy_layout import Label, document_copy, id_card_copy
from flows.copy_print import CopyPrintJob
from flows.document_printing import DocumentPrinting
from flows.kiosk_functions import KioskContext, built_in
from flows.print_audit import FILE_NAME, AuditedJournal, PrintAudit, totals
from hallstore import journal
from hardware_sim.cups_server import StatePrinter
from tests.conftest import HallDb

DAY = "2026-11-23"
ID_NUMBER = "110101199003071234"
SELF_COPY = built_in("self_copy")


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[PrintAudit]:
    store = PrintAudit.in_dir(tmp_path / "kiosk-1")
    yield store
    store.close()


def _pdf(pages: int) -> bytes:
    out = io.BytesIO()
    images = [Image.new("RGB", (595, 842), "white") for _ in range(pages)]
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


CARD = _jpeg((200, 215, 235), (1011, 638))
PAGE = _jpeg((250, 250, 250), (1654, 2339))


@pytest.fixture
def kiosk_day(hall_db: HallDb, cups_pdf: DocumentPrinter, a4: DocumentPrinter,
              state: StatePrinter, audit: PrintAudit, tmp_path: Path) -> HallDb:
    """The day before, the day (7 prints, copies and failures), the day after."""
    journal_ = AuditedJournal(hall_db.queue.transaction_journal("kiosk-1", hall_db.clock), audit)

    def context(printer: DocumentPrinter) -> KioskContext:
        return KioskContext(queue=hall_db.queue, device_id="kiosk-1", clock=hall_db.clock,
                            journal=journal_, document_printer=printer,
                            data_dir=tmp_path / "kiosk-1")  # fmt: skip

    def at(day: str, hhmm: str) -> None:
        hall_db.clock.set(at_hall_time(day, hhmm))

    def copy(printer: DocumentPrinter, purpose: str, document: object) -> CopyPrintJob:
        job = CopyPrintJob(context(printer), "self_copy", purpose, document.pages,  # type: ignore[attr-defined]
                           document.copies)  # type: ignore[attr-defined]  # fmt: skip
        job.submit(document.pdf, "self_copy-test", tmp_path / "spool")  # type: ignore[attr-defined]
        return job

    certificates = DocumentPrinting(context(cups_pdf), "certificates")
    at("2026-11-22", "16:00")
    assert certificates.print_pdf(_pdf(1), "无房证明", "no_house", 1).printed

    at(DAY, "09:00")
    assert certificates.print_pdf(_pdf(2), "养老保险缴费凭证", "pension_payment", 2).printed
    at(DAY, "09:30")
    label = Label("社保", DAY, "kiosk-1")
    assert copy(cups_pdf, "social_security", id_card_copy(CARD, CARD, label, 2)).state.status == "done"  # type: ignore[union-attr]
    at(DAY, "10:00")
    guide = DocumentPrinting(context(cups_pdf), "service_guide")
    assert guide.print_pdf(_pdf(3), "办事指南", "JG-000101", 3).printed
    at(DAY, "10:30")
    state.set(fail="abort")  # the printer fails the job
    assert not DocumentPrinting(context(a4), "certificates").print_pdf(
        _pdf(1), "无房证明", "no_house", 1).printed
    state.set()
    at(DAY, "11:00")
    state.set("media-empty-error")
    job = copy(a4, "real_estate", document_copy([PAGE, PAGE], Label("不动产登记", DAY, "kiosk-1"), 1))
    assert job.paused
    state.set()  # staff refill, the citizen taps 继续打印
    assert job.resume().status == "done"
    at(DAY, "11:30")
    state.set("cover-open-error")
    job = copy(a4, "household", id_card_copy(CARD, CARD, Label("户籍", DAY, "kiosk-1"), 1))
    assert job.cancel().status == "cancelled"
    state.set()
    at(DAY, "12:00")
    # A function that wrongly journaled a citizen's ID number as its item.
    queries = DocumentPrinting(context(cups_pdf), "convenience_queries")
    assert queries.print_pdf(_pdf(1), "查询结果", f"身份证{ID_NUMBER}", 1).printed

    at("2026-11-24", "09:00")
    assert certificates.print_pdf(_pdf(1), "无房证明", "no_house", 1).printed
    return hall_db


def test_the_days_records_say_what_when_where_how_many_pages_and_how_it_ended(
    kiosk_day: HallDb, audit: PrintAudit
) -> None:
    records = audit.records(DAY, DAY)

    assert [(r.function, r.item, r.pages, r.copies, r.outcome, r.fault_code, r.error_code)
            for r in records] == [
        ("certificates", "pension_payment", 2, 1, "done", None, None),
        ("self_copy", "social_security", 1, 2, "done", None, None),
        ("service_guide", "JG-000101", 3, 1, "done", None, None),
        ("certificates", "no_house", 1, 1, "failed", None, 330),
        ("self_copy", "real_estate", 2, 1, "done", 310, None),
        ("self_copy", "household", 1, 1, "cancelled", 311, None),
        ("convenience_queries", "身份证110101********1234", 1, 1, "done", None, None),
    ]  # fmt: skip
    assert {r.device_id for r in records} == {"kiosk-1"}
    assert all(business_day(r.at) == DAY for r in records)
    assert [r.at for r in records] == sorted(r.at for r in records)


def test_the_audit_is_queried_by_period(kiosk_day: HallDb, audit: PrintAudit) -> None:
    assert len(audit.records("2026-11-22", "2026-11-22")) == 1
    assert len(audit.records(DAY, DAY)) == 7
    assert len(audit.records("2026-11-22", "2026-11-24")) == 9
    assert audit.records("2026-11-25", "2026-12-31") == []


def test_the_csv_report_lists_every_print_of_the_day_as_staff_read_it(
    kiosk_day: HallDb, audit: PrintAudit, tmp_path: Path
) -> None:
    path = write_csv(audit.records(DAY, DAY), tmp_path / "audit.csv")

    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(csv.reader(io.StringIO(text)).__next__()) == CSV_HEADER
    assert [(r["功能"], r["事项"], r["页数"], r["份数"], r["结果"]) for r in rows] == [
        ("证明打印", "pension_payment", "2", "1", "成功"),
        ("自助复印", "social_security", "1", "2", "成功"),
        ("办事指南", "JG-000101", "3", "1", "成功"),
        ("证明打印", "no_house", "1", "1", "失败"),
        ("自助复印", "real_estate", "2", "1", "成功"),
        ("自助复印", "household", "1", "1", "取消"),
        ("便民查询", "身份证110101********1234", "1", "1", "成功"),
    ]
    assert rows[0]["时间"] == "2026-11-23 09:00:00" and rows[0]["终端"] == "kiosk-1"
    assert rows[3]["说明"] == "文件未能打印" and rows[3]["错误代码"] == "330"
    assert rows[4]["说明"] == "打印机缺纸，处理后继续打印"
    assert rows[5]["说明"] == "打印机仓盖未关闭，市民取消"
    assert ID_NUMBER not in text


def test_the_pdf_report_totals_each_function_and_item_and_lists_the_failures(
    kiosk_day: HallDb, audit: PrintAudit, tmp_path: Path
) -> None:
    records = audit.records(DAY, DAY)
    path = write_pdf(records, DAY, DAY, at_hall_time(DAY, "18:00"), tmp_path / "audit.pdf")

    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "打印/复印审计报表" in lines
    assert "统计期间：2026-11-23 至 2026-11-23" in lines
    assert "合计：7 次，成功 5 次，失败 1 次，取消 1 次，出纸 10 张" in lines
    # Totals per function and item: 功能 事项 次数 成功 失败 取消 出纸.
    assert "自助复印 social_security 1 1 0 0 2" in lines
    assert "证明打印 no_house 1 0 1 0 0" in lines
    assert "自助复印 household 1 0 0 1 0" in lines
    failures = lines[lines.index("二、未成功打印（失败或取消）"):lines.index("三、全部记录")]
    assert sum("文件未能打印" in line for line in failures) == 1
    assert sum("打印机仓盖未关闭，市民取消" in line for line in failures) == 1
    assert not any("pension_payment" in line for line in failures)
    assert ID_NUMBER not in text
    # It is a picture of the report too: a reader without the fonts still shows it.
    assert subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout.count("Pages:") == 1  # fmt: skip


def test_personal_data_never_reaches_the_audit_file(
    kiosk_day: HallDb, audit: PrintAudit
) -> None:
    raw = b"".join(p.read_bytes() for p in audit.path.parent.glob(f"{FILE_NAME}*"))
    assert ID_NUMBER.encode() not in raw
    assert totals(audit.records(DAY, DAY))[0].function == "certificates"


def test_the_print_audit_command_writes_the_report_for_a_period(
    kiosk_day: HallDb, audit: PrintAudit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_csv, out_pdf = tmp_path / "out" / "audit.csv", tmp_path / "out" / "audit.pdf"
    status = main.main(["print-audit", "--from", "2026-11-22", "--to", "2026-11-24",
                        "--csv", str(out_csv), "--pdf", str(out_pdf),
                        "--data-dir", str(audit.path.parent)])  # fmt: skip

    assert status == 0
    assert len(list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))) == 1 + 9
    assert out_pdf.read_bytes().startswith(b"%PDF-")
    assert "9 records, 2026-11-22 to 2026-11-24" in capsys.readouterr().out
    assert main.main(["print-audit", "--from", DAY, "--to", "2026-11-22",
                      "--data-dir", str(audit.path.parent)]) == 2  # fmt: skip


def test_the_collector_shows_the_halls_sheets_and_failed_prints_per_function(
    kiosk_day: HallDb,
) -> None:
    usage = KioskUsage()
    for pending in journal.pending(kiosk_day.conn, 10_000):
        if business_day(pending.event.at) == DAY:
            usage.observe(pending.event)

    functions = usage.to_dict()["functions"]

    assert (functions["self_copy"]["printed_pages"], functions["self_copy"]["failed_prints"],
            functions["self_copy"]["cancelled_prints"]) == (4, 0, 1)  # fmt: skip
    assert (functions["certificates"]["printed_pages"],
            functions["certificates"]["failed_prints"]) == (2, 1)  # fmt: skip
    assert functions["service_guide"]["printed_pages"] == 3

"""The A4 document printer against a real, private cupsd (hardware_sim/cups_server.py).

One scheduler serves the module (tests/printing.py): the ``cups-pdf`` queue writes real PDFs,
the ``a4`` queue's state printer reports paper, toner, cover and offline conditions through the
CUPS backend protocol. Each test resets the state printer and resumes both queues.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from core.errors import (
    CoverOpen,
    DeviceError,
    DeviceNotFound,
    PaperJam,
    PaperOut,
    PrinterOffline,
    PrinterStopped,
    PrintFileUnsupported,
    PrintJobFailed,
    PrintJobTimeout,
    PrintServiceUnavailable,
    TonerEmpty,
)
from core.strings_zh import error_text
from devices.document_printer import DocumentPrinter
from devices.health import HealthState
from devices.open import open_document_printer
from drivers.cups_printer import JOB_CANCELED, CupsPrinter
from hardware_sim.cups_server import CupsServer, StatePrinter
from tests.printing import FAST, pdf_pages


def _pdf(path: Path, pages: int) -> Path:
    images = []
    for n in range(pages):
        page = Image.new("RGB", (595, 842), "white")
        ImageDraw.Draw(page).text((60, 60), f"page {n + 1}", fill="black")
        images.append(page)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=72)
    return path


def _eventually(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_pdf_job_lands_as_a_pdf_with_every_page(
    cups_pdf: DocumentPrinter, cups: CupsServer, tmp_path: Path
) -> None:
    before = set(cups.pdfs())
    result = cups_pdf.print_file(_pdf(tmp_path / "申请表.pdf", pages=3))
    new = [p for p in cups.pdfs() if p not in before]
    assert result.kind == "pdf"
    assert len(new) == 1
    assert pdf_pages(new[0]) == 3


def test_an_image_job_prints_as_one_page(
    cups_pdf: DocumentPrinter, cups: CupsServer, tmp_path: Path
) -> None:
    photo = tmp_path / "scan.jpg"
    Image.new("RGB", (1200, 900), (230, 225, 210)).save(photo, quality=85)
    before = set(cups.pdfs())
    result = cups_pdf.print_file(photo)
    new = [p for p in cups.pdfs() if p not in before]
    assert result.kind == "image"
    assert len(new) == 1 and pdf_pages(new[0]) == 1


def test_a_file_that_is_not_pdf_or_image_is_refused_before_cups(
    cups_pdf: DocumentPrinter, cups: CupsServer, tmp_path: Path
) -> None:
    doc = tmp_path / "材料.pdf"
    doc.write_text("这不是PDF，只是改了扩展名", encoding="utf-8")
    before = set(cups.pdfs())
    with pytest.raises(PrintFileUnsupported) as caught:
        cups_pdf.print_file(doc)
    assert error_text(caught.value) == "该文件格式无法打印，请联系工作人员"
    assert set(cups.pdfs()) == before


def test_a_ready_printer_is_healthy_and_prints(a4: DocumentPrinter, state: StatePrinter) -> None:
    assert a4.health().state is HealthState.OK
    a4.print_file(_pdf(state.out_dir.parent / "ok.pdf", pages=1))
    assert len(state.printed()) >= 1


def test_paper_out_is_reported_at_once_and_the_job_prints_after_refill(
    a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    printed = len(state.printed())
    state.set("media-empty-error")
    with pytest.raises(PaperOut) as caught:
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert error_text(caught.value) == "打印机缺纸，请联系工作人员"
    health = a4.health()
    assert (health.state, health.reasons, health.code) == (HealthState.ERROR, ("paper_out",), 310)

    state.set()
    assert _eventually(lambda: len(state.printed()) == printed + 1)
    assert _eventually(lambda: a4.health().state is HealthState.OK)


def test_low_paper_and_toner_warn_but_print(
    a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    state.set("media-low-report", "toner-low-report")
    a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    health = a4.health()
    assert health.state is HealthState.WARNING and health.usable
    assert set(health.reasons) == {"paper_low", "toner_low"}


@pytest.mark.parametrize(
    ("reasons", "error", "health_state", "reason", "citizen_sees"),
    [
        (("offline-report",), PrinterOffline, HealthState.OFFLINE, "offline", "打印机离线，请联系工作人员"),
        (("cover-open-error",), CoverOpen, HealthState.ERROR, "cover_open", "打印机仓盖未关闭，请联系工作人员"),
        (("toner-empty-error",), TonerEmpty, HealthState.ERROR, "toner_empty", "打印机墨粉已用完，请联系工作人员"),
        (("toner-low-report", "media-jam-error"), PaperJam, HealthState.ERROR, "paper_jam", "打印机卡纸，请联系工作人员"),
    ],
)  # fmt: skip
def test_printer_faults_reach_the_citizen_in_chinese(
    a4: DocumentPrinter,
    state: StatePrinter,
    tmp_path: Path,
    reasons: tuple[str, ...],
    error: type[DeviceError],
    health_state: HealthState,
    reason: str,
    citizen_sees: str,
) -> None:
    state.set(*reasons)
    with pytest.raises(error) as caught:
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert error_text(caught.value) == citizen_sees
    health = a4.health()
    assert (health.state, health.reasons[0], health.code) == (health_state, reason, error.code)
    a4.driver.cancel(caught.value.details["job"])


def test_a_stopped_queue_is_refused_and_reported(
    a4: DocumentPrinter, cups: CupsServer, state: StatePrinter, tmp_path: Path
) -> None:
    CupsPrinter("a4", cups.server).pause()
    with pytest.raises(PrinterStopped) as caught:
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert error_text(caught.value) == "打印机已暂停，请联系工作人员"
    health = a4.health()
    assert (health.state, health.reasons[0], health.code) == (HealthState.ERROR, "stopped", 332)


def test_a_printer_that_stops_the_queue_mid_job_is_reported(
    a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    state.set(fail="stop")
    with pytest.raises(PrinterStopped):
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert a4.health().reasons[0] == "stopped"


def test_an_aborted_job_is_a_failed_print(
    a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    state.set(fail="abort")
    with pytest.raises(PrintJobFailed) as caught:
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert caught.value.details["state"] == "aborted"
    assert error_text(caught.value) == "文件未能打印，请联系工作人员"


def test_the_job_follower_times_out_cleanly_and_cancels_the_job(
    a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    printed = len(state.printed())
    state.set(delay_s=30.0)
    a4.profile = replace(FAST, job_timeout_s=1.0)
    with pytest.raises(PrintJobTimeout) as caught:
        a4.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert error_text(caught.value) == "打印超时，请稍候或联系工作人员"
    job = a4.driver.job(caught.value.details["job"])
    assert job.state == JOB_CANCELED
    assert len(state.printed()) == printed


def test_an_unknown_queue_is_not_found(cups: CupsServer) -> None:
    printer = open_document_printer(f"cups://no-such-queue?server={cups.server}", "a4-x")
    health = printer.health()
    assert (health.state, health.reasons) == (HealthState.OFFLINE, ("not_found",))
    with pytest.raises(DeviceNotFound):
        printer.driver.status()


def test_cups_not_running_means_offline_and_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    printer = open_document_printer(f"cups://a4?server=127.0.0.1:{port}", "a4-down")
    health = printer.health()
    assert (health.state, health.reasons) == (HealthState.OFFLINE, ("service_unavailable",))
    with pytest.raises(PrintServiceUnavailable) as caught:
        printer.print_file(_pdf(tmp_path / "a.pdf", pages=1))
    assert error_text(caught.value) == "打印服务暂不可用，请联系工作人员"


def test_job_options_must_be_strings(cups: CupsServer, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        CupsPrinter("cups-pdf", cups.server).submit(
            str(_pdf(tmp_path / "a.pdf", 1)),
            "t",
            {"copies": 2},  # type: ignore[dict-item]
        )


def test_a_job_whose_id_was_never_recorded_is_found_by_its_name(
    cups_pdf: DocumentPrinter, a4: DocumentPrinter, cups: CupsServer, tmp_path: Path
) -> None:
    """After a crash between CUPS taking a job and the kiosk writing its id down, a fresh
    driver (a restarted kiosk) finds the job by its unique name, on its own queue only."""
    path = _pdf(tmp_path / "receipt.pdf", pages=1)
    first = cups_pdf.driver.submit(str(path), "receipt-K1-0001", {})
    a4.driver.submit(str(path), "receipt-K1-0002", {})  # the same name pattern, another queue
    restarted = CupsPrinter("cups-pdf", cups.server)

    assert restarted.find_job("receipt-K1-0001") == first
    assert restarted.find_job("receipt-K1-0002") is None
    assert restarted.find_job("receipt-K1-9999") is None

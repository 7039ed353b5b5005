"""The private CUPS that the A4 printing tests share (hardware_sim/cups_server.py).

Registered as a plugin in tests/conftest.py, so a test asks for a fixture by name. One cupsd
serves each test module, not the session: a job a module leaves in flight would land in the
next module's output and be counted as its own. Each test gets the state printer ready and
both queues resumed after it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from devices.document_printer import PROFILES, DocumentPrinter
from devices.open import open_document_printer
from drivers.cups_printer import CupsPrinter
from hardware_sim import simulator_of
from hardware_sim.cups_server import CupsServer, StatePrinter

#: Fast polling and a deadline generous enough for a loaded 2-core machine.
FAST = replace(PROFILES["cups-pdf"], poll_s=0.1, job_timeout_s=60.0, fault_settle_s=1.0)


@pytest.fixture(scope="module")
def cups_pdf() -> Iterator[DocumentPrinter]:
    """``sim://cups-pdf``: the printer on the cups-pdf queue of a private cupsd that also has
    the ``a4`` state printer queue; its PDFs land in ``cups.pdfs()``."""
    printer = open_document_printer("sim://cups-pdf", "a4-pdf")
    printer.profile = FAST
    try:
        yield printer
    finally:
        printer.close()


@pytest.fixture
def cups(cups_pdf: DocumentPrinter) -> Iterator[CupsServer]:
    """The private cupsd; both queues are resumed after the test (a fault may stop one)."""
    server: CupsServer = simulator_of(cups_pdf)
    yield server
    for queue in ("cups-pdf", "a4"):
        CupsPrinter(queue, server.server).resume()


@pytest.fixture
def state(cups: CupsServer) -> Iterator[StatePrinter]:
    """The a4 queue's state printer, ready (paper in, no fault)."""
    printer = cups.state_printers["a4"]
    printer.set()
    yield printer
    printer.set()


@pytest.fixture
def a4(cups: CupsServer, state: StatePrinter) -> DocumentPrinter:
    """The printer on the a4 queue, as a hall configures it: ``cups://a4?server=…``."""
    printer = open_document_printer(f"cups://a4?server={cups.server}", "a4-1")
    printer.profile = FAST
    return printer


def pdf_pages(pdf: Path) -> int:
    """How many pages poppler counts in a PDF."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    line = next(li for li in info.stdout.splitlines() if li.startswith("Pages:"))
    return int(line.split()[1])

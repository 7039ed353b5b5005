"""Print a document a citizen asked for on the kiosk's A4 printer, and journal the print.

Shared by 证明打印 and the printable 便民查询: the PDF goes to a private temporary file, to
CUPS through :class:`devices.document_printer.DocumentPrinter`, and is deleted as soon as
the job ends. Every attempt is journaled as a ``document.printed`` event (function, item,
pages, outcome, and the error code of a failed one) for the audit of what was printed when
(seed 004: 统一扎口相应证明生成…的产生时间和数据内容); nothing in it names the citizen.

A job that fails mid-way (paper out, a jam) is cancelled rather than left queued: a personal
certificate must not come out of the printer later, in front of the next citizen. The citizen
hears what went wrong and may try again once staff have fixed the printer.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import DeviceError, DeviceNotFound
from core.events import Kind
from devices.document_printer import DocumentPrinter
from devices.health import Health
from flows.kiosk_functions import KioskContext
from flows.queue_port import JournalsHealth
from flows.transactions import TransactionJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintOutcome:
    """What became of one print: printed, or the key of the reason it did not."""

    printed: bool
    error_key: str | None = None


class DocumentPrinting:
    """Prints PDFs for one kiosk function.

    Args:
        context: the kiosk (its ``document_printer``, journal, hall clock, ``data_dir``).
        function: the function's id, carried by every ``document.printed`` event.
    """

    def __init__(self, context: KioskContext, function: str) -> None:
        self.printer: DocumentPrinter | None = context.document_printer
        self.function = function
        self._context = context
        self._spool = context.data_dir / "print-spool" if context.data_dir else None

    @property
    def journal(self) -> TransactionJournal:
        return self._context.transactions

    def print_pdf(self, pdf: bytes, title: str, item: str, pages: int) -> PrintOutcome:
        """Print one PDF and wait until it is out; journal the attempt either way.

        Args:
            pdf: the document.
            title: the CUPS job's name (the document's title, never the citizen's name).
            item: what was printed (``pension_payment``), for the audit.
            pages: its page count.
        """
        if self.printer is None:
            err: DeviceError = DeviceNotFound("this kiosk has no document printer")
            self._journal(item, pages, err)
            return PrintOutcome(False, err.key)
        path = self._write(pdf)
        try:
            self.printer.print_file(path, title=title)
        except DeviceError as err:
            self._cancel(err)
            self._health(Health.from_error(self.printer.device_id, err))
            self._journal(item, pages, err)
            return PrintOutcome(False, err.key)
        finally:
            path.unlink(missing_ok=True)
        self._health(Health.ok(self.printer.device_id))
        self._journal(item, pages, None)
        return PrintOutcome(True)

    # --- internals ----------------------------------------------------------------------

    def _write(self, pdf: bytes) -> Path:
        """The PDF in a file only this process may read."""
        if self._spool is not None:
            self._spool.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".pdf", dir=self._spool)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
        return Path(name)

    def _cancel(self, err: DeviceError) -> None:
        job = err.details.get("job")
        if job is None or self.printer is None:
            return
        try:
            self.printer.driver.cancel(int(job))
        except DeviceError as cancel_err:
            # Staff must clear it by hand; the health event tells them the printer needs them.
            log.warning("document job %s not cancelled: %s", job, cancel_err.as_dict())

    def _health(self, health: Health) -> None:
        queue = self._context.queue
        if isinstance(queue, JournalsHealth):
            queue.health_journal(self._context.clock).record(health)

    def _journal(self, item: str, pages: int, err: DeviceError | None) -> None:
        data = {
            "function": self.function,
            "item": item,
            "pages": pages,
            "outcome": "done" if err is None else "failed",
        }
        if err is not None:
            data["error_code"] = err.code
        self.journal.record(Kind.DOCUMENT_PRINTED, data)

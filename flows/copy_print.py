"""One copy's print job: submitted once, paused on a fault staff can fix, then resumed or
cancelled, and journaled once with what became of it.

A certificate's job is cancelled at the first fault (:mod:`flows.document_printing`). A copy's
is not: when the printer runs out of paper or its cover opens mid-job, the job stays queued in
CUPS and the citizen chooses, 继续打印 once staff have fixed the printer (the same job goes
on; nothing is printed twice) or 取消 (the job is cancelled, nothing more comes out). A
citizen who walks away cancels it too (:meth:`CopyPrintJob.cancel` from the flow's
``leave``): their copy must not come out in front of the next citizen.

The ``document.printed`` event is written when the job has ended, with ``outcome`` ``done``,
``failed`` or ``cancelled``; ``fault_code`` names the fault it met on the way (a job resumed
after a paper-out is ``done`` with ``fault_code`` 310), ``error_code`` the error that failed
it. That is what the print audit (:mod:`flows.print_audit`) shows.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import (
    CoverOpen,
    DeviceError,
    DeviceNotFound,
    PaperJam,
    PaperOut,
    TonerEmpty,
)
from core.events import Kind
from devices.health import Health
from flows.kiosk_functions import KioskContext
from flows.queue_port import JournalsHealth

log = logging.getLogger(__name__)

#: Faults after which the job waits in CUPS for staff: it goes on once they are fixed.
RESUMABLE: tuple[type[DeviceError], ...] = (PaperOut, CoverOpen, PaperJam, TonerEmpty)

DONE, PAUSED, FAILED, CANCELLED = "done", "paused", "failed", "cancelled"


@dataclass(frozen=True)
class JobState:
    """Where a job stands after a step.

    Attributes:
        status: ``done``, ``paused`` (waiting for staff and the citizen's choice),
            ``failed`` or ``cancelled``.
        error_key: the key of the fault or error the citizen is told about, else None.
    """

    status: str
    error_key: str | None = None


class CopyPrintJob:
    """The print job of one copy.

    Args:
        context: the kiosk (its document printer, journal, clock, queue for health).
        function: the kiosk function's id, carried by the event.
        item: what was copied, for the audit (the purpose code).
        pages: pages of one copy.
        copies: copies in the document.
    """

    def __init__(
        self, context: KioskContext, function: str, item: str, pages: int, copies: int
    ) -> None:
        self.context = context
        self.function = function
        self.item = item
        self.pages = pages
        self.copies = copies
        self.job_id: int | None = None
        self.fault: DeviceError | None = None
        self.state: JobState | None = None

    @property
    def paused(self) -> bool:
        """The job waits in CUPS for 继续打印 or 取消."""
        return self.state is not None and self.state.status == PAUSED

    def submit(self, pdf: bytes, title: str, spool: Path | None) -> JobState:
        """Send the document to the A4 printer and follow it.

        Args:
            pdf: the composed copy.
            title: the CUPS job's name (never the citizen's name).
            spool: a directory only this kiosk reads, for the moment CUPS takes the file.
        """
        printer = self.context.document_printer
        if printer is None:
            return self._end(FAILED, DeviceNotFound("this kiosk has no document printer"))
        path = _write_private(pdf, spool)
        try:
            printer.print_file(path, title=title)
        except DeviceError as err:
            return self._fault(err)
        finally:
            # CUPS holds its own copy from submission on: ours goes at once.
            path.unlink(missing_ok=True)
        return self._end(DONE)

    def resume(self) -> JobState:
        """继续打印: follow the same job again; it prints once staff cleared the fault."""
        printer = self.context.document_printer
        if not self.paused or printer is None or self.job_id is None:
            return self.state or JobState(FAILED)
        try:
            printer.follow(self.job_id)
        except DeviceError as err:
            return self._fault(err)
        return self._end(DONE)

    def cancel(self) -> JobState:
        """取消, or the citizen went away: cancel the paused job; nothing more prints."""
        if not self.paused:
            return self.state or JobState(CANCELLED)
        self._cancel_in_cups()
        return self._end(CANCELLED)

    # --- internals ----------------------------------------------------------------------

    def _fault(self, err: DeviceError) -> JobState:
        printer = self.context.document_printer
        job = err.details.get("job")
        if job is not None:
            self.job_id = int(job)
        if printer is not None:
            self._health(Health.from_error(printer.device_id, err))
        if isinstance(err, RESUMABLE) and self.job_id is not None:
            self.fault = err
            self.state = JobState(PAUSED, err.key)
            return self.state
        self._cancel_in_cups()
        return self._end(FAILED, err)

    def _cancel_in_cups(self) -> None:
        printer = self.context.document_printer
        if printer is None or self.job_id is None:
            return
        try:
            printer.driver.cancel(self.job_id)
        except DeviceError as err:
            # Staff must clear it by hand; the health event tells them the printer needs them.
            log.warning("copy job %s not cancelled: %s", self.job_id, err.as_dict())

    def _end(self, status: str, err: DeviceError | None = None) -> JobState:
        printer = self.context.document_printer
        if status == DONE and printer is not None:
            self._health(Health.ok(printer.device_id))
        data: dict[str, Any] = {
            "function": self.function,
            "item": self.item,
            "pages": self.pages,
            "copies": self.copies,
            "outcome": status,
        }
        if self.fault is not None:
            data["fault_code"] = self.fault.code
        if err is not None:
            data["error_code"] = err.code
        self.context.transactions.record(Kind.DOCUMENT_PRINTED, data)
        self.state = JobState(status, None if err is None else err.key)
        return self.state

    def _health(self, health: Health) -> None:
        queue = self.context.queue
        if isinstance(queue, JournalsHealth):
            queue.health_journal(self.context.clock).record(health)


def _write_private(pdf: bytes, spool: Path | None) -> Path:
    """The PDF in a file only this process may read."""
    if spool is not None:
        spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(suffix=".pdf", dir=spool)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pdf)
    return Path(name)

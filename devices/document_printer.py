"""The A4 document printer: print a PDF or an image for a citizen and follow it until it is out.

:class:`DocumentPrinter` holds a CUPS queue driver (:class:`drivers.cups_printer.CupsPrinter`)
and a :class:`DocumentPrinterProfile`. It refuses files that are neither PDF nor image before
they reach CUPS, follows each job to an end (completed, aborted, canceled, stopped) or to a
deadline, and turns IPP ``printer-state-reasons`` into the hall's health model.

A queue's reasons are only fresh while a job runs: CUPS learns them from the backend that talks
to the printer, and keeps the last ones after the job. So a stale ``media-empty`` never blocks a
submission; while *this* job is processing, an error reason is reported at once, because the
citizen should hear "缺纸" now rather than after the job deadline. The job stays queued and
prints once the fault is cleared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.errors import (
    CoverOpen,
    DeviceError,
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
from devices.health import Health, HealthState, Reason
from drivers.cups_printer import (
    JOB_CANCELED,
    JOB_COMPLETED,
    JOB_PROCESSING,
    JOB_STOPPED,
    PRINTER_STOPPED,
    JobStatus,
    QueueStatus,
)

#: Health reasons beyond :class:`devices.health.Reason`, for A4 printers.
TONER_LOW, TONER_EMPTY, PAPER_JAM = "toner_low", "toner_empty", "paper_jam"
STOPPED, NOT_ACCEPTING, SERVICE_UNAVAILABLE = "stopped", "not_accepting", "service_unavailable"

#: printer-state-reasons keyword (severity suffix removed) → state, health reason, error type.
#: The base keyword decides, not the suffix: printers disagree on severities (one reports
#: ``media-empty-warning`` with the job stuck, reference §4.2), and backends report a printer
#: they cannot reach as ``offline-report``.
_REASONS: dict[str, tuple[HealthState, str, type[DeviceError] | None]] = {
    "offline": (HealthState.OFFLINE, Reason.OFFLINE, PrinterOffline),
    "connecting-to-device": (HealthState.OFFLINE, Reason.OFFLINE, PrinterOffline),
    "timed-out": (HealthState.OFFLINE, Reason.OFFLINE, PrinterOffline),
    "shutdown": (HealthState.OFFLINE, Reason.OFFLINE, PrinterOffline),
    "media-empty": (HealthState.ERROR, Reason.PAPER_OUT, PaperOut),
    "media-needed": (HealthState.ERROR, Reason.PAPER_OUT, PaperOut),
    "media-jam": (HealthState.ERROR, PAPER_JAM, PaperJam),
    "cover-open": (HealthState.ERROR, Reason.COVER_OPEN, CoverOpen),
    "door-open": (HealthState.ERROR, Reason.COVER_OPEN, CoverOpen),
    "toner-empty": (HealthState.ERROR, TONER_EMPTY, TonerEmpty),
    "marker-supply-empty": (HealthState.ERROR, TONER_EMPTY, TonerEmpty),
    "paused": (HealthState.ERROR, STOPPED, PrinterStopped),
    "media-low": (HealthState.WARNING, Reason.PAPER_LOW, None),
    "toner-low": (HealthState.WARNING, TONER_LOW, None),
    "marker-supply-low": (HealthState.WARNING, TONER_LOW, None),
}
_SEVERITIES = ("-error", "-warning", "-report")
_RANK = {HealthState.OFFLINE: 0, HealthState.ERROR: 1, HealthState.WARNING: 2}

#: First bytes of the files a citizen may print, by kind.
_MAGIC = {
    b"%PDF-": "pdf",
    b"\xff\xd8\xff": "image",
    b"\x89PNG\r\n\x1a\n": "image",
}


class QueueDriver(Protocol):
    """The driver contract: one CUPS queue (:class:`drivers.cups_printer.CupsPrinter`)."""

    def submit(self, path: str, title: str, options: dict[str, str]) -> int: ...

    def job(self, job_id: int) -> JobStatus: ...

    def find_job(self, title: str) -> int | None: ...

    def status(self) -> QueueStatus: ...

    def cancel(self, job_id: int) -> None: ...


@dataclass(frozen=True)
class DocumentPrinterProfile:
    """What one printer model, or queue, needs. Quirks are data, not subclasses.

    Attributes:
        model: the profile's name (``a4-laser``).
        media: the IPP ``media`` option every job carries.
        sides: IPP ``sides`` (``one-sided``, ``two-sided-long-edge``).
        image_options: extra options for image jobs (scale a photo onto the page).
        poll_s: seconds between job state readings (reference §4.3: 1–2 s on real CUPS).
        job_timeout_s: how long a job may take before the citizen is told.
        cancel_on_timeout: cancel a timed-out job, so it does not print for the next citizen.
        fault_settle_s: how long a job must have been processing before the queue's error
            reasons are believed. CUPS keeps the reasons of the previous job until this job's
            backend reports (within about a second): earlier, a cleared fault still shows.
    """

    model: str
    media: str = "iso_a4_210x297mm"
    sides: str = "one-sided"
    image_options: dict[str, str] = field(default_factory=lambda: {"fit-to-page": "true"})
    poll_s: float = 1.0
    job_timeout_s: float = 120.0
    cancel_on_timeout: bool = True
    fault_settle_s: float = 2.0


#: Known models, by the name used in device URLs (``?profile=a4-duplex``).
PROFILES: dict[str, DocumentPrinterProfile] = {
    "a4-laser": DocumentPrinterProfile("a4-laser"),
    "a4-duplex": DocumentPrinterProfile("a4-duplex", sides="two-sided-long-edge"),
    # A PDF queue writes a file in about a second; a short poll keeps tests and demo brisk.
    "cups-pdf": DocumentPrinterProfile(
        "cups-pdf", poll_s=0.2, job_timeout_s=60.0, fault_settle_s=1.0
    ),
}


@dataclass(frozen=True)
class PrintResult:
    """A job that printed.

    Attributes:
        job_id: the CUPS job id.
        kind: ``pdf`` or ``image``.
        seconds: from submission to completion.
    """

    job_id: int
    kind: str
    seconds: float


class DocumentPrinter:
    """An A4 printer behind a CUPS queue.

    Args:
        driver: the queue driver.
        profile: the model's profile.
        device_id: the hall's name for the printer, carried in health and errors.
        on_close: called by :meth:`close` (a queue needs no closing; whoever started one
            does).
    """

    def __init__(
        self,
        driver: QueueDriver,
        profile: DocumentPrinterProfile,
        device_id: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.profile = profile
        self.device_id = device_id
        self.on_close = on_close

    def print_file(self, path: str | Path, title: str = "", copies: int = 1) -> PrintResult:
        """Print a PDF or a JPEG/PNG image and wait until it is out.

        Args:
            path: the file.
            title: the job name in the queue; the file name by default.
            copies: how many copies.

        Returns:
            The completed job.

        Raises:
            PrintFileUnsupported (335): not a PDF, JPEG or PNG, or CUPS cannot convert it.
            PrinterStopped (332): the queue is stopped or rejects jobs.
            PaperOut (310), CoverOpen (311), PrinterOffline (312), TonerEmpty (333),
                PaperJam (334): the printer reported the fault while printing this job.
            PrintJobFailed (330): the job was aborted or canceled.
            PrintJobTimeout (331): the job did not finish within the profile's deadline.
            PrintServiceUnavailable (336): CUPS cannot be reached.
            DeviceNotFound (301): the queue does not exist.
        """
        path = Path(path)
        kind = file_kind(path)
        options = {"media": self.profile.media, "sides": self.profile.sides, "copies": str(copies)}
        if kind == "image":
            options.update(self.profile.image_options)
        queue = self.driver.status()
        if queue.state == PRINTER_STOPPED or not queue.accepting:
            raise self._error(self.health_of(queue), queue=queue)
        started = time.monotonic()
        job_id = self.driver.submit(str(path), title or path.name, options)
        self.follow(job_id)
        return PrintResult(job_id, kind, time.monotonic() - started)

    def follow(self, job_id: int, timeout_s: float | None = None) -> JobStatus:
        """Wait until a job has printed.

        Args:
            job_id: the CUPS job id.
            timeout_s: the deadline; the profile's ``job_timeout_s`` by default.

        Returns:
            The job's final status (``completed``).

        Raises:
            PrintJobTimeout (331): still not done at the deadline (canceled first when the
                profile says so).
            PrintJobFailed (330), PrinterStopped (332), PaperOut (310) …: as in
                :meth:`print_file`.
        """
        deadline = time.monotonic() + (
            self.profile.job_timeout_s if timeout_s is None else timeout_s
        )
        processing_since: float | None = None
        while True:
            job = self.driver.job(job_id)
            now = time.monotonic()
            if job.state != JOB_PROCESSING:
                processing_since = None
            elif processing_since is None:
                processing_since = now
            if job.state == JOB_COMPLETED:
                return job
            if job.state >= JOB_CANCELED:
                raise PrintJobFailed(
                    f"job {job_id} ended {_JOB_STATE_NAMES[job.state]}",
                    device=self.device_id, job=job_id, state=_JOB_STATE_NAMES[job.state],
                    reasons=list(job.reasons),
                )  # fmt: skip
            settled = processing_since is not None and (
                now - processing_since >= self.profile.fault_settle_s
            )
            self._check_queue(job, settled)
            if now >= deadline:
                if self.profile.cancel_on_timeout:
                    self.driver.cancel(job_id)
                raise PrintJobTimeout(
                    f"job {job_id} not done in time", device=self.device_id, job=job_id,
                    state=_JOB_STATE_NAMES.get(job.state, str(job.state)),
                )  # fmt: skip
            time.sleep(self.profile.poll_s)

    def health(self) -> Health:
        """The printer's health from its queue's state. Never raises."""
        try:
            return self.health_of(self.driver.status())
        except PrintServiceUnavailable as err:
            return Health(self.device_id, HealthState.OFFLINE, (SERVICE_UNAVAILABLE,), err.code)
        except DeviceError as err:
            return Health.from_error(self.device_id, err)

    def health_of(self, queue: QueueStatus) -> Health:
        """The health a queue reading implies (see ``_REASONS``)."""
        found: list[tuple[HealthState, str, int | None]] = []
        # A stopped queue leads: it is why nothing prints now, whatever stale reasons remain.
        if queue.state == PRINTER_STOPPED:
            found.append((HealthState.ERROR, STOPPED, PrinterStopped.code))
        if not queue.accepting:
            found.append((HealthState.ERROR, NOT_ACCEPTING, PrinterStopped.code))
        for keyword in queue.reasons:
            base = _base(keyword)
            if base in _REASONS:
                state, reason, error = _REASONS[base]
                found.append((state, reason, error.code if error else None))
            elif keyword.endswith("-error"):
                found.append((HealthState.ERROR, base, None))
        if not found:
            return Health.ok(self.device_id)
        found.sort(key=lambda f: _RANK[f[0]])
        reasons = tuple(dict.fromkeys(reason for _, reason, _ in found))
        code = next((c for _, _, c in found if c is not None), None)
        return Health(self.device_id, found[0][0], reasons, code)

    def close(self) -> None:
        """Call ``on_close``; a CUPS queue itself needs nothing."""
        if self.on_close is not None:
            self.on_close()

    def _check_queue(self, job: JobStatus, settled: bool) -> None:
        stopped = job.state == JOB_STOPPED or "printer-stopped" in job.reasons
        if not (settled or stopped):
            # Pending, held or just started: the queue's reasons may be a previous job's.
            return
        queue = self.driver.status()
        health = self.health_of(queue)
        if stopped or health.state in (HealthState.ERROR, HealthState.OFFLINE):
            raise self._error(health, queue=queue, job=job.job_id)

    def _error(self, health: Health, queue: QueueStatus, job: int | None = None) -> DeviceError:
        error_type = _ERROR_BY_REASON.get(health.reasons[0] if health.reasons else "", None)
        error_type = error_type or PrinterStopped
        return error_type(
            queue.message or f"printer {health.state.value}: {', '.join(health.reasons)}",
            device=self.device_id, reason=health.reasons[0] if health.reasons else STOPPED,
            reasons=list(queue.reasons), job=job,
        )  # fmt: skip


_ERROR_BY_REASON: dict[str, type[DeviceError]] = {
    reason: error for _, reason, error in _REASONS.values() if error is not None
}
_ERROR_BY_REASON[NOT_ACCEPTING] = PrinterStopped

_JOB_STATE_NAMES = {
    3: "pending",
    4: "held",
    5: "processing",
    6: "stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}


def file_kind(path: Path) -> str:
    """``pdf`` or ``image``, from the file's first bytes (never its name).

    Raises:
        PrintFileUnsupported (335): anything else, or a file that cannot be read.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise PrintFileUnsupported(f"cannot read {path}: {err}", path=str(path)) from err
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    raise PrintFileUnsupported(f"{path.name} is neither PDF, JPEG nor PNG", path=str(path))


def _base(keyword: str) -> str:
    for suffix in _SEVERITIES:
        if keyword.endswith(suffix):
            return keyword[: -len(suffix)]
    return keyword

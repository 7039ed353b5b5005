"""Speak IPP to a CUPS scheduler through pycups: submit a file, read job and queue state.

The driver knows CUPS, not printing policy: :class:`devices.document_printer.DocumentPrinter`
decides what a state means. pycups is imported on first use, so a kiosk without it still boots.

pycups is not thread-safe (reference §4.3): each thread gets its own ``cups.Connection``, and
libcups' server and port settings are per thread too, so each is set before that thread's
connection is made. Every call passes through :func:`_cups_errors`, the one place where pycups
exceptions become Hall Edge errors.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from core.errors import (
    DeviceError,
    DeviceNotFound,
    PrinterStopped,
    PrintFileUnsupported,
    PrintServiceUnavailable,
)

P = ParamSpec("P")
T = TypeVar("T")

#: IPP job-state values (RFC 8011 §5.3.7; pycups exports them as ``cups.IPP_JOB_*``).
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
#: IPP printer-state values (RFC 8011 §5.4.11; ``cups.IPP_PRINTER_*``).
PRINTER_IDLE, PRINTER_PROCESSING, PRINTER_STOPPED = 3, 4, 5

#: IPP status codes (RFC 8011 §B) the driver maps to a narrower error.
_IPP_NOT_FOUND = 0x0406
_IPP_DOCUMENT_FORMAT = 0x040A
_IPP_NOT_ACCEPTING = 0x0506

_JOB_ATTRIBUTES = ["job-state", "job-state-reasons", "job-printer-state-message"]
_PRINTER_ATTRIBUTES = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
]


@dataclass(frozen=True)
class JobStatus:
    """One reading of a job's IPP state.

    Attributes:
        job_id: the CUPS job id.
        state: IPP ``job-state`` (``JOB_*``).
        reasons: ``job-state-reasons`` keywords.
        message: ``job-printer-state-message``, the printer's last words about it.
    """

    job_id: int
    state: int
    reasons: tuple[str, ...]
    message: str = ""

    @property
    def finished(self) -> bool:
        """True once the job can change no more (canceled, aborted or completed)."""
        return self.state >= JOB_CANCELED


@dataclass(frozen=True)
class QueueStatus:
    """One reading of a queue's IPP state.

    Attributes:
        state: IPP ``printer-state`` (``PRINTER_*``).
        reasons: ``printer-state-reasons`` keywords, severity suffix kept; ``none`` dropped.
        message: ``printer-state-message``.
        accepting: the queue accepts new jobs.
    """

    state: int
    reasons: tuple[str, ...]
    message: str = ""
    accepting: bool = True


def _cups_errors(method: Callable[P, T]) -> Callable[P, T]:
    """Map pycups and socket exceptions raised by ``method`` to Hall Edge errors."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        import cups

        driver = args[0]
        device_id = getattr(driver, "device_id", "")
        queue = getattr(driver, "queue", "")
        try:
            return method(*args, **kwargs)
        except cups.IPPError as err:
            status, description = err.args
            raise _ipp_error(status, description, device_id, queue) from err
        except (cups.HTTPError, RuntimeError, OSError) as err:
            raise PrintServiceUnavailable(
                f"CUPS at {driver.server} unreachable: {err}", device=device_id, queue=queue
            ) from err

    return wrapper


def _ipp_error(status: int, description: str, device_id: str, queue: str) -> DeviceError:
    facts = {"device": device_id, "queue": queue, "ipp_status": status}
    if status == _IPP_NOT_FOUND:
        return DeviceNotFound(f"no CUPS queue {queue!r}: {description}", **facts)
    if status == _IPP_DOCUMENT_FORMAT:
        return PrintFileUnsupported(description, **facts)
    if status == _IPP_NOT_ACCEPTING:
        return PrinterStopped(description, reason="not_accepting", **facts)
    return DeviceError(f"IPP status {status:#06x}: {description}", **facts)


#: How many of a queue's newest jobs :meth:`CupsPrinter.find_job` looks through.
FIND_JOB_DEPTH = 50


class CupsPrinter:
    """One CUPS queue on one scheduler.

    Args:
        queue: the queue name (``lpstat -p``).
        server: ``host:port`` of the scheduler; empty for libcups' default (``CUPS_SERVER``,
            then the local socket).
        device_id: the hall's name for the printer, carried in errors.
    """

    def __init__(self, queue: str, server: str = "", device_id: str = "") -> None:
        self.queue = queue
        self.server = server
        self.device_id = device_id
        self._local = threading.local()

    @_cups_errors
    def submit(self, path: str, title: str, options: dict[str, str]) -> int:
        """Send a file as a new job. CUPS detects its format.

        Args:
            path: the file to print.
            title: the job name, shown in the queue.
            options: IPP job options; keys and values must be ``str`` (pycups raises
                ``TypeError`` otherwise, reference §4.1).

        Returns:
            The CUPS job id.

        Raises:
            DeviceNotFound (301): no such queue.
            PrintFileUnsupported (335): CUPS has no filter for the file's format.
            PrinterStopped (332): the queue rejects jobs.
            PrintServiceUnavailable (336): the scheduler cannot be reached.
        """
        bad = {k: v for k, v in options.items() if not (isinstance(k, str) and isinstance(v, str))}
        if bad:
            raise TypeError(f"CUPS options must be str -> str, got {bad!r}")
        return int(self._conn().printFile(self.queue, path, title, options))

    @_cups_errors
    def job(self, job_id: int) -> JobStatus:
        """Read a job's state.

        Raises:
            DeviceNotFound (301): no such job (CUPS forgot it).
            PrintServiceUnavailable (336): the scheduler cannot be reached.
        """
        attrs = self._conn().getJobAttributes(job_id, requested_attributes=_JOB_ATTRIBUTES)
        return JobStatus(
            job_id,
            int(attrs["job-state"]),
            _keywords(attrs.get("job-state-reasons")),
            str(attrs.get("job-printer-state-message", "")),
        )

    @_cups_errors
    def find_job(self, title: str) -> int | None:
        """The newest job of this queue named ``title``, finished or not; None if CUPS has none.

        A caller that gives each document a unique title finds, after a crash, the job it
        submitted just before dying, whose id it never got to record. The scheduler must show
        job names to the kiosk: it does for the job's owner on its local socket, and on a TCP
        listener only with ``JobPrivateValues none`` (``docs/deployment.md``); where it hides
        them, nothing is found.

        Raises:
            PrintServiceUnavailable (336): the scheduler cannot be reached.
        """
        conn = self._conn()
        # The job list gives ids only (pycups keys it by an id it is not always sent); each of
        # the newest is then asked for its queue and name.
        ours = sorted((int(job_id) for job_id in conn.getJobs(which_jobs="all", my_jobs=False)),
                      reverse=True)  # fmt: skip
        for job_id in ours[:FIND_JOB_DEPTH]:
            attrs = conn.getJobAttributes(
                job_id, requested_attributes=["job-name", "job-printer-uri"]
            )
            queue = str(attrs.get("job-printer-uri", "")).rstrip("/").rsplit("/", 1)[-1]
            if queue == self.queue and attrs.get("job-name") == title:
                return job_id
        return None

    @_cups_errors
    def status(self) -> QueueStatus:
        """Read the queue's state.

        Raises:
            DeviceNotFound (301): no such queue.
            PrintServiceUnavailable (336): the scheduler cannot be reached.
        """
        attrs = self._conn().getPrinterAttributes(
            self.queue, requested_attributes=_PRINTER_ATTRIBUTES
        )
        return QueueStatus(
            int(attrs["printer-state"]),
            tuple(r for r in _keywords(attrs.get("printer-state-reasons")) if r != "none"),
            str(attrs.get("printer-state-message", "")),
            bool(attrs.get("printer-is-accepting-jobs", True)),
        )

    @_cups_errors
    def cancel(self, job_id: int) -> None:
        """Cancel a job (it ends ``canceled``).

        Raises:
            PrintServiceUnavailable (336): the scheduler cannot be reached.
        """
        self._conn().cancelJob(job_id)

    @_cups_errors
    def pause(self, reason: str = "") -> None:
        """Stop the queue (``cupsdisable``): jobs wait until :meth:`resume`."""
        self._conn().disablePrinter(self.queue, reason=reason or "paused")

    @_cups_errors
    def resume(self) -> None:
        """Restart a stopped queue (``cupsenable``)."""
        self._conn().enablePrinter(self.queue)

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import cups

            host, _, port = self.server.rpartition(":")
            if host:
                # libcups resolves the destination through the thread's default server, so
                # both must name ours, or job submission asks the wrong scheduler.
                cups.setServer(host)
                cups.setPort(int(port))
                conn = cups.Connection(host=host, port=int(port))
            else:
                conn = cups.Connection()
            self._local.conn = conn
        return conn


def _keywords(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)

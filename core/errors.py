"""One table of error codes for the whole runtime.

Every error a technician may have to look up is a subclass of :class:`HallEdgeError` with a
fixed numeric ``code`` and a ``key``. The key names the citizen-facing sentence in
:mod:`core.strings_zh`; the code is what logs, telemetry and the technician screen show.
Facts (device id, port, ticket) travel as attributes, never inside the message string.

Code ranges:

* 100–199 configuration
* 200–299 queue and citizen flows
* 300–399 devices and drivers
* 400–499 journal and telemetry
* 500–599 collector ingestion
"""

from __future__ import annotations

from typing import Any


class HallEdgeError(Exception):
    """Root of every Hall Edge error.

    Attributes:
        code: stable number from the table in ``docs/error-codes.md``.
        key: stable name; also the key of the Chinese sentence shown to citizens.
        details: facts about this occurrence (device id, port, ticket ...).
    """

    code: int = 1
    key: str = "internal_error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.key)
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready dict for telemetry and logs."""
        return {"code": self.code, "key": self.key, "message": str(self), **self.details}


# --- 100 configuration -------------------------------------------------------------------


class ConfigError(HallEdgeError):
    code = 100
    key = "config_invalid"


# --- 200 queue and flows -----------------------------------------------------------------


class QueueError(HallEdgeError):
    code = 200
    key = "queue_error"


class UnknownService(QueueError):
    code = 201
    key = "unknown_service"


class UnknownWindow(QueueError):
    code = 202
    key = "unknown_window"


class WindowNotOpen(QueueError):
    code = 203
    key = "window_not_open"


class NoCurrentTicket(QueueError):
    code = 204
    key = "no_current_ticket"


class TicketInService(QueueError):
    """The window still serves a ticket; finish or skip it before calling the next."""

    code = 205
    key = "ticket_in_service"


# --- 300 devices and drivers -------------------------------------------------------------


class DeviceError(HallEdgeError):
    code = 300
    key = "device_error"


class DeviceNotFound(DeviceError):
    code = 301
    key = "device_not_found"


class DeviceUnplugged(DeviceError):
    code = 302
    key = "device_unplugged"


class DeviceTimeout(DeviceError):
    code = 303
    key = "device_timeout"


class BadResponse(DeviceError):
    code = 304
    key = "bad_response"


class DeviceRejected(DeviceError):
    """The device refused a command (``ERR``), or the host refused to send one it would refuse.

    A host or configuration bug, not a hardware fault.
    """

    code = 305
    key = "device_rejected"


class PaperOut(DeviceError):
    code = 310
    key = "paper_out"


class CoverOpen(DeviceError):
    code = 311
    key = "cover_open"


class PrinterOffline(DeviceError):
    code = 312
    key = "printer_offline"


# --- 400 journal and telemetry -----------------------------------------------------------


class JournalError(HallEdgeError):
    code = 400
    key = "journal_error"


class BrokerUnavailable(JournalError):
    code = 410
    key = "broker_unavailable"


# --- 500 collector -----------------------------------------------------------------------


class IngestError(HallEdgeError):
    code = 500
    key = "ingest_error"


class MalformedMessage(IngestError):
    """A message on a collector topic that is not a valid event batch."""

    code = 501
    key = "malformed_message"


def all_error_types() -> list[type[HallEdgeError]]:
    """Every error class, root first, for the documentation table and its test."""
    found: list[type[HallEdgeError]] = []
    pending: list[type[HallEdgeError]] = [HallEdgeError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)

"""The JSON forms the hall API carries (``docs/hall-api.md``), written and read in one place.

The server writes them, the client reads them back into the flows' own types
(:class:`flows.queue.Ticket`, :class:`flows.queue.IssuedTicket`, :class:`flows.queue.WindowView`,
:class:`core.config.HallConfig`), and an error crosses the wire as its code and key and comes
out as the same :class:`core.errors.HallEdgeError` subclass it went in as: a flow catches a
remote ``TicketInService`` exactly as it catches a local one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, replace
from typing import Any

from core.config import HallConfig, Service, Window
from core.errors import (
    BadRequest,
    DeviceForbidden,
    DeviceNotAuthorized,
    HallBoxBadResponse,
    HallEdgeError,
    IdempotencyKeyReused,
    JournalError,
    QueueError,
    StorageFull,
    UnknownService,
    UnknownWindow,
    all_error_types,
)
from devices.health import Health, HealthState
from flows.queue import IssuedTicket, Ticket, WindowView
from flows.ticket_numbers import NumberRange

#: The API's version, the first segment of every path.
API_PREFIX = "/v1"

_TICKET_FIELDS = tuple(f.name for f in fields(Ticket))


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, Chinese left readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def request_fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """What an ``Idempotency-Key`` is bound to: the method, the path and the body."""
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()


# --- tickets, views, the catalog -----------------------------------------------------------


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return asdict(ticket)


def ticket_from(data: dict[str, Any]) -> Ticket:
    """A ticket from its JSON; unknown fields (a newer hall box) are ignored.

    Raises:
        BadRequest (705): a field is missing.
    """
    try:
        return Ticket(**{name: data[name] for name in _TICKET_FIELDS if name in data})
    except TypeError as err:
        raise BadRequest(f"not a ticket: {err}") from err


def issued_json(issued: IssuedTicket) -> dict[str, Any]:
    return {
        "ticket": ticket_json(issued.ticket),
        "people_ahead": issued.people_ahead,
        "est_wait_s": issued.est_wait_s,
        "est_wait_low_s": issued.est_wait_low_s,
        "est_wait_high_s": issued.est_wait_high_s,
    }


def issued_from(data: dict[str, Any]) -> IssuedTicket:
    # An older hall box sends only the middle; the kiosk then shows a point.
    low, high = data.get("est_wait_low_s"), data.get("est_wait_high_s")
    return IssuedTicket(
        ticket_from(data["ticket"]),
        int(data["people_ahead"]),
        float(data["est_wait_s"]),
        None if low is None else float(low),
        None if high is None else float(high),
    )


def window_view_json(view: WindowView, staff_id: str | None) -> dict[str, Any]:
    return {
        "window_no": view.window_no,
        "is_open": view.is_open,
        "staff_id": staff_id,
        "current": None if view.current is None else ticket_json(view.current),
        "waiting": [ticket_json(t) for t in view.waiting],
        "paused_at": view.paused_at,
        "pause_reason": view.pause_reason,
    }


def window_view_from(data: dict[str, Any]) -> WindowView:
    current = data.get("current")
    return WindowView(
        window_no=int(data["window_no"]),
        is_open=bool(data["is_open"]),
        current=None if current is None else ticket_from(current),
        waiting=tuple(ticket_from(t) for t in data["waiting"]),
        paused_at=None if data.get("paused_at") is None else float(data["paused_at"]),
        pause_reason=data.get("pause_reason"),
    )


def catalog_json(hall: HallConfig) -> dict[str, Any]:
    """The part of the hall configuration a kiosk or PAD takes from the hall box."""
    return {
        "hall_id": hall.hall_id,
        "name": hall.name,
        "config_version": hall.config_version,
        "services": [asdict(s) for s in hall.services],
        "windows": [
            {"no": w.no, "services": list(w.services), "special": w.special} for w in hall.windows
        ],
        "queue": {"appointments_first": hall.appointments_first},
        "calls": {"read_one_as": hall.read_one_as},
    }


def with_catalog(local: HallConfig, data: dict[str, Any]) -> HallConfig:
    """``local`` with the hall box's catalog in force: its hall, name, services and windows.

    What stays local is what belongs to the machine: its device URLs, the kiosk functions it
    offers, the warning thresholds.
    """
    return replace(
        local,
        hall_id=str(data["hall_id"]),
        name=str(data["name"]),
        config_version=str(data["config_version"]),
        services=tuple(
            Service(str(s["code"]), str(s["name"]), str(s["prefix"]), float(s["aht_s"]))
            for s in data["services"]
        ),
        windows=tuple(
            Window(int(w["no"]), tuple(w["services"]), bool(w.get("special", False)))
            for w in data["windows"]
        ),
        appointments_first=bool(
            (data.get("queue") or {}).get("appointments_first", local.appointments_first)
        ),
        read_one_as=str((data.get("calls") or {}).get("read_one_as", local.read_one_as)),
    )


def range_json(block: NumberRange) -> dict[str, Any]:
    return asdict(block)


def range_from(data: dict[str, Any]) -> NumberRange:
    """A reserved block from its JSON.

    Raises:
        HallBoxBadResponse (706): not a block of numbers.
    """
    try:
        block = NumberRange(
            str(data["day"]),
            str(data["service"]),
            str(data["prefix"]),
            int(data["first"]),
            int(data["last"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise HallBoxBadResponse(f"not a number range: {err!r}") from err
    if not 1 <= block.first <= block.last:
        raise HallBoxBadResponse(f"an empty number range {block}")
    return block


def health_json(health: Health) -> dict[str, Any]:
    return health.to_event_data()


def health_from(data: dict[str, Any]) -> Health:
    try:
        return Health(
            str(data["device"]),
            HealthState(data["state"]),
            tuple(str(r) for r in data.get("reasons", ())),
            None if data.get("code") is None else int(data["code"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadRequest(f"not a device health: {err}") from err


# --- errors --------------------------------------------------------------------------------

#: HTTP status per error type; the first base class found in this table wins.
_STATUS: tuple[tuple[type[HallEdgeError], int], ...] = (
    (BadRequest, 400),
    (DeviceNotAuthorized, 401),
    (DeviceForbidden, 403),
    (UnknownService, 404),
    (UnknownWindow, 404),
    (IdempotencyKeyReused, 422),
    (QueueError, 409),
    (StorageFull, 507),
    (JournalError, 503),
)


def http_status(err: HallEdgeError) -> int:
    """The HTTP status an error is answered with (500 for one the table does not name)."""
    for cls, status in _STATUS:
        if isinstance(err, cls):
            return status
    return 500


def is_decided(status: int) -> bool:
    """Whether an answer is final for its ``Idempotency-Key``: a success, or a refusal that the
    queue's state decided (a 404 or 409). A retry of the same key gets the same answer. A full
    disk (507) or a server error is not recorded: a retry may succeed."""
    return status < 300 or status in (404, 409)


def error_json(err: HallEdgeError) -> dict[str, Any]:
    return {
        "error": {
            "code": err.code,
            "key": err.key,
            "message": str(err),
            "details": json.loads(dumps(err.details)),
        }
    }


def error_from(status: int, body: Any) -> HallEdgeError:
    """The error a response carries, as the class its code names.

    An answer without a readable error (a proxy's HTML page, a bare 502) becomes
    :class:`~hallnet.errors.HallBoxBadResponse` (706).
    """
    found = body.get("error") if isinstance(body, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("code"), int):
        return HallBoxBadResponse(f"HTTP {status} without an error body", status=status)
    by_code = {cls.code: cls for cls in all_error_types()}
    cls = by_code.get(found["code"], HallBoxBadResponse)
    details = dict(found["details"]) if isinstance(found.get("details"), dict) else {}
    details.pop("message", None)
    err = cls(str(found.get("message", "")), **details)
    if cls is HallBoxBadResponse and found["code"] != HallBoxBadResponse.code:
        err.details.update(code=found["code"], key=found.get("key"), status=status)
    return err

"""Bookings (预约) on the government platform: free slots, book, cancel, check in on arrival.

The platform enforces its booking rules (places per slot, the per-ID daily limit, suspension
after repeated no-shows: 恶意预约); the kiosk only shows its refusal. Each refusal the kiosk
can explain is raised as its own type (:data:`REFUSALS`), carrying the platform's code in
``details['upstream_code']``; others stay :class:`core.errors.PlatformRefused`.

Every change is a POST with an ``Idempotency-Key`` the caller chose and kept *before* sending,
so :class:`govplatform.http.PlatformHttp` may resend it and a lost answer is settled with
:meth:`BookingsClient.outcome`: the platform answers a repeat with its first result, and a
booking is never made twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.errors import (
    BookingDailyLimit,
    BookingNotActive,
    BookingRefused,
    BookingSuspended,
    CancelTooLate,
    CheckInNotOpen,
    CheckInTooLate,
    PlatformBadResponse,
    PlatformNotFound,
    PlatformRefused,
    SlotFull,
)
from govplatform.http import PlatformHttp

#: A citizen's bookings, by the ID number in the body (never in a URL).
SEARCH = "/bookings/search"

#: The platform's refusal codes the kiosk explains, and the error each becomes.
REFUSALS: dict[str, type[BookingRefused]] = {
    "SLOT_FULL": SlotFull,
    "BOOKING_DAILY_LIMIT": BookingDailyLimit,
    "BOOKING_SUSPENDED": BookingSuspended,
    "BOOKING_NOT_ACTIVE": BookingNotActive,
    "CANCEL_TOO_LATE": CancelTooLate,
    "CHECKIN_NOT_OPEN": CheckInNotOpen,
    "CHECKIN_TOO_LATE": CheckInTooLate,
}


@dataclass(frozen=True)
class Slot:
    """A bookable time slot."""

    slot_id: str
    day: date
    start: str
    end: str
    remaining: int


@dataclass(frozen=True)
class Booking:
    """A booking as the platform describes it (no personal data).

    Attributes:
        status: ``booked``, ``cancelled``, ``checked_in`` or ``no_show``.
    """

    booking_no: str
    hall_id: str
    service: str
    day: date
    start: str
    end: str
    status: str


class BookingsClient:
    """The bookings API over :class:`PlatformHttp`.

    Raises (every method): :class:`core.errors.PlatformError` 801–806 when the platform cannot
    answer; the :data:`REFUSALS` types (811–817) when it refuses on its merits.
    """

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def slots(self, hall_id: str, service: str) -> list[Slot]:
        """The slots from now on, with their remaining places (full ones included)."""
        data = self.http.get("/bookings/slots", {"hall_id": hall_id, "service": service})
        try:
            return [
                Slot(s["slot_id"], date.fromisoformat(s["date"]), s["start"], s["end"], int(s["remaining"]))
                for s in data["slots"]
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"/bookings/slots: {err!r}", path="/bookings/slots") from err

    def book(
        self, request_id: str, hall_id: str, service: str, slot_id: str, id_number: str, name: str
    ) -> Booking:
        """Book a slot; ``request_id`` is the Idempotency-Key, kept until the outcome is known.

        Raises:
            PlatformTimeout (802) / PlatformUnreachable (801): the outcome is unknown; settle
                it with :meth:`outcome` (or send the same request again).
        """
        body = {
            "hall_id": hall_id,
            "service": service,
            "slot_id": slot_id,
            "id_number": id_number,
            "name": name,
        }
        return self._change("/bookings", body, request_id)

    def outcome(self, request_id: str) -> Booking | None:
        """What became of a change sent with this key: the booking, or None when the platform
        never received it (it is then safe to send again with the same key).

        Raises:
            the refusal the platform answered the first time, as its type.
        """
        try:
            return _booking(_typed(lambda: self.http.get(f"/bookings/requests/{request_id}")))
        except PlatformNotFound as err:
            if err.details.get("upstream_code") == "REQUEST_NOT_FOUND":
                return None
            raise

    def of_citizen(self, id_number: str, status: str | None = None) -> list[Booking]:
        """A citizen's bookings, oldest first; ``status`` keeps only those in it."""
        body = {"id_number": id_number} | ({"status": status} if status else {})
        data = self.http.lookup(SEARCH, body)
        try:
            return [_booking(b) for b in data["bookings"]]
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{SEARCH}: {err!r}", path=SEARCH) from err

    def cancel(self, request_id: str, booking_no: str, id_number: str) -> Booking:
        """Cancel one's own booking (取消预约)."""
        return self._change(f"/bookings/{booking_no}/cancel", {"id_number": id_number}, request_id)

    def check_in(self, request_id: str, booking_no: str, id_number: str) -> Booking:
        """Check in on arrival (到场签到): the booking becomes ``checked_in``."""
        return self._change(
            f"/bookings/{booking_no}/check-in", {"id_number": id_number}, request_id
        )

    def _change(self, path: str, body: dict[str, Any], key: str) -> Booking:
        return _booking(_typed(lambda: self.http.post(path, body, idempotency_key=key)))


def _typed(call: Any) -> Any:
    """Run a platform call, raising a refusal the kiosk explains as its own type."""
    try:
        return call()
    except PlatformRefused as err:
        kind = REFUSALS.get(str(err.details.get("upstream_code")))
        if kind is None:
            raise
        raise kind(str(err), **err.details) from err


def _booking(data: Any) -> Booking:
    try:
        return Booking(
            booking_no=str(data["booking_no"]),
            hall_id=str(data["hall_id"]),
            service=str(data["service"]),
            day=date.fromisoformat(data["date"]),
            start=str(data["start"]),
            end=str(data["end"]),
            status=str(data["status"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PlatformBadResponse(f"booking answer: {err!r}") from err

"""The simulated platform's bookings (预约): slots per hall, service and day, booking,
cancelling, check-in on arrival, and the platform's own rules on who may book.

The rules live here, on the platform, not on the kiosk: a citizen books on the kiosk, on the
province's app and at a window, so only the platform sees every booking of an ID number. Seed
002 (Changshu plan, 统一预约服务) asks the platform for 预约规则管理 and for handling 恶意预约;
the kiosk only shows the refusal the platform answers with (``docs/appointments.md``).

* **Slots.** Working days (Monday to Friday), :data:`SLOT_TIMES`, ``capacity`` places each,
  bookable from now until ``days_ahead`` days on. A slot's id is ``<date>T<HHMM>``.
* **Per-ID daily limit.** At most ``daily_limit`` active bookings per ID number for one day
  of appointments (cancelled ones free their place).
* **No-shows.** A booking not checked in by the end of its slot becomes ``no_show``. An ID
  number with ``no_show_limit`` no-shows among slots of the last ``no_show_window_days`` days
  is suspended (恶意预约): ``BOOKING_SUSPENDED`` until the oldest of them leaves the window.
* **Check-in** opens ``checkin_open_min`` minutes before the slot and closes at its end.
* **Idempotency.** Every change (booking, cancelling, checking in) needs an
  ``Idempotency-Key``: a repeat answers the first result, the same key with another body is
  ``IDEMPOTENCY_KEY_REUSED`` (422), and ``GET /bookings/requests/{key}`` tells a kiosk whose
  answer was lost what became of it.
* **A citizen's bookings** are looked up by ``POST /bookings/search`` with
  ``{"id_number", "status"}`` in the body, so that no URL carries the ID number; it changes
  nothing and needs no key.

The rules are set in process (``desk.rules = replace(desk.rules, daily_limit=1)``) or over HTTP
(``POST /_sim/bookings/rules``, never faulted). The platform's time is the
:class:`core.clock.Clock` it is built with (tests hand it the hall's simulated clock).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from core.clock import HALL_TZ, Clock, SystemClock
from protocols.id_card import check_digit
from upstream_sim.people import People
from upstream_sim.server import Request, Response, Route, lookup_body, ok, refused

#: Slot start and end times of a working day (hall time).
SLOT_TIMES = (
    ("09:00", "10:00"),
    ("10:00", "11:00"),
    ("11:00", "12:00"),
    ("14:00", "15:00"),
    ("15:00", "16:00"),
    ("16:00", "17:00"),
)
#: Halls and the services each lets citizens book, as the platform's catalog has them. The
#: demo hall's services are those of ``config/hall-demo.toml``.
HALLS: dict[str, tuple[str, ...]] = {"hall-demo": ("social", "household", "business")}


@dataclass(frozen=True)
class BookingRules:
    """The platform's booking rules (预约规则).

    Attributes:
        capacity: places per slot.
        days_ahead: how many days ahead (today included) slots are offered.
        daily_limit: active bookings one ID number may hold for one day.
        no_show_limit: no-shows within the window that suspend an ID number (恶意预约).
        no_show_window_days: how far back no-shows count.
        checkin_open_min: minutes before its slot that a booking may check in.
    """

    capacity: int = 3
    days_ahead: int = 7
    daily_limit: int = 2
    no_show_limit: int = 3
    no_show_window_days: int = 30
    checkin_open_min: int = 60


@dataclass
class Booking:
    booking_no: str
    hall_id: str
    service: str
    day: date
    start: str
    end: str
    id_number: str
    name: str
    status: str = "booked"  # booked, cancelled, checked_in, no_show
    booked_at: float = 0.0
    changed_at: float | None = None

    def public(self) -> dict[str, Any]:
        """What the API answers: never the ID number or the name in full."""
        return {
            "booking_no": self.booking_no,
            "hall_id": self.hall_id,
            "service": self.service,
            "date": self.day.isoformat(),
            "start": self.start,
            "end": self.end,
            "status": self.status,
        }


@dataclass
class _Answered:
    fingerprint: str
    response: Response


class BookingDesk:
    """The platform's booking state and rules, served as :meth:`routes`.

    Args:
        people: the shared simulated citizens (a booking needs a well-formed ID number, not a
            known person: the real platform checks identity with 公安, which the simulator
            does not have).
        clock: the platform's time; tests hand the hall's :class:`core.clock.SimClock`.
        rules: see :class:`BookingRules`.
        halls: bookable services per hall.

    Attributes:
        bookings: every booking made, by number (tests read them).
    """

    def __init__(
        self,
        people: People,
        clock: Clock | None = None,
        rules: BookingRules | None = None,
        halls: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.people = people
        self.clock = clock or SystemClock()
        self.rules = rules or BookingRules()
        self.halls = dict(halls or HALLS)
        self.bookings: dict[str, Booking] = {}
        self._answered: dict[str, _Answered] = {}
        # Handlers run on the server's threads; one at a time, as one database would.
        self._lock = threading.Lock()
        self._seq = 0

    # --- time -------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), HALL_TZ)

    def _at(self, day: date, hhmm: str) -> datetime:
        return datetime.combine(day, time.fromisoformat(hhmm), HALL_TZ)

    # --- state ------------------------------------------------------------------------

    def _settle_no_shows(self) -> None:
        """A booking still ``booked`` after its slot ended was missed."""
        now = self.now()
        for b in self.bookings.values():
            if b.status == "booked" and self._at(b.day, b.end) <= now:
                b.status, b.changed_at = "no_show", self.clock.now()

    def suspended_until(self, id_number: str) -> date | None:
        """The first day the ID number may book again, when it is suspended (恶意预约)."""
        today = self.now().date()
        since = today - timedelta(days=self.rules.no_show_window_days)
        missed = sorted(
            b.day
            for b in self.bookings.values()
            if b.id_number == id_number and b.status == "no_show" and b.day > since
        )
        if len(missed) < self.rules.no_show_limit:
            return None
        # Suspended until enough of them leave the window to fall under the limit.
        oldest_counted = missed[len(missed) - self.rules.no_show_limit]
        return oldest_counted + timedelta(days=self.rules.no_show_window_days)

    def _slots(self, hall_id: str, service: str) -> list[dict[str, Any]]:
        now = self.now()
        out: list[dict[str, Any]] = []
        for offset in range(self.rules.days_ahead):
            day = now.date() + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for start, end in SLOT_TIMES:
                if self._at(day, start) <= now:
                    continue
                taken = sum(
                    1
                    for b in self.bookings.values()
                    if (b.hall_id, b.service, b.day, b.start) == (hall_id, service, day, start)
                    and b.status in ("booked", "checked_in")
                )
                out.append(
                    {
                        "slot_id": f"{day.isoformat()}T{start.replace(':', '')}",
                        "date": day.isoformat(),
                        "start": start,
                        "end": end,
                        "capacity": self.rules.capacity,
                        "remaining": max(0, self.rules.capacity - taken),
                    }
                )
        return out

    # --- handlers ---------------------------------------------------------------------

    def list_slots(self, request: Request) -> Response:
        hall_id, service = request.query.get("hall_id", ""), request.query.get("service", "")
        if service not in self.halls.get(hall_id, ()):
            return refused(404, "SERVICE_NOT_BOOKABLE", "该事项不支持预约")
        with self._lock:
            self._settle_no_shows()
            return ok({"hall_id": hall_id, "service": service, "slots": self._slots(hall_id, service)})

    def book(self, request: Request) -> Response:
        return self._idempotent(request, self._book)

    def _book(self, request: Request) -> Response:
        self._settle_no_shows()
        body = request.body if isinstance(request.body, dict) else {}
        hall_id, service = str(body.get("hall_id", "")), str(body.get("service", ""))
        id_number = str(body.get("id_number", "")).strip().upper()
        if not _valid_id_number(id_number):
            return refused(400, "INVALID_ID_NUMBER", "证件号码无效")
        if service not in self.halls.get(hall_id, ()):
            return refused(404, "SERVICE_NOT_BOOKABLE", "该事项不支持预约")
        slot = next(
            (s for s in self._slots(hall_id, service) if s["slot_id"] == body.get("slot_id")), None
        )
        if slot is None:
            return refused(404, "SLOT_NOT_FOUND", "预约时段不存在或已过")
        until = self.suspended_until(id_number)
        if until is not None:
            return refused(403, "BOOKING_SUSPENDED", f"多次预约未到，暂停预约至{until.isoformat()}")
        day = date.fromisoformat(slot["date"])
        held = sum(
            1
            for b in self.bookings.values()
            if b.id_number == id_number and b.day == day and b.status in ("booked", "checked_in")
        )
        if held >= self.rules.daily_limit:
            return refused(409, "BOOKING_DAILY_LIMIT", "当日预约次数已达上限")
        if slot["remaining"] <= 0:
            return refused(409, "SLOT_FULL", "该时段已约满")
        self._seq += 1
        booking = Booking(
            booking_no=f"YY{day:%Y%m%d}{self._seq:05d}",
            hall_id=hall_id,
            service=service,
            day=day,
            start=slot["start"],
            end=slot["end"],
            id_number=id_number,
            name=str(body.get("name", "")),
            booked_at=self.clock.now(),
        )
        self.bookings[booking.booking_no] = booking
        return Response(201, {"code": "0", "message": "预约成功", "data": booking.public()})

    def by_request(self, request: Request) -> Response:
        with self._lock:
            answered = self._answered.get(request.params["key"])
        if answered is None:
            return refused(404, "REQUEST_NOT_FOUND", "未收到该请求")
        return answered.response

    def of_citizen(self, request: Request) -> Response:
        fields = request.fields()
        id_number = fields.get("id_number", "").strip().upper()
        if not _valid_id_number(id_number):
            return refused(400, "INVALID_ID_NUMBER", "证件号码无效")
        status = fields.get("status") or None
        with self._lock:
            self._settle_no_shows()
            found = [
                b.public()
                for b in sorted(self.bookings.values(), key=lambda b: (b.day, b.start))
                if b.id_number == id_number and (status is None or b.status == status)
            ]
        return ok({"bookings": found})

    def cancel(self, request: Request) -> Response:
        return self._idempotent(request, self._cancel)

    def _cancel(self, request: Request) -> Response:
        booking = self._own_booking(request)
        if isinstance(booking, Response):
            return booking
        if booking.status != "booked":
            return refused(409, "BOOKING_NOT_ACTIVE", "该预约已取消、已签到或已过期")
        if self._at(booking.day, booking.start) <= self.now():
            return refused(409, "CANCEL_TOO_LATE", "预约时段已开始，无法取消")
        booking.status, booking.changed_at = "cancelled", self.clock.now()
        return ok(booking.public())

    def check_in(self, request: Request) -> Response:
        return self._idempotent(request, self._check_in)

    def _check_in(self, request: Request) -> Response:
        booking = self._own_booking(request)
        if isinstance(booking, Response):
            return booking
        now = self.now()
        if booking.status == "no_show" or (
            booking.status == "booked" and self._at(booking.day, booking.end) <= now
        ):
            return refused(409, "CHECKIN_TOO_LATE", "预约时段已过")
        if booking.status != "booked":
            return refused(409, "BOOKING_NOT_ACTIVE", "该预约已取消、已签到或已过期")
        opens = self._at(booking.day, booking.start) - timedelta(
            minutes=self.rules.checkin_open_min
        )
        if now < opens:
            return refused(409, "CHECKIN_NOT_OPEN", f"签到时间为{opens:%Y-%m-%d %H:%M}起")
        booking.status, booking.changed_at = "checked_in", self.clock.now()
        return ok(booking.public() | {"checked_in_at": self.clock.now()})

    def set_rules(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        known = {f.name for f in fields(BookingRules)}
        unknown = set(body) - known
        if unknown or not all(isinstance(v, int) and v >= 0 for v in body.values()):
            return refused(400, "BAD_REQUEST", f"规则只接受非负整数: {sorted(known)}")
        with self._lock:
            self.rules = replace(self.rules, **body)
        return ok(asdict(self.rules))

    # --- internals --------------------------------------------------------------------

    def _own_booking(self, request: Request) -> Booking | Response:
        """The booking the path names, if the body's ID number holds it: a citizen cancels
        or checks in only their own."""
        self._settle_no_shows()
        body = request.body if isinstance(request.body, dict) else {}
        id_number = str(body.get("id_number", "")).strip().upper()
        booking = self.bookings.get(request.params["booking_no"])
        if booking is None or booking.id_number != id_number:
            return refused(404, "BOOKING_NOT_FOUND", "未找到该预约")
        return booking

    def _idempotent(self, request: Request, handler: Any) -> Response:
        # The same rules as upstream_sim.idempotent.IdempotentReplies, kept here because
        # GET /bookings/requests/{key} must look an answer up by its key across endpoints.
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > 128:
            return refused(400, "IDEMPOTENCY_KEY_REQUIRED", "缺少 Idempotency-Key")
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path} ".encode()
            + json.dumps(request.body, sort_keys=True).encode()
        ).hexdigest()
        with self._lock:
            answered = self._answered.get(key)
            if answered is not None:
                if answered.fingerprint != fingerprint:
                    return refused(422, "IDEMPOTENCY_KEY_REUSED", "请求编号已用于其他请求")
                return answered.response
            response = handler(request)
            # Refusals are remembered too: the repeat of a refused request is refused alike.
            if response.status < 500:
                self._answered[key] = _Answered(fingerprint, response)
            return response

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/bookings/slots", self.list_slots, _OPENAPI["slots"]),
            Route("POST", "/bookings", self.book, _OPENAPI["book"]),
            Route("POST", "/bookings/search", self.of_citizen, _OPENAPI["list"]),
            Route("GET", "/bookings/requests/{key}", self.by_request, _OPENAPI["request"]),
            Route("POST", "/bookings/{booking_no}/cancel", self.cancel, _OPENAPI["cancel"]),
            Route("POST", "/bookings/{booking_no}/check-in", self.check_in, _OPENAPI["check_in"]),
            Route("POST", "/_sim/bookings/rules", self.set_rules, _OPENAPI["rules"]),
        ]


def routes(people: People) -> list[Route]:
    """The bookings domain of the simulated platform, on the real clock."""
    return BookingDesk(people).routes()


def _valid_id_number(number: str) -> bool:
    """18 characters with a valid check character, or an old foreigner card's 15 (three
    letters, twelve digits)."""
    if len(number) == 15:
        return number[:3].isalpha() and number[3:].isdigit()
    return (
        len(number) == 18 and number[:17].isdigit() and check_digit(number[:17]) == number[17]
    )


_REFUSALS = {
    "400": {"description": "INVALID_ID_NUMBER, IDEMPOTENCY_KEY_REQUIRED"},
    "403": {"description": "BOOKING_SUSPENDED (恶意预约)"},
    "404": {"description": "SERVICE_NOT_BOOKABLE, SLOT_NOT_FOUND, BOOKING_NOT_FOUND"},
    "409": {
        "description": "SLOT_FULL, BOOKING_DAILY_LIMIT, BOOKING_NOT_ACTIVE, CANCEL_TOO_LATE, "
        "CHECKIN_NOT_OPEN, CHECKIN_TOO_LATE"
    },
    "422": {"description": "IDEMPOTENCY_KEY_REUSED"},
}
_KEY = {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}
_BOOKING_NO = {"name": "booking_no", "in": "path", "required": True, "schema": {"type": "string"}}
_ID_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id_number"],
                "properties": {"id_number": {"type": "string"}},
            }
        }
    }
}
_OPENAPI: dict[str, dict[str, Any]] = {
    "slots": {
        "summary": "Bookable slots of a hall's service, from now for days_ahead days",
        "parameters": [
            {"name": "hall_id", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "service", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {"200": {"description": "slots with remaining places"}, **_REFUSALS},
    },
    "book": {
        "summary": "Book a slot (预约)",
        "parameters": [_KEY],
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["hall_id", "service", "slot_id", "id_number"],
                        "properties": {
                            k: {"type": "string"}
                            for k in ("hall_id", "service", "slot_id", "id_number", "name")
                        },
                    }
                }
            }
        },
        "responses": {"201": {"description": "the booking"}, **_REFUSALS},
    },
    "list": {
        "summary": "A citizen's bookings (the ID number in the body, never in the URL)",
        "requestBody": lookup_body(["id_number"], ["status"]),
        "responses": {"200": {"description": "bookings, oldest first"}, **_REFUSALS},
    },
    "request": {
        "summary": "What became of a POST, by its Idempotency-Key (a lost answer settled)",
        "parameters": [
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {"description": "the first answer, replayed"},
            "404": {"description": "REQUEST_NOT_FOUND: never received"},
        },
    },
    "cancel": {
        "summary": "Cancel one's own booking (取消预约)",
        "parameters": [_KEY, _BOOKING_NO],
        "requestBody": _ID_BODY,
        "responses": {"200": {"description": "the cancelled booking"}, **_REFUSALS},
    },
    "check_in": {
        "summary": "Check in on arrival (到场签到)",
        "parameters": [_KEY, _BOOKING_NO],
        "requestBody": _ID_BODY,
        "responses": {"200": {"description": "the checked-in booking"}, **_REFUSALS},
    },
    "rules": {
        "summary": "Simulator only: change the booking rules",
        "responses": {"200": {"description": "the rules in force"}},
    },
}
